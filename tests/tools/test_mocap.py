"""The mocap-like archive (synthetic.mocap): valid AMASS files whose FK gives the scripted feet, and the store's
contacts on them against the ground truth, per contact method."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amass_arrow import schema
from amass_arrow.config import MotionConfig
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.motion.pipeline import process
from amass_arrow.source.discover import discover
from amass_arrow.source.read import read_sequence
from amass_arrow.tools.synthetic.feet import make_take
from amass_arrow.tools.synthetic.mocap import _J, make_mocap_archive

FEET = [_J["left_ankle"], _J["right_ankle"], _J["left_foot"], _J["right_foot"]]


@pytest.fixture(scope="module")
def archive(synthetic_root, tmp_path_factory):
    from amass_arrow.motion.bodymodel import BodyModelRegistry

    root = tmp_path_factory.mktemp("mocap") / "amass"
    files = make_mocap_archive(root, kinds=("walk", "run", "jump", "stairs"), rates=(60.0, 250.0), seconds=4.0,
                               body_models_dir=synthetic_root.body_models)
    sources = {s.seq_id: s for s in discover(root).files}
    return root, files, sources, BodyModelRegistry(synthetic_root.body_models)


def _fk_feet(f, registry):
    z = np.load(f.path)  # our own file: no pickled objects in it
    model = registry.get(f.surface_model, f.gender)
    pose = np.zeros((z["poses"].shape[0], len(model.parents), 3))
    pose[:, :22] = z["poses"][:, :66].reshape(-1, 22, 3)
    return forward_kinematics(pose, model.rest_joints(z["betas"]), model.parents, z["trans"])


def test_files_are_amass_and_fk_gives_the_measured_feet(archive):
    root, files, sources, registry = archive
    assert {f.surface_model for f in files} == {"smplh", "smplx"}
    assert {f.fps for f in files} == {60.0, 250.0}
    for f in files:
        seq = read_sequence(sources[f.seq_id])
        assert seq.fps == f.fps and seq.num_frames == f.take.num_frames
        assert f.unreachable == 0
        if f.up != "z_up":
            continue
        feet = _fk_feet(f, registry)[:, FEET]
        np.testing.assert_allclose(feet[:, :2], f.take.joints[:, :2], atol=1e-6)  # ankles exact (IK)
        err = np.linalg.norm(feet[:, 2:] - f.take.joints[:, 2:], axis=-1)  # toes: a rigid foot vs noisy targets
        assert err.mean() < 0.006 and err.max() < 0.03


def test_y_up_copy_is_the_same_body_lying_in_a_y_up_world(archive):
    _, files, _, registry = archive
    y = [f for f in files if f.up == "y_up"]
    assert y and all(f.kind == "walk" for f in y)
    for f in y:
        twin = next(g for g in files if g.up == "z_up" and g.take is f.take)
        a, b = _fk_feet(f, registry), _fk_feet(twin, registry)
        np.testing.assert_allclose(a[..., [0, 1, 2]], np.stack([b[..., 0], b[..., 2], -b[..., 1]], -1), atol=1e-5)
        spine = a[:, _J["head"]] - a[:, _J["pelvis"]]
        assert np.all(spine[:, 1] > 0.3) and np.all(np.abs(spine[:, 2]) < 0.2)  # head along +y, not +z


def _store_agreement(f, sources, registry, method):
    out = process(read_sequence(sources[f.seq_id]), registry.get(f.surface_model, f.gender),
                  MotionConfig(contacts=method), "body22")
    tb = out.frames
    pred = np.stack([tb[c].to_numpy() for c in schema.CONTACT_COLUMNS[4:]], 1)
    t = tb["t"].to_numpy().astype(np.float64)
    gt = f.take.foot_contact[np.clip(np.rint(t * f.fps).astype(int), 0, f.take.num_frames - 1)]
    return float(np.all(pred == gt, axis=1).mean()), pred, gt


def test_store_contacts_follow_the_ground_truth(archive):
    _, files, sources, registry = archive
    for f in files:
        if f.up != "z_up":
            continue
        agree, pred, gt = _store_agreement(f, sources, registry, "default")
        assert agree >= 0.93, (f.rel_path, agree)
        if f.kind == "stairs":  # contacts on every step, whatever its height
            for side in (0, 1):
                d = np.diff(np.concatenate([[0], gt[:, side].astype(int), [0]]))
                for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
                    if b - a >= 3:
                        assert pred[a:b, side].mean() > 0.6, (f.rel_path, side, a, b)


def test_parity_modes_lose_stances_on_mocap_like_runs(archive):
    _, files, sources, registry = archive
    f = next(f for f in files if f.kind == "run" and f.fps == 250.0 and f.up == "z_up")
    default, _, _ = _store_agreement(f, sources, registry, "default")
    proto, pred, gt = _store_agreement(f, sources, registry, "protomotions")
    assert (pred & gt).sum() < 0.6 * gt.sum()  # most running stances missed by the 0.15 m/s rule
    assert default > proto + 0.15


def test_build_records_the_method_and_protomotions_parity(archive, tmp_path, synthetic_root):
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config
    from amass_arrow.motion.contacts import protomotions_contacts
    from amass_arrow.store.reader import Store

    root = archive[0]
    for method in ("default", "protomotions"):
        out = tmp_path / method
        cfg = load_build_config(None, amass_root=str(root), body_models=str(synthetic_root.body_models), out=str(out),
                                workers=1, motion_resample="decimate", motion_contacts=method)
        build(cfg, progress=False)
        info = json.loads((out / "meta" / "info.json").read_text())
        assert info["contacts"]["method"] == method
        if method == "default":
            assert info["contacts"]["speed"] == MotionConfig().contact_speed
            assert info["contacts"]["floor_window"] == MotionConfig().contact_floor_window
            continue
        assert (info["contacts"]["speed"], info["contacts"]["height"]) == (0.15, 0.10)
        # the stored flags are ProtoMotions' rule on the stored (decimated, 30 fps) foot joints
        tb = Store(out).frames_dataset().to_table()
        seq_ids = tb["seq_id"].to_numpy(zero_copy_only=False)
        names = schema.JOINT_SETS["body22"]
        cols = [names.index(schema.FOOT_JOINTS[k]) for k in schema.FOOT_JOINTS]
        for sid in ("MocapLike/m1/walk_60_1", "MocapLike/m1/run_250_1"):
            rows = tb.filter(np.asarray(seq_ids == sid))
            order = np.argsort(rows["frame"].to_numpy())
            joints = np.stack(rows["joints"].to_numpy(zero_copy_only=False))[order].reshape(len(order), -1, 3)
            fps = 30.0 if sid.endswith("60_1") else 50.0
            want = protomotions_contacts(joints[:, cols].astype(np.float64), fps)
            got = np.stack([rows[c].to_numpy()[order] for c in schema.CONTACT_COLUMNS[:4]], 1)
            assert np.mean(got == want) > 0.99, sid


def test_takes_do_not_depend_on_the_rate_but_their_errors_do():
    a, b = make_take("walk", 60.0, seed=4), make_take("walk", 120.0, seed=4)
    np.testing.assert_allclose(a.clean, b.clean[::2], atol=1e-9)  # the design is continuous in time
    np.testing.assert_array_equal(a.contact, b.contact[::2])
    assert not np.allclose(a.joints - a.clean, (b.joints - b.clean)[::2])  # fresh jitter per rate


def test_y_up_files_are_stood_upright_and_keep_their_contacts(archive):
    """With motion.source_frame=auto (orientation.py) a Y-up export is stood upright before floor and contacts."""
    _, files, sources, registry = archive
    for f in (f for f in files if f.up == "y_up"):
        out = process(read_sequence(sources[f.seq_id]), registry.get(f.surface_model, f.gender), MotionConfig(),
                      "body22")
        assert out.fields["source_frame"] == "y_up", f.rel_path
        tb = out.frames
        pred = np.stack([tb[c].to_numpy() for c in schema.CONTACT_COLUMNS[4:]], 1)
        t = tb["t"].to_numpy().astype(np.float64)
        gt = f.take.foot_contact[np.clip(np.rint(t * f.fps).astype(int), 0, f.take.num_frames - 1)]
        assert np.all(pred == gt, axis=1).mean() >= 0.93, f.rel_path
