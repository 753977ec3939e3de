-- A split that keeps BABEL's own train/val assignment: each sequence with BABEL labels gets the
-- split of the BABEL file that lists it (extra_train.json counts as train, extra_val.json as val).
-- BABEL's test.json withholds labels, so its sequences never reach the labels table; a sequence
-- listed under both train and val (should not happen) goes to val, so nothing held out leaks.
-- Sequences without BABEL labels are not listed; LEFT JOIN sequences to place them yourself.
--
-- Views: labels. Parameters: none.
-- Yields: (seq_id, split) with split in train | val; one row per sequence.

SELECT seq_id, max(regexp_replace(source_split, '^extra_', '')) AS split
FROM labels
WHERE source = 'babel' AND regexp_replace(source_split, '^extra_', '') IN ('train', 'val')
GROUP BY seq_id
ORDER BY seq_id
