"""Render-In-Between h5 (export/rib.py): their layout, their central-80% clip and their male-model rule, checked
against an oracle written here from gen_amass_h5.py (azuxmioy/Render-In-Between) on the synthetic archive."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from amass_arrow.cli import main

h5py = pytest.importorskip("h5py")

DATASETS = ["CMU", "TotalCapture"]  # SMPL+H (male and female subjects) and SMPL (no hands)


@pytest.fixture(scope="module")
def source_rate_store(synthetic_root, tmp_path_factory):
    """A store at each file's own rate (--resample none): its frames are the files' frames, as theirs."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    out = tmp_path_factory.mktemp("rib") / "store"
    cfg = load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(out), workers=1, datasets=DATASETS, motion_resample="none")
    build(cfg, progress=False)
    return out


def _their_joints(npz: dict, model: dict, num_betas: int = 10) -> np.ndarray:
    """gen_amass_h5.py's joints for one file, without DMPLs: frames range(int(0.1 N), int(0.9 N)), male model,
    betas[:10], root | body | hands from `poses`, + trans (an independent FK: J_regressor of the shaped template,
    rotations by scipy)."""
    N = len(npz["poses"])
    ids = np.arange(int(0.1 * N), int(0.9 * N))
    poses = np.zeros((len(ids), 52, 3))
    p = npz["poses"][ids]
    if p.shape[1] >= 156:
        poses[:] = p[:, :156].reshape(-1, 52, 3)
    else:  # an SMPL file (T, 72): root + body 21 (its two hand joints are not SMPL+H joints)
        poses[:, :22] = p[:, :66].reshape(-1, 22, 3)
    betas = np.asarray(npz["betas"][:num_betas], np.float64)
    v = model["v_template"] + model["shapedirs"][:, :, :num_betas] @ betas
    J = model["J_regressor"] @ v
    parents = model["kintree_table"][0].astype(int)
    R = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(len(ids), 52, 3, 3)
    G = np.zeros_like(R)
    out = np.zeros((len(ids), 52, 3))
    for j in range(52):
        if j == 0:
            G[:, 0], out[:, 0] = R[:, 0], J[0]
        else:
            G[:, j] = G[:, parents[j]] @ R[:, j]
            out[:, j] = out[:, parents[j]] + G[:, parents[j]] @ (J[j] - J[parents[j]])
    return out + npz["trans"][ids][:, None, :]


def _export(store, out, *extra) -> None:
    assert main(["export", str(store), "--sql", "sql/splits/random_sequences.sql", "--kind", "rib", "--out", str(out),
                 "--quiet", *extra]) == 0


def test_rib_h5_has_their_layout_lengths_and_male_model_joints(synthetic_root, source_rate_store, tmp_path):
    _export(source_rate_store, tmp_path)
    folder = tmp_path / "random_sequences" / "rib"
    files = {f.rel_path: f for f in synthetic_root.files if f.dataset in DATASETS}
    male = dict(np.load(synthetic_root.body_models / "smplh" / "SMPLH_MALE.npz"))
    seen, genders = set(), set()
    for split in ("train", "validation", "test"):
        with h5py.File(folder / split / "AMASS_3D_joints.h5", "r") as f:
            assert set(f.attrs["datasets"]) == set(f.keys()) <= set(DATASETS)
            assert f.attrs["recipe"] == "rib"
            for dataset in f:
                for motion in f[dataset]:
                    rel = f"{dataset}/{motion.split('_', 1)[0]}/{motion.split('_', 1)[1]}"
                    if rel not in files:  # subject names with '_' (none in these datasets)
                        raise AssertionError(motion)
                    src = files[rel]
                    joints = f[dataset][motion]["joints"]  # their reader: f[dataset][motion]['joints']
                    N = src.num_frames
                    assert joints.dtype == np.float64 and joints.shape == (int(0.9 * N) - int(0.1 * N), 52, 3)
                    with np.load(src.path, allow_pickle=False) as z:
                        npz = {k: z[k] for k in ("poses", "trans", "betas")}
                    np.testing.assert_allclose(joints[:], _their_joints(npz, male), atol=2e-4)
                    seen.add(rel)
                    genders.add(src.gender)
    assert seen == set(files) and genders == {"male", "female"}  # every take, women posed on the male model too


def test_rib_own_recipe_uses_each_takes_model(synthetic_root, source_rate_store, tmp_path):
    assert main(["export", str(source_rate_store), "--sql", "sql/splits/random_sequences.sql", "--kind", "rib",
                 "--recipe", "own", "--out", str(tmp_path), "--quiet"]) == 2  # SMPL takes have no hands: refused
    sql = tmp_path / "cmu.sql"
    sql.write_text("SELECT seq_id, 'train' AS split FROM sequences WHERE dataset = 'CMU'")
    assert main(["export", str(source_rate_store), "--sql", str(sql), "--kind", "rib", "--recipe", "own",
                 "--out", str(tmp_path), "--quiet"]) == 0
    female = next(f for f in synthetic_root.files if f.dataset == "CMU" and f.gender == "female")
    fmodel = dict(np.load(synthetic_root.body_models / "smplh" / "SMPLH_FEMALE.npz"))
    male = dict(np.load(synthetic_root.body_models / "smplh" / "SMPLH_MALE.npz"))
    with np.load(female.path, allow_pickle=False) as z:
        npz = {k: z[k] for k in ("poses", "trans", "betas")}
    with h5py.File(tmp_path / "cmu" / "rib" / "train" / "AMASS_3D_joints.h5", "r") as f:
        assert f.attrs["recipe"] == "own"
        got = f["CMU"][f"{female.subject}_{female.rel_path.rsplit('/', 1)[1]}"]["joints"][:]
    assert len(npz["betas"]) == 16
    np.testing.assert_allclose(got, _their_joints(npz, fmodel, num_betas=16), atol=2e-4)  # her model, all betas
    assert np.abs(got - _their_joints(npz, male)).max() > 1e-3  # not the male one


def test_central_frames_and_motion_key_are_theirs():
    from amass_arrow.export.rib import central_frames, motion_key

    for n in (0, 1, 5, 9, 10, 11, 19, 654):
        assert list(central_frames(n)) == list(range(int(0.1 * n), int(0.9 * n)))
    assert len(central_frames(1)) == 0 and len(central_frames(10)) == 8
    assert motion_key("01", "CMU/01/01_01_poses.npz") == "01_01_01_poses.npz"
    assert motion_key("Female1General_c3d", "ACCAD/Female1General_c3d/A1 - Stand_poses.npz") == \
        "Female1General_c3d_A1 - Stand_poses.npz"
