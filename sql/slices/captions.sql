-- Captioned clips: replaces each split row by one row per caption lying inside it, so a
-- text-to-motion export inherits the split of the definition it is composed on, e.g.
--   definitions: [{name: captions, sql: sql/splits/amass_official.sql, slices: [sql/slices/captions.sql]}]
-- Captions come from the `labels` view (import them first: amass-arrow labels import humanml3d ...);
-- mirrored captions (flag 'mirrored') describe the left/right mirror of the stored motion: left out.
--
-- Reads: split_rows (seq_id, split, start_t, end_t, weight), labels.
-- Parameters (DuckDB variables): getvariable('min_seconds') default 2.0, getvariable('max_seconds') default 10.0.
-- Yields: (seq_id, split, start_t, end_t, weight, text, label).

SELECT r.seq_id, r.split, l.start_t, l.end_t, r.weight, l.text, l.proc_label AS label
FROM split_rows AS r
JOIN labels AS l
  ON l.seq_id = r.seq_id
 AND l.start_t >= r.start_t
 AND (r.end_t IS NULL OR l.end_t <= r.end_t)
WHERE l.text IS NOT NULL
  AND l.end_t - l.start_t BETWEEN coalesce(getvariable('min_seconds'), 2.0)::DOUBLE
                              AND coalesce(getvariable('max_seconds'), 10.0)::DOUBLE
  AND NOT list_contains(l.flags, 'mirrored')
ORDER BY r.seq_id, l.start_t, l.end_t, l.text
