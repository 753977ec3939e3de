-- Cut every row into fixed-length windows: [start_t + k*stride, start_t + k*stride + window) seconds,
-- keeping only windows that fit entirely inside the row. Half-open, so a 2 s window at 30 fps holds
-- exactly 60 frames.
--
-- Reads `split_rows` (seq_id, split, start_t, end_t, weight); end_t NULL = to the end of the
-- sequence (sequences.duration = num_frames / store_fps seconds).
-- Parameters (DuckDB variables, set from `params:`):
--   getvariable('window_seconds')  default 2.0
--   getvariable('stride_seconds')  default 1.0
-- Yields: (seq_id, split, start_t, end_t, weight), one row per window.

WITH p AS (
    SELECT coalesce(getvariable('window_seconds'), 2.0)::DOUBLE AS win,
           coalesce(getvariable('stride_seconds'), 1.0)::DOUBLE AS stride
),
r AS (
    SELECT r.*, coalesce(r.end_t, s.duration) AS stop
    FROM split_rows AS r JOIN sequences AS s USING (seq_id)
),
w AS (
    SELECT r.seq_id, r.split, r.weight,
           r.start_t + k * p.stride AS start_t, p.win
    FROM r, p,
         unnest(range(0, greatest(0, floor((r.stop - r.start_t - p.win) / p.stride + 1e-9)::BIGINT + 1))) AS t(k)
)
SELECT seq_id, split, start_t, start_t + win AS end_t, weight
FROM w
ORDER BY seq_id, start_t
