-- Every frame inside a walking segment, at a 30 fps store, with its foot contacts and the
-- segment's caption (HumanML3D) or label (BABEL / file name).
--
-- A segment is walking when its proc_label or act_cat says 'walk' (BABEL, file-name rules) or its
-- caption mentions walking (HumanML3D). Segments are half-open: start_t <= t < end_t; the 1e-4 s
-- slack absorbs float32 `t`. Mirrored HumanML3D captions describe the mirrored motion: skipped.
-- A frame covered by several segments appears once per segment (group by seq_id, frame to dedupe).
--
-- Views: frames, sequences, labels (amass_arrow.query.sql.connect). Parameters: none.
-- Yields: (seq_id, frame, t, left_foot_contact, right_foot_contact, source, label, text).

WITH walking AS (
    SELECT seq_id, start_t, end_t, source, coalesce(proc_label, raw_label) AS label, text
    FROM labels
    WHERE (proc_label = 'walk' OR list_contains(act_cat, 'walk') OR regexp_matches(lower(text), '\bwalk'))
      AND NOT list_contains(flags, 'mirrored')
)
SELECT f.seq_id, f.frame, f.t, f.left_foot_contact, f.right_foot_contact, w.source, w.label, w.text
FROM walking AS w
JOIN sequences AS s ON s.seq_id = w.seq_id AND s.store_fps = 30
JOIN frames AS f ON f.seq_id = w.seq_id AND f.t >= w.start_t - 1e-4 AND f.t < w.end_t - 1e-4
ORDER BY f.seq_id, w.source, w.start_t, f.frame
