-- Text-to-motion clips: every captioned segment (HumanML3D captions, BABEL has none) of 2-10 s,
-- one row per caption, placed in the split of its sequence under the AMASS/VPoser dataset split
-- (so a clip never lands in a different split than the rest of its sequence).
-- Mirrored captions (flag 'mirrored') describe the left/right mirror of the stored motion: left out.
--
-- Views: labels (import them first: amass-arrow labels import humanml3d ...), sequences.
-- Parameters (DuckDB variables): getvariable('min_seconds') default 2.0, getvariable('max_seconds') default 10.0.
-- Yields: (seq_id, split, start_t, end_t, text, label).

WITH official AS (
    SELECT seq_id,
        CASE
            WHEN canonical_dataset IN ('HumanEva', 'MPI_HDM05', 'SFU', 'MPI_mosh') THEN 'validation'
            WHEN canonical_dataset IN ('Transitions_mocap', 'SSM_synced') THEN 'test'
            ELSE 'train'
        END AS split
    FROM sequences
)
SELECT l.seq_id, o.split, l.start_t, l.end_t, l.text, l.proc_label AS label
FROM labels AS l
JOIN official AS o USING (seq_id)
WHERE l.text IS NOT NULL
  AND l.end_t - l.start_t BETWEEN coalesce(getvariable('min_seconds'), 2.0)::DOUBLE
                              AND coalesce(getvariable('max_seconds'), 10.0)::DOUBLE
  AND NOT list_contains(l.flags, 'mirrored')
ORDER BY l.seq_id, l.start_t, l.end_t, l.text
