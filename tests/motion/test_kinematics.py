"""Forward kinematics: identity pose, rodrigues vs scipy, and parity with smplx's forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from amass_arrow import schema
from amass_arrow.config import MotionConfig
from amass_arrow.motion.kinematics import forward_kinematics, rodrigues, to_frame
from amass_arrow.source.sequence import Sequence


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), model=st.sampled_from(schema.SURFACE_MODELS), t=st.integers(1, 5))
def test_identity_pose_gives_rest_joints_plus_trans(seed, model, t):
    rng = np.random.default_rng(seed)
    parents = schema.SKELETONS[model][1]
    rest = rng.normal(size=(len(parents), 3))
    trans = rng.normal(size=(t, 3))
    out = forward_kinematics(np.zeros((t, len(parents), 3)), rest, parents, trans)
    np.testing.assert_allclose(out, rest[None] + trans[:, None], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1e-9, 1e-4, 0.5, 2.0, 3.1]))
def test_rodrigues_matches_scipy(seed, scale):
    aa = np.random.default_rng(seed).normal(size=(64, 3)) * scale
    np.testing.assert_allclose(rodrigues(aa), Rotation.from_rotvec(aa).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(rodrigues(np.zeros(3)), np.eye(3))


def test_fk_rotates_children_about_their_parent():
    rest = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    pose = np.zeros((1, 3, 3))
    pose[0, 1] = [0, 0, np.pi / 2]  # joint 1 turns its child 90 degrees about z
    out = forward_kinematics(pose, rest, [-1, 0, 1])
    np.testing.assert_allclose(out[0], [[0, 0, 0], [1, 0, 0], [1, 1, 0]], atol=1e-12)


def test_to_frame_y_up():
    p = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(to_frame(p, "y_up"), [[1.0, 3.0, -2.0]])
    with pytest.raises(ValueError):
        to_frame(p, "x_up")


# ---------------------------------------------------------------- smplx parity
CASES = [("smpl", "male", 10), ("smplh", "female", 16), ("smplx", "neutral", 300)]


def _smplx_model(path: Path, surface_model: str, num_betas: int):
    """smplx's reference model for a synthetic file, allowing all of its betas (DESIGN.md)."""
    smplx = pytest.importorskip("smplx")
    from smplx.utils import Struct

    data = dict(np.load(path, allow_pickle=True))  # our own synthetic file (smplx-style object arrays)
    base = {"smpl": smplx.SMPL, "smplh": smplx.SMPLH, "smplx": smplx.SMPLX}[surface_model]
    attrs = {} if surface_model == "smplx" else {"SHAPE_SPACE_DIM": data["shapedirs"].shape[-1]}
    cls = type(f"Wide{base.__name__}", (base,), attrs)
    kw = dict(num_betas=num_betas, batch_size=1)
    if surface_model == "smplx":  # SMPLX loads the file itself
        kw["ext"] = "npz"
    else:  # SMPL would want a .pkl
        kw["data_struct"] = Struct(**data)
    if surface_model != "smpl":
        kw.update(use_pca=False, flat_hand_mean=True)
    if surface_model == "smplx":
        kw.update(num_expression_coeffs=10)
    return cls(model_path=str(path), **kw)


def _smplx_joints(ref, surface_model: str, pose: np.ndarray, betas: np.ndarray, trans: np.ndarray) -> np.ndarray:
    import torch

    T = len(pose)
    f = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    kw = dict(
        betas=f(np.repeat(betas[None], T, 0)), global_orient=f(pose[:, 0]), body_pose=f(pose[:, 1:22].reshape(T, -1)),
        transl=f(trans), return_verts=True,
    )
    if surface_model == "smpl":
        kw["body_pose"] = f(pose[:, 1:24].reshape(T, -1))
    elif surface_model == "smplh":
        kw.update(left_hand_pose=f(pose[:, 22:37].reshape(T, -1)), right_hand_pose=f(pose[:, 37:52].reshape(T, -1)))
    else:
        kw.update(jaw_pose=f(pose[:, 22]), leye_pose=f(pose[:, 23]), reye_pose=f(pose[:, 24]),
                  left_hand_pose=f(pose[:, 25:40].reshape(T, -1)), right_hand_pose=f(pose[:, 40:55].reshape(T, -1)),
                  expression=torch.zeros(T, 10, dtype=torch.float64))
    with torch.no_grad():
        out = ref.double()(**kw)
    return out.joints[:, : pose.shape[1]].numpy()


@pytest.fixture(scope="module")
def body_model_root(synthetic_root) -> Path:
    return Path(synthetic_root.body_models)


@pytest.mark.parametrize("surface_model,gender,num_betas", CASES)
def test_fk_equals_smplx_joints(body_model_root, surface_model, gender, num_betas):
    from amass_arrow.motion.bodymodel import find_model_file, load_body_model

    path = find_model_file(body_model_root, surface_model, gender)
    path = path.with_suffix(".npz")
    model = load_body_model(path, surface_model, gender)
    assert model.num_shape_betas == num_betas
    rng = np.random.default_rng(11)
    T = 12
    betas = rng.normal(size=num_betas) * 1.5  # all of them
    J = model.num_joints
    pose = rng.normal(size=(T, J, 3)) * 0.6  # hands, jaw and eyes included
    trans = rng.normal(size=(T, 3))
    ours = forward_kinematics(pose, model.rest_joints(betas), model.parents, trans)
    ref = _smplx_joints(_smplx_model(path, surface_model, num_betas), surface_model, pose, betas, trans)
    assert np.abs(ours - ref).max() < 1e-4
    # the Y-up frame is the same rotation applied to both
    assert np.abs(to_frame(ours, "y_up") - to_frame(ref, "y_up")).max() < 1e-4

    # motion.process (no floor fix, no resampling) stores those joints, in either frame, and
    # FK of its stored parameters reproduces them
    from amass_arrow.motion.pipeline import process

    blocks = {"root_orient": pose[:, 0], "pose_body": pose[:, 1:22].reshape(T, -1), "trans": trans}
    if surface_model == "smpl":
        blocks["pose_smpl_hands"] = pose[:, 22:24].reshape(T, -1)
    elif surface_model == "smplh":
        blocks["pose_hand"] = pose[:, 22:52].reshape(T, -1)
    else:
        blocks.update(pose_jaw=pose[:, 22], pose_eye=pose[:, 23:25].reshape(T, -1), pose_hand=pose[:, 25:55].reshape(T, -1))
    seq = Sequence(
        seq_id="S/1/a", dataset="S", subject="1", name="a", source_path="S/1/a.npz", surface_model=surface_model,
        gender=gender, betas=betas.astype(np.float32), fps=30.0, fps_key="mocap_framerate",
        **{k: np.asarray(v, np.float32) for k, v in blocks.items()},
    )
    full = schema.SKELETON_SET[surface_model]
    seq_pose = seq.full_pose().astype(np.float64)
    ref32 = _smplx_joints(_smplx_model(path, surface_model, num_betas), surface_model, seq_pose,
                          seq.betas.astype(np.float64), seq.trans.astype(np.float64))
    for frame in ("z_up", "y_up"):
        cfg = MotionConfig(frame=frame, floor="none", resample="none", source_frame="z_up")  # random poses: no orientation guess
        tb = process(seq, model, cfg, full).frames
        stored = tb["joints"].combine_chunks().values.to_numpy().reshape(T, J, 3)
        assert np.abs(stored - to_frame(ref32, frame)).max() < 1e-4
        ro = tb["root_orient"].combine_chunks().values.to_numpy().reshape(T, 3)
        tr = tb["trans"].combine_chunks().values.to_numpy().reshape(T, 3)
        p2 = seq_pose.copy()
        p2[:, 0] = ro
        refit = forward_kinematics(p2, model.rest_joints(seq.betas), model.parents, tr.astype(np.float64))
        assert np.abs(refit - stored).max() < 1e-4
