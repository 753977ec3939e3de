-- Drop every row whose sequence carries a quality flag that marks a doubtful take.
--
-- Reads `split_rows` (seq_id, split, start_t, end_t, weight). A sequence's `quality_flags` (each flag
-- once) come from the build: metric flags with thresholds in info.json -> quality.thresholds
-- (foot_skating, floor_penetration, joint_speed_spike, jitter, low_contact_coverage, airborne), the
-- orientation check (lying_down) and the reader (dmpls_all_zero, betas_truncated, neutral_model_fallback:*).
-- Parameters (DuckDB variable, set from `params:`):
--   getvariable('drop_flags')   VARCHAR[] of flags that drop a take; default: the metric flags and lying_down
--                               (reader flags are informational and kept)
-- Yields: (seq_id, split, start_t, end_t, weight).

SELECT r.seq_id, r.split, r.start_t, r.end_t, r.weight
FROM split_rows AS r
JOIN sequences AS s USING (seq_id)
WHERE NOT list_has_any(
    s.quality_flags,
    coalesce(getvariable('drop_flags')::VARCHAR[],
             ['foot_skating', 'floor_penetration', 'joint_speed_spike', 'jitter',
              'low_contact_coverage', 'airborne', 'lying_down']::VARCHAR[]))
