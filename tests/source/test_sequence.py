"""Sequence.joint_pose gathers the same axis-angles as full_pose, for every surface model and missing blocks."""

from __future__ import annotations

import numpy as np
import pytest

from amass_arrow import schema
from amass_arrow.source.sequence import Sequence


@pytest.mark.parametrize("model", ["smpl", "smplh", "smplx"])
@pytest.mark.parametrize("drop", [None, "pose_hand", "pose_jaw"])
def test_joint_pose_equals_full_pose_columns(model, drop):
    rng = np.random.default_rng(0)
    T = 7
    blocks = {"root_orient": 3, "pose_body": 63}
    blocks.update({"smpl": {"pose_smpl_hands": 6}, "smplh": {"pose_hand": 90},
                   "smplx": {"pose_jaw": 3, "pose_eye": 6, "pose_hand": 90}}[model])
    arrays = {k: rng.normal(size=(T, w)).astype(np.float32) for k, w in blocks.items() if k != drop}
    seq = Sequence(seq_id="D/s/x", dataset="D", subject="s", name="x", source_path="D/s/x_poses.npz", surface_model=model,
                   gender="male", betas=np.zeros(10, np.float32), fps=30.0, fps_key="mocap_framerate",
                   trans=np.zeros((T, 3), np.float32), **arrays)
    J = len(schema.SKELETONS[model][1])
    joints = [0, 7, J - 1, 3, 22 if J > 22 else 1, 15]
    full = seq.full_pose(slice(2, 6))
    got = seq.joint_pose(joints, slice(2, 6))
    assert got.dtype == full.dtype and got.shape == (4, len(joints), 3)
    np.testing.assert_array_equal(got, full[:, joints])
