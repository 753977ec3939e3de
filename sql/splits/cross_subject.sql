-- Cross-subject split: every sequence of a subject lands in the same split, so no performer is
-- seen in training and evaluation.
--
-- The key is md5('<seed>:<canonical_dataset>/<subject>'), so the same subject under its SMPL+H and
-- SMPL-X folder names (e.g. MPI_HDM05/bk and HDM05/bk) gets the same split. u = first 32 bits / 2^32.
--
-- Parameters (DuckDB variables set by amass-arrow from `params:`; unset -> default):
--   getvariable('seed')           default 0
--   getvariable('val_fraction')   default 0.1   (fraction of subjects, not of frames)
--   getvariable('test_fraction')  default 0.1
-- Yields: (seq_id, split).

WITH subjects AS (
    SELECT DISTINCT
        canonical_dataset,
        subject,
        ('0x' || left(md5(coalesce(getvariable('seed'), 0)::VARCHAR || ':'
                          || canonical_dataset || '/' || subject), 8))::UBIGINT / 4294967296.0 AS u
    FROM sequences
)
SELECT
    s.seq_id,
    CASE
        WHEN k.u < coalesce(getvariable('val_fraction'), 0.1)::DOUBLE THEN 'validation'
        WHEN k.u < coalesce(getvariable('val_fraction'), 0.1)::DOUBLE
                 + coalesce(getvariable('test_fraction'), 0.1)::DOUBLE THEN 'test'
        ELSE 'train'
    END AS split
FROM sequences AS s
JOIN subjects AS k USING (canonical_dataset, subject)
ORDER BY s.seq_id
