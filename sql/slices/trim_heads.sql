-- Drop the calibration / T-pose head at the start of sequences, per dataset.
--
-- Reads `split_rows` (seq_id, split, start_t, end_t, weight) — the rows of the split or slice
-- before this one; start_t/end_t in seconds, end_t NULL = to the end of the sequence
-- (sequences.duration = num_frames / store_fps seconds).
-- Head lengths are HumanML3D's (seconds, keyed by canonical dataset name, so SMPL-X folders match):
--   Eyes_Japan_Dataset 3, MPI_HDM05 3, TotalCapture 1, MPI_Limits 1, Transitions_mocap 0.5.
-- A row whose range ends inside the head is dropped.
-- Parameters: none.  Yields: (seq_id, split, start_t, end_t, weight).

WITH heads(canonical_dataset, head_seconds) AS (
    VALUES
        ('Eyes_Japan_Dataset', 3.0),
        ('MPI_HDM05',          3.0),
        ('TotalCapture',       1.0),
        ('MPI_Limits',         1.0),
        ('Transitions_mocap',  0.5)
)
SELECT
    r.seq_id,
    r.split,
    greatest(r.start_t, coalesce(h.head_seconds, 0.0)) AS start_t,
    r.end_t,
    r.weight
FROM split_rows AS r
JOIN sequences AS s USING (seq_id)
LEFT JOIN heads AS h ON h.canonical_dataset = s.canonical_dataset
WHERE greatest(r.start_t, coalesce(h.head_seconds, 0.0)) < coalesce(r.end_t, s.duration)
