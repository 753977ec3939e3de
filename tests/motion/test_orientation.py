"""orientation: a Y-up file is stood upright (same joints as its Z-up original), a body lying down is flagged."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from amass_arrow import schema
from amass_arrow.motion import orientation

FPS = 60.0
Z_TO_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (x, y, z) -> (x, z, -y)


@pytest.fixture(scope="module")
def subject(synthetic_root):
    from amass_arrow.motion.bodymodel import BodyModelRegistry

    model = BodyModelRegistry(synthetic_root.body_models).get("smplh", "male")
    betas = np.random.default_rng(11).normal(size=16).astype(np.float32) * 0.5
    return model, betas


def _rotate_body(root_orient, trans, A, pelvis_rest):
    """Rigidly rotate the posed body about the world origin by A: every joint x -> A x.

    Joints are R_root (rest - rest_pelvis) + rest_pelvis + trans, so the root turns to A R_root and the
    pelvis (rest_pelvis + trans) to A (rest_pelvis + trans).
    """
    root = (Rotation.from_matrix(A) * Rotation.from_rotvec(np.asarray(root_orient, np.float64))).as_rotvec()
    return root, (np.asarray(trans, np.float64) + pelvis_rest) @ A.T - pelvis_rest


def _write(path, motion, betas, root, trans):
    T = motion.num_frames
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, poses=np.concatenate([root, motion.pose_body, np.zeros((T, 90))], axis=1).astype(np.float64),
             trans=np.asarray(trans, np.float64), betas=betas.astype(np.float64), gender=np.array("male"),
             mocap_framerate=np.array(FPS))


def _build(root, body_models, out, **kw):
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    cfg = load_build_config(None, amass_root=str(root), body_models=str(body_models), out=str(out), workers=1, **kw)
    build(cfg, progress=False)
    from amass_arrow.store.reader import Store

    return Store(out)


def _joints(store, seq_id):
    tb = store.read_sequence_frames(seq_id, columns=[schema.JOINTS])
    return tb[schema.JOINTS].combine_chunks().values.to_numpy().reshape(tb.num_rows, -1, 3).astype(np.float64)


def _row(store, seq_id):
    return next(r for r in store.sequences().to_pylist() if r["seq_id"] == seq_id)


def test_y_up_file_is_stood_upright_and_says_so(synthetic_root, subject, tmp_path):
    from amass_arrow.tools.synthetic.motion import make_motion

    model, betas = subject
    m = make_motion("walk", model, betas, fps=FPS, seconds=4.0, seed=2)
    p0 = np.asarray(model.rest_joints(betas.astype(np.float64)), np.float64)[0]
    root_y, trans_y = _rotate_body(m.root_orient, m.trans, Z_TO_Y, p0)
    amass = tmp_path / "amass"
    _write(amass / "SYN/s1/walk_poses.npz", m, betas, m.root_orient, m.trans)
    _write(amass / "SYN/s1/walk_yup_poses.npz", m, betas, root_y, trans_y)

    store = _build(amass, synthetic_root.body_models, tmp_path / "store")
    z, y = _joints(store, "SYN/s1/walk"), _joints(store, "SYN/s1/walk_yup")
    assert z.shape == y.shape and z.shape[1] == 22
    assert np.abs(y - z).max() < 1e-5  # metres: the Y-up file stands exactly where its Z-up original does
    rz, ry = _row(store, "SYN/s1/walk"), _row(store, "SYN/s1/walk_yup")
    assert (rz["source_frame"], ry["source_frame"]) == ("z_up", "y_up")
    assert ry["source_frame_mode"] == "auto" and ry["spine_up_y"] > 0.9 and ry["spine_up_z"] < 0.1
    assert ry["upright_fraction"] == pytest.approx(ry["spine_up_y"]) and "Y-up" in ry["source_frame_reason"]
    assert rz["upright_fraction"] > 0.9 and "lying_down" not in rz["quality_flags"] + ry["quality_flags"]
    assert store.info.quality["thresholds"]["min_upright_fraction"] == 0.5

    # forced z_up: the Y-up file is stored as read (lying on its back) and flagged, never silently
    forced = _build(amass, synthetic_root.body_models, tmp_path / "forced", motion_source_frame="z_up")
    rf = _row(forced, "SYN/s1/walk_yup")
    assert rf["source_frame"] == "z_up" and rf["source_frame_mode"] == "z_up"
    assert "lying_down" in rf["quality_flags"] and rf["upright_fraction"] < 0.1
    assert "lying_down" not in _row(forced, "SYN/s1/walk")["quality_flags"]


def _sequence(motion, betas, root, trans):
    from amass_arrow.source.sequence import Sequence

    T = motion.num_frames
    return Sequence(seq_id="SYN/s1/x", dataset="SYN", subject="s1", name="x", source_path="SYN/s1/x_poses.npz",
                    surface_model="smplh", gender="male", betas=betas, fps=FPS, fps_key="mocap_framerate",
                    root_orient=np.asarray(root, np.float32), pose_body=motion.pose_body,
                    trans=np.asarray(trans, np.float32), pose_hand=np.zeros((T, 90), np.float32))


@pytest.mark.parametrize("case", ["on_back_head_minus_y", "on_side_head_x", "crawling_along_plus_y"])
def test_body_lying_down_all_take_is_flagged(subject, case):
    """Z-up takes whose body never stands: kept in Z-up (not a clean Y-up export) and flagged lying_down."""
    from amass_arrow.config import MotionConfig
    from amass_arrow.motion.pipeline import process
    from amass_arrow.tools.synthetic.motion import make_motion

    model, betas = subject
    p0 = np.asarray(model.rest_joints(betas.astype(np.float64)), np.float64)[0]
    m = make_motion("stand", model, betas, fps=FPS, seconds=3.0, seed=4)
    if case == "on_back_head_minus_y":  # +Z (head) -> -Y, face up
        A = Rotation.from_euler("x", 90, degrees=True).as_matrix()
    elif case == "on_side_head_x":
        A = Rotation.from_euler("y", 90, degrees=True).as_matrix()
    else:  # head towards +Y and moving that way ~1.3 m/s x 3 s: crawling, not a Y-up export
        A = Z_TO_Y
    root, trans = _rotate_body(m.root_orient, m.trans, A, p0)
    if case == "crawling_along_plus_y":
        trans[:, 1] = trans[0, 1] + 1.3 * np.arange(m.num_frames) / FPS
    res = process(_sequence(m, betas, root, trans), model, MotionConfig(fps=30.0), "body22")
    f = res.fields
    assert f["source_frame"] == "z_up", f["source_frame_reason"]
    assert "lying_down" in f["quality_flags"] and f["quality_flags"].count("lying_down") == 1
    assert f["upright_fraction"] < 0.1


def test_decide_on_hand_made_evidence():
    up_y = np.tile([0.0, 1.0, 0.0], (100, 1))
    still = np.zeros((500, 3))
    walk_z = np.zeros((500, 3))
    walk_z[:, 2] = np.linspace(0, 5, 500)  # a Y-up walk travels along Z
    assert orientation.decide(up_y, walk_z).source_frame == "y_up"
    assert orientation.decide(up_y, still).source_frame == "y_up"  # no travel: the documented ambiguity
    climb = np.zeros((500, 3))
    climb[:, 1] = np.linspace(0, 3, 500)  # 3 m along +Y, nothing across
    d = orientation.decide(up_y, climb)
    assert d.source_frame == "z_up" and d.flags(0.5) == ["lying_down"]
    up_z = np.tile([0.0, 0.3, 0.95], (100, 1))
    assert orientation.decide(up_z, climb).source_frame == "z_up" and orientation.decide(up_z, still).flags(0.5) == []
    forced = orientation.decide(up_z, still, mode="y_up")
    assert forced.source_frame == "y_up" and forced.upright_fraction == 0.0 and forced.flags(0.5) == ["lying_down"]
    # scattered poses around +Y (a random-pose test file): most within 45 deg of +Y, but no coherent direction
    scattered = np.array([[0.0, 1.0, 0.0]] * 6 + [[0.0, -1.0, 0.0]] * 4)
    assert np.mean(scattered[:, 1] > np.cos(np.pi / 4)) == 0.6
    d = orientation.decide(scattered, still)
    assert d.source_frame == "z_up" and d.flags(0.5) == ["lying_down"] and "scattered" in d.reason
    with pytest.raises(ValueError, match="auto, z_up, y_up"):
        orientation.decide(up_z, still, mode="x_up")


@pytest.fixture(scope="module")
def mocap_store(synthetic_root, tmp_path_factory):
    """The mocap-like world (every motion kind at 60 fps; walks, runs and sits also written Y-up), built."""
    from amass_arrow.tools.synthetic.feet import KINDS
    from amass_arrow.tools.synthetic.mocap import make_mocap_archive

    root = tmp_path_factory.mktemp("mocap") / "amass"
    files = make_mocap_archive(root, kinds=KINDS, rates=(60.0,), seconds=3.0, y_up=("walk", "run", "sit"),
                               body_models_dir=synthetic_root.body_models)
    return files, _build(root, synthetic_root.body_models, root.parent / "store")


def test_mocap_world_orientation_matches_ground_truth(mocap_store):
    """Every file's decision equals the generator's `up`; Y-up copies store the Z-up copy's joints; nobody lies down."""
    files, store = mocap_store
    rows = {r["seq_id"]: r for r in store.sequences().to_pylist()}
    assert len(rows) == len(files)
    kinds = {f.kind for f in files}
    assert {"sit", "stairs", "platform", "turn", "jump"} <= kinds
    for f in files:
        r = rows[f.seq_id]
        assert r["source_frame"] == f.up, (f.seq_id, r["source_frame_reason"])
        assert r["upright_fraction"] > 0.9 and "lying_down" not in r["quality_flags"], f.seq_id
        assert "airborne" not in r["quality_flags"], (f.seq_id, r["airborne_fraction"])  # stairs and platforms are floors
    pairs = [(f.seq_id, f.seq_id[:-1] + "1") for f in files if f.up == "y_up"]
    assert len(pairs) == 6
    for y_id, z_id in pairs:
        assert np.abs(_joints(store, y_id) - _joints(store, z_id)).max() < 1e-5, y_id
        for m in ("foot_skating", "contact_coverage", "airborne_fraction", "jitter"):
            assert rows[y_id][m] == pytest.approx(rows[z_id][m], rel=1e-4, abs=1e-6), (y_id, m)
