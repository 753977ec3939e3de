-- Keep only rows at least `min_seconds` long (after earlier slices such as trim_heads).
--
-- Reads `split_rows` (seq_id, split, start_t, end_t, weight); end_t NULL = to the end of the
-- sequence, whose length is sequences.duration = num_frames / store_fps seconds (frame k covers
-- [k/fps, (k+1)/fps); the one duration convention, amass_arrow.schema.duration_seconds).
-- Parameters (DuckDB variable, set from `params:`):
--   getvariable('min_seconds')    default 1.0
-- Yields: (seq_id, split, start_t, end_t, weight).

SELECT r.seq_id, r.split, r.start_t, r.end_t, r.weight
FROM split_rows AS r
JOIN sequences AS s USING (seq_id)
WHERE coalesce(r.end_t, s.duration) - r.start_t
      >= coalesce(getvariable('min_seconds'), 1.0)::DOUBLE
