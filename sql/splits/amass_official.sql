-- AMASS official split (AMASS paper / VPoser):
--   validation = HumanEva, MPI_HDM05, SFU, MPI_mosh
--   test       = Transitions_mocap, SSM_synced
--   train      = every other dataset (including DFaust_67, DanceDB, BMLmovi, BMLhandball and the
--                SMPL-X-only CNRS, GRAB, SOMA, WEIZMANN, which upstream's list forgets)
--
-- Matches on sequences.canonical_dataset (the SMPL+H-era folder name), so SMPL-X downloads map
-- too: HDM05 -> MPI_HDM05, MoSh -> MPI_mosh, Transitions -> Transitions_mocap, SSM -> SSM_synced.
--
-- Parameters: none.
-- Yields: (seq_id, split) with split in train | validation | test; one row per sequence.

SELECT
    seq_id,
    CASE
        WHEN canonical_dataset IN ('HumanEva', 'MPI_HDM05', 'SFU', 'MPI_mosh') THEN 'validation'
        WHEN canonical_dataset IN ('Transitions_mocap', 'SSM_synced') THEN 'test'
        ELSE 'train'
    END AS split
FROM sequences
ORDER BY seq_id
