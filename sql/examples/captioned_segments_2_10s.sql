-- Every captioned segment lasting between 2 and 10 seconds (HumanML3D's clip lengths), with the
-- sequence facts an exporter needs. Mirrored captions (flag 'mirrored') describe the left/right
-- mirror of the stored motion and are left out.
--
-- Views: labels, sequences. Parameters: none.
-- Yields: (seq_id, start_t, end_t, seconds, text, source, source_ref, dataset, store_fps).

SELECT l.seq_id, l.start_t, l.end_t, l.end_t - l.start_t AS seconds, l.text, l.source, l.source_ref,
       s.dataset, s.store_fps
FROM labels AS l
JOIN sequences AS s USING (seq_id)
WHERE l.text IS NOT NULL
  AND l.end_t - l.start_t BETWEEN 2.0 AND 10.0
  AND NOT list_contains(l.flags, 'mirrored')
ORDER BY l.seq_id, l.start_t, l.end_t, l.text
