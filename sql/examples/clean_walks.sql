-- Clean walks: sequences labelled walking (any label source) that raised no quality flag of concern,
-- stand upright in their source frame or were stood upright, keep a foot on the floor on almost every
-- frame and barely skate. One row per sequence, cleanest first.
--
-- Views: sequences, labels (amass_arrow.query.sql.connect; `amass-arrow labels import filename STORE` labels
-- walks from file names). Metric columns: see README "Quality metrics" (units m, m/s, m/s^3, fractions).
-- Parameters: none.
-- Yields: (seq_id, dataset, duration, foot_skating, contact_coverage, jitter, source_frame).

WITH walks AS (
    SELECT DISTINCT seq_id
    FROM labels
    WHERE (proc_label = 'walk' OR list_contains(act_cat, 'walk') OR regexp_matches(lower(text), '\bwalk'))
      AND NOT list_contains(flags, 'mirrored')
)
SELECT s.seq_id, s.dataset, s.duration, s.foot_skating, s.contact_coverage, s.jitter, s.source_frame
FROM sequences AS s
JOIN walks USING (seq_id)
WHERE NOT list_has_any(s.quality_flags, ['foot_skating', 'floor_penetration', 'joint_speed_spike', 'jitter',
                                         'low_contact_coverage', 'airborne', 'lying_down'])
  AND s.contact_coverage >= 0.95
  AND s.airborne_fraction = 0
  AND s.foot_skating < 0.3
ORDER BY s.foot_skating, s.seq_id
