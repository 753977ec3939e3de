-- Random split by sequence, reproducible across DuckDB versions and machines.
--
-- Each sequence gets u = first 32 bits of md5('<seed>:<take>') / 2^32, uniform in [0, 1)
-- (md5 is fixed forever; DuckDB's hash() is not a stable split key and must not be used).
-- `take` is canonical_dataset/subject/name (the seq_id for SMPL+H folder names), so a motion present
-- as both MPI_HDM05/.../x_poses.npz and HDM05/.../x_stageii.npz gets one split, never two:
--   u <  val_fraction                       -> validation
--   u <  val_fraction + test_fraction       -> test
--   otherwise                               -> train
--
-- Parameters (DuckDB variables; amass-arrow sets them with SET VARIABLE before running this file,
-- from `params:` in configs/splits.yaml; unset -> the default shown):
--   getvariable('seed')           default 0
--   getvariable('val_fraction')   default 0.1
--   getvariable('test_fraction')  default 0.1
-- Yields: (seq_id, split).

WITH u AS (
    SELECT
        seq_id,
        ('0x' || left(md5(coalesce(getvariable('seed'), 0)::VARCHAR || ':' || take), 8))::UBIGINT
            / 4294967296.0 AS u
    FROM sequences
)
SELECT
    seq_id,
    CASE
        WHEN u < coalesce(getvariable('val_fraction'), 0.1)::DOUBLE THEN 'validation'
        WHEN u < coalesce(getvariable('val_fraction'), 0.1)::DOUBLE
               + coalesce(getvariable('test_fraction'), 0.1)::DOUBLE THEN 'test'
        ELSE 'train'
    END AS split
FROM u
ORDER BY seq_id
