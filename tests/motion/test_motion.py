"""motion.process: schema, frame/t columns, null blocks, errors, floor fix and contacts vs ground truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from amass_arrow import schema
from amass_arrow.config import MotionConfig
from amass_arrow.errors import InputError
from amass_arrow.motion.pipeline import process
from amass_arrow.motion.resample import source_times, target_times
from amass_arrow.source.sequence import Sequence

SRC_FPS = 120.0


@pytest.fixture(scope="module")
def models(synthetic_root):
    from amass_arrow.motion.bodymodel import BodyModelRegistry

    return BodyModelRegistry(synthetic_root.body_models)


def _sequence(motion, surface_model="smplh", betas=None, lift=0.0) -> Sequence:
    T = motion.num_frames
    trans = motion.trans.copy()
    trans[:, 2] += lift
    return Sequence(
        seq_id=f"SYN/s1/{motion.kind}", dataset="SYN", subject="s1", name=motion.kind,
        source_path=f"SYN/s1/{motion.kind}_poses.npz", surface_model=surface_model, gender="male",
        betas=np.zeros(16, np.float32) if betas is None else betas, fps=motion.fps, fps_key="mocap_framerate",
        root_orient=motion.root_orient, pose_body=motion.pose_body, trans=trans,
        pose_hand=np.zeros((T, 90), np.float32) if surface_model == "smplh" else None,
    )


@pytest.fixture(scope="module")
def motions(models):
    from amass_arrow.tools.synthetic.motion import make_motion

    model = models.get("smplh", "male")
    betas = np.random.default_rng(5).normal(size=16).astype(np.float32) * 0.8
    out = {k: make_motion(k, model, betas, fps=SRC_FPS, seconds=6.0, seed=3) for k in ("walk", "run", "jump")}
    return model, betas, out


def _frame_contacts(tb: pa.Table) -> np.ndarray:
    return np.stack([tb[c].to_numpy() for c in schema.CONTACT_COLUMNS[4:]], axis=1)


def _agreement(tb: pa.Table, gt: np.ndarray, fps: float) -> float:
    """Fraction of store frames whose (left, right) foot flags equal the ground truth at the same time."""
    t_src = source_times(len(gt), SRC_FPS)
    idx = np.searchsorted(t_src, tb["t"].to_numpy().astype(np.float64) - 1e-6)
    return float(np.mean(np.all(_frame_contacts(tb) == gt[idx], axis=1)))


@pytest.mark.parametrize("kind", ["walk", "run", "jump"])
@pytest.mark.parametrize("mode", ["interpolate", "decimate"])
def test_contacts_match_ground_truth(motions, kind, mode):
    model, betas, ms = motions
    m = ms[kind]
    res = process(_sequence(m, betas=betas), model, MotionConfig(fps=30.0, resample=mode), "body22")
    assert res.fields["store_fps"] == 30.0
    assert abs(res.fields["floor_height"]) < 0.01  # already on the floor
    agree = _agreement(res.frames, m.contacts, 30.0)
    assert agree >= 0.95, f"{kind}/{mode}: {agree:.3f}"


def test_floating_walk_lands_on_the_floor(motions):
    model, betas, ms = motions
    m = ms["walk"]
    res = process(_sequence(m, betas=betas, lift=0.5), model, MotionConfig(fps=30.0), "body22")
    assert res.fields["floor_height"] == pytest.approx(0.5, abs=0.01)
    assert _agreement(res.frames, m.contacts, 30.0) >= 0.95
    j = res.frames["joints"].combine_chunks().values.to_numpy().reshape(res.frames.num_rows, 22, 3)
    assert j[..., 2].min() > -0.01  # nothing under the floor
    tr = res.frames["trans"].combine_chunks().values.to_numpy().reshape(-1, 3)
    ref = process(_sequence(m, betas=betas), model, MotionConfig(fps=30.0), "body22").frames
    np.testing.assert_allclose(tr, ref["trans"].combine_chunks().values.to_numpy().reshape(-1, 3), atol=1e-4)


def test_schema_columns_and_fields(motions):
    model, betas, ms = motions
    seq = _sequence(ms["walk"], betas=betas)
    seq.pose_hand = None  # a block the file did not have
    seq.betas = np.concatenate([betas, np.ones(4, np.float32)])  # more than the model's 16
    cfg = MotionConfig(fps=30.0, joint_velocities=True)
    res = process(seq, model, cfg, "smplh52")
    tb = res.frames
    assert tb.schema.equals(schema.frame_schema(52, True))
    T = tb.num_rows
    assert T == len(target_times(seq.num_frames, SRC_FPS, 30.0))
    np.testing.assert_array_equal(tb["frame"].to_numpy(), np.arange(T))
    np.testing.assert_allclose(tb["t"].to_numpy(), np.arange(T) / 30.0, rtol=1e-6)
    assert set(tb["seq_id"].to_pylist()) == {seq.seq_id}
    for name in ("pose_hand", "pose_jaw", "pose_eye", "pose_smpl_hands"):
        assert tb[name].null_count == T
    for name in ("root_orient", "pose_body", "trans", "joints", "joint_vel"):
        assert tb[name].null_count == 0
    f = res.fields
    assert f["num_frames"] == T and f["resample_mode"] == "interpolate"
    assert f["duration"] == pytest.approx(T / 30.0)  # one convention: T frames last T/fps s (schema.duration_seconds)
    assert "betas_truncated" in f["quality_flags"]
    # joint velocity is the time derivative of the joints
    j = tb["joints"].combine_chunks().values.to_numpy().reshape(T, 52, 3)
    v = tb["joint_vel"].combine_chunks().values.to_numpy().reshape(T, 52, 3)
    np.testing.assert_allclose(v[1:-1], (j[2:] - j[:-2]) * 15.0, atol=1e-3)


def test_y_up_frame(motions):
    model, betas, ms = motions
    seq = _sequence(ms["walk"], betas=betas)
    z = process(seq, model, MotionConfig(fps=30.0), "body22").frames
    y = process(seq, model, MotionConfig(fps=30.0, frame="y_up"), "body22").frames
    jz = z["joints"].combine_chunks().values.to_numpy().reshape(-1, 22, 3)
    jy = y["joints"].combine_chunks().values.to_numpy().reshape(-1, 22, 3)
    np.testing.assert_allclose(jy, np.stack([jz[..., 0], jz[..., 2], -jz[..., 1]], -1), atol=1e-6)
    np.testing.assert_array_equal(_frame_contacts(y), _frame_contacts(z))


def test_decimate_and_none_rates(motions):
    model, betas, ms = motions
    seq = _sequence(ms["run"], betas=betas)
    res = process(seq, model, MotionConfig(fps=30.0, resample="none"), "body22")
    assert res.fields["store_fps"] == SRC_FPS and res.frames.num_rows == seq.num_frames
    res = process(seq, model, MotionConfig(fps=30.0, resample="decimate"), "body22")
    assert res.frames.num_rows == len(range(0, seq.num_frames, 4))


def test_joint_set_unavailable(motions):
    model, betas, ms = motions
    with pytest.raises(InputError) as exc:
        process(_sequence(ms["walk"], betas=betas), model, MotionConfig(), "smplx55")
    assert exc.value.code == "joint_set_unavailable"
    assert "smplh52" in exc.value.message


def test_contact_columns_are_placed_by_name(motions, monkeypatch):
    """Each contact column holds its own joint's flags (a swap of any two boolean columns fails here)."""
    from amass_arrow.motion import contacts

    model, betas, ms = motions
    seq = _sequence(ms["walk"], betas=betas)
    s = np.arange(seq.num_frames)
    # source frame s, foot joint k (FOOT_ORDER) -> bit k of s // 4: at 120 -> 30 fps store frame n has bit k of n
    patterns = np.stack([((s // 4) >> k) & 1 for k in range(4)], axis=1).astype(bool)
    monkeypatch.setattr(contacts, "detect", lambda *a, **k: patterns)
    tb = process(seq, model, MotionConfig(fps=30.0), "body22").frames
    n = np.arange(tb.num_rows)
    bit = {"left_ankle": 0, "right_ankle": 1, "left_toe": 2, "right_toe": 3}  # contacts.FOOT_ORDER, spelled out
    expected = {f"{j}_contact": ((n >> b) & 1).astype(bool) for j, b in bit.items()}
    for side in ("left", "right"):
        expected[f"{side}_foot_contact"] = expected[f"{side}_ankle_contact"] | expected[f"{side}_toe_contact"]
    assert sorted(expected) == sorted(schema.CONTACT_COLUMNS)
    for col, want in expected.items():
        np.testing.assert_array_equal(tb[col].to_numpy(zero_copy_only=False), want, err_msg=col)


def test_frame_table_by_name():
    """schema.frame_table: any column order in, schema order out; missing, unknown or short columns rejected."""
    n, J = 5, 2
    cols = {c: pa.array(np.arange(n) % (k + 2) == 0) for k, c in enumerate(schema.CONTACT_COLUMNS)}
    cols[schema.JOINTS] = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(n * 6, dtype=np.float32)), type=schema.fsl(6))
    for c in ("root_orient", "pose_body", "trans"):
        w = schema.POSE_COLUMNS[c]
        cols[c] = pa.FixedSizeListArray.from_arrays(pa.array(np.full(n * w, w, np.float32)), type=schema.fsl(w))
    cols[schema.T] = pa.array(np.linspace(0, 1, n, dtype=np.float32))
    cols[schema.FRAME] = pa.array(np.arange(n, dtype=np.int32))
    cols[schema.SEQ_ID] = pa.array(["a/b/c"] * n)
    shuffled = dict(reversed(list(cols.items())))
    tb = schema.frame_table(shuffled, n, J)
    assert tb.schema.equals(schema.frame_schema(J))
    for c, a in cols.items():
        assert tb[c].combine_chunks().equals(a), c
    assert tb["pose_hand"].null_count == n  # nullable block left out -> nulls
    with pytest.raises(ValueError, match="missing"):
        schema.frame_table({k: v for k, v in cols.items() if k != "left_toe_contact"}, n, J)
    with pytest.raises(ValueError, match="not in the frame schema"):
        schema.frame_table({**cols, "left_heel_contact": cols["left_toe_contact"]}, n, J)
    with pytest.raises(ValueError, match="rows"):
        schema.frame_table({**cols, schema.FRAME: pa.array(np.arange(n - 1, dtype=np.int32))}, n, J)
