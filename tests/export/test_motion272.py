"""The 272-dim representation (export/motion272.py) against their pipeline, stage by stage.

The oracles below are transcriptions of the rules in Li-xingXiao/272-dim-Motion-Representation (amass_process.py:
get_smplx_85, process_pose, swap_left_right_smplx_85; face_z_transform.py; infer_get_joints.py;
representation_272.py; cal_mean_std.py), in numpy with their quaternion formulas (pytorch3d's copysign
matrix_to_quaternion, atan2 quaternion_to_axis_angle, their qmul / qrot / my_quat_rotate). Their repository ships
a real AMASS take and its outputs: AMASS data, so nothing of it is used here; the inputs are random and synthetic.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from amass_arrow.cli import main
from amass_arrow.export import motion272 as m
from amass_arrow.query.sql import connect

TOL = 1e-4


# ---------------------------------------------------------------- their rules, transcribed (the oracle)
def _aa_to_q(aa):  # their axis_angle_to_quaternion / expmap_to_quaternion: (w, x, y, z), w = cos(angle / 2)
    ang = np.linalg.norm(aa, axis=-1, keepdims=True)
    return np.concatenate([np.cos(ang / 2), aa * 0.5 * np.sinc(ang / 2 / np.pi)], -1)


def _q_to_m(q):  # their quaternion_to_matrix
    r, i, j, k = np.moveaxis(q, -1, 0)
    two_s = 2.0 / (q * q).sum(-1)
    o = np.stack([1 - two_s * (j * j + k * k), two_s * (i * j - k * r), two_s * (i * k + j * r),
                  two_s * (i * j + k * r), 1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
                  two_s * (i * k - j * r), two_s * (j * k + i * r), 1 - two_s * (i * i + j * j)], -1)
    return o.reshape(q.shape[:-1] + (3, 3))


def _m_to_q(M):  # their matrix_to_quaternion: w >= 0, signs of the vector part copied from the off-diagonals
    m00, m11, m22 = M[..., 0, 0], M[..., 1, 1], M[..., 2, 2]
    sq = lambda x: np.sqrt(np.maximum(x, 0))  # noqa: E731
    w = 0.5 * sq(1 + m00 + m11 + m22)
    x = 0.5 * sq(1 + m00 - m11 - m22)
    y = 0.5 * sq(1 - m00 + m11 - m22)
    z = 0.5 * sq(1 - m00 - m11 + m22)
    cs = lambda a, b: np.where((a < 0) != (b < 0), -a, a)  # noqa: E731
    return np.stack([w, cs(x, M[..., 2, 1] - M[..., 1, 2]), cs(y, M[..., 0, 2] - M[..., 2, 0]),
                     cs(z, M[..., 1, 0] - M[..., 0, 1])], -1)


def _q_to_aa(q):  # their quaternion_to_axis_angle (no sign flip: w < 0 gives an angle above pi)
    n = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    half = np.arctan2(n, q[..., :1])
    ang = 2 * half
    small = np.abs(ang) < 1e-6
    s = np.where(small, 0.5 - ang * ang / 48, np.sin(half) / np.where(small, 1, ang))
    return q[..., 1:] / s


def _qmul(q, r):  # their qmul, from the outer product terms = r q^T
    t = r[..., :, None] * q[..., None, :]
    w = t[..., 0, 0] - t[..., 1, 1] - t[..., 2, 2] - t[..., 3, 3]
    x = t[..., 0, 1] + t[..., 1, 0] - t[..., 2, 3] + t[..., 3, 2]
    y = t[..., 0, 2] + t[..., 1, 3] + t[..., 2, 0] - t[..., 3, 1]
    z = t[..., 0, 3] - t[..., 1, 2] + t[..., 2, 1] + t[..., 3, 0]
    return np.stack([w, x, y, z], -1)


def _qrot(q, v):  # their qrot
    qv = q[..., 1:]
    uv = np.cross(qv, v)
    return v + 2 * (q[..., :1] * uv + np.cross(qv, uv))


def their_smpl85(poses, trans, betas):
    """get_smplx_85 (every frame) + process_pose."""
    n = len(poses)
    x = np.concatenate([poses[:, :66], np.zeros((n, 6)), trans, np.repeat(betas[None, :10], n, 0)], 1)
    C = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)
    x[:, :3] = _q_to_aa(_m_to_q(C @ _q_to_m(_aa_to_q(x[:, :3]))))
    t = x[:, 72:75] @ np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]])
    t[:, 2] *= -1
    x[:, 72:75] = t
    return x.astype(np.float32)


def their_swap(data):
    """swap_left_right_smplx_85 on a copy."""
    data = np.array(data, copy=True)
    left, right = [1, 4, 7, 10, 13, 16, 18, 20], [2, 5, 8, 11, 14, 17, 19, 21]
    pose = data[..., :72].reshape(data.shape[0], 24, 3)
    tmp = pose[:, right, :]
    pose[:, right, :] = pose[:, left, :]
    pose[:, left, :] = tmp
    pose[:, :, 1:3] *= -1
    trans = data[..., 72:75].copy()
    trans[..., 0] *= -1
    data[..., :72] = pose.reshape(data.shape[0], -1)
    data[..., 72:75] = trans
    return data


def their_face_z(x):
    """face_z_transform.py's main loop for one file."""
    n = len(x)
    q0 = _aa_to_q(x[0, :3])
    qv, qw = q0[1:], q0[0]  # my_quat_rotate of (0, 0, 1) by the xyzw quaternion
    v = np.array([0.0, 0, 1])
    rot = v * (2 * qw ** 2 - 1) + np.cross(qv, v) * qw * 2 + qv * (qv @ v) * 2
    heading_inv_aa = -np.arctan2(rot[0], rot[2]) * np.array([0.0, 1, 0])
    q_diff = _aa_to_q(heading_inv_aa)
    root = _q_to_aa(_qmul(np.repeat(q_diff[None], n, 0), _aa_to_q(x[:, :3])))
    trans = _qrot(np.repeat(q_diff[None], n, 0), x[:, 72:75])
    return np.concatenate([root, x[:, 3:72], trans, x[:, 75:]], 1)


def _rot_yaw(a):
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def their_272(position_data, rotation_aa):
    """representation_272.py's main loop for one file."""
    pos = np.array(position_data[:, :22, :3], float)
    nfrm, nj, _ = pos.shape
    R = _q_to_m(_aa_to_q(rotation_aa[:, :66].reshape(nfrm, nj, 3)))
    ori = pos[0, 0].copy()
    ori[1] = np.min(pos[:, :, 1])
    pos = pos - ori
    vroot = pos[1:, 0, :] - pos[:-1, 0, :]
    pos[:, :, 0] -= pos[:, 0:1, 0]
    pos[:, :, 2] -= pos[:, 0:1, 2]
    gh = -np.arctan2(R[:, 0, 0, 2], R[:, 0, 2, 2])
    ghr = np.array([_rot_yaw(a) for a in gh])
    ghd = np.array([_rot_yaw(a) for a in gh[1:] - gh[:-1]])
    pnh = np.matmul(np.repeat(ghr[:, None], nj, axis=1), pos[..., None]).squeeze(-1)
    vnh = pnh[1:] - pnh[:-1]
    vroot_nh = np.matmul(ghr[:-1], vroot[:, :, None]).squeeze()[..., [0, 2]]
    R[:, 0] = np.matmul(ghr, R[:, 0])
    out = np.zeros((nfrm, 8 + nj * 12))
    out[0, 2] = 1
    out[0, 6] = 1
    out[1:, 2:8] = ghd[..., :2, :].reshape(-1, 6)
    out[1:, :2] = vroot_nh
    out[:, 8:8 + 3 * nj] = pnh.reshape(nfrm, -1)
    out[1:, 8 + 3 * nj:8 + 6 * nj] = vnh.reshape(nfrm - 1, -1)
    out[:, 8 + 6 * nj:] = R[..., :2, :].reshape(nfrm, -1)
    return out


def their_mean_std(clips):
    data = np.concatenate([c for c in clips if not np.isnan(c).any()], 0)
    mean, std = data.mean(0), data.std(0)
    j = 22
    for a, b in ((0, 2), (2, 8), (8, 8 + 3 * j), (8 + 3 * j, 8 + 6 * j), (8 + 6 * j, 8 + 12 * j)):
        std[a:b] = std[a:b].mean()
    return mean, std


def their_joints(x85, model):
    """infer_get_joints.py: the body model's first 22 joints for the 85's root, body pose, trans, betas (an
    independent FK: J_regressor of the shaped template, rotations by their quaternion formulas)."""
    v = model["v_template"] + model["shapedirs"][:, :, :10] @ x85[0, 75:85].astype(float)
    J = (model["J_regressor"] @ v)[:22]
    parents = model["kintree_table"][0].astype(int)[:22]
    n = len(x85)
    R = _q_to_m(_aa_to_q(x85[:, :66].astype(float).reshape(n, 22, 3)))
    G, out = np.zeros_like(R), np.zeros((n, 22, 3))
    for j in range(22):
        if j == 0:
            G[:, 0], out[:, 0] = R[:, 0], J[0]
        else:
            G[:, j] = G[:, parents[j]] @ R[:, j]
            out[:, j] = out[:, parents[j]] + G[:, parents[j]] @ (J[j] - J[parents[j]])
    return out + x85[:, 72:75][:, None, :]


def _model(path):
    """The arrays FK needs from a synthetic model file (its object arrays are not read)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in ("v_template", "shapedirs", "J_regressor", "kintree_table")}


# ---------------------------------------------------------------- random motion
def _motion(rng, n=40):
    poses = rng.normal(0, 0.4, (n, 156))
    poses[:, :3] = rng.normal(0, 1.2, 3) + np.cumsum(rng.normal(0, 0.08, (n, 3)), 0)  # turning roots, any heading
    trans = np.cumsum(rng.normal(0, 0.03, (n, 3)), 0) + [0.5, -1.0, 0.9]
    return poses, trans, rng.normal(0, 1, 16)


@pytest.mark.parametrize("seed", range(4))
def test_to_smpl85_is_theirs(seed):
    poses, trans, betas = _motion(np.random.default_rng(seed))
    x = m.to_smpl85(poses, trans, betas)
    assert x.shape == (40, 85) and x.dtype == np.float32
    np.testing.assert_allclose(x, their_smpl85(poses, trans, betas), atol=TOL)
    assert not x[:, 66:72].any() and np.allclose(x[:, 75:], betas[:10])


@pytest.mark.parametrize("seed", range(4))
def test_mirror85_is_theirs_and_an_involution(seed):
    x = m.to_smpl85(*_motion(np.random.default_rng(seed)))
    before = x.copy()
    mx = m.mirror85(x)
    np.testing.assert_array_equal(x, before)  # theirs edits in place; ours returns a new array
    np.testing.assert_allclose(mx, their_swap(x), atol=0)
    np.testing.assert_allclose(m.mirror85(mx), x, atol=0)
    assert not np.allclose(mx, x)


@pytest.mark.parametrize("seed", range(6))
def test_face_z_is_theirs(seed):
    x = m.to_smpl85(*_motion(np.random.default_rng(seed)))
    for clip in (x, m.mirror85(x)):
        got = m.face_z(clip)
        np.testing.assert_allclose(got, their_face_z(clip.astype(float)), atol=TOL)
        # frame 0 now faces +Z: the root's +Z axis has no X component
        fwd = _q_to_m(_aa_to_q(got[0, :3].astype(float))) @ [0, 0, 1]
        assert abs(fwd[0]) < 1e-5 and fwd[2] > 0


def test_face_z_keeps_their_axis_angle_past_pi():
    # frame 0 turned -1 rad about +Y, frame 1 +3 rad: removing the heading turns frame 1 to 4 rad, which their
    # quaternion_to_axis_angle writes as 4 rad about +Y (not 2.28 rad about -Y): the 85 keeps that representation
    x = np.zeros((2, 85), np.float32)
    x[:, :3] = [[0, -1.0, 0], [0, 3.0, 0]]
    got = m.face_z(x)
    np.testing.assert_allclose(got[:, :3], [[0, 0, 0], [0, 4.0, 0]], atol=1e-6)
    np.testing.assert_allclose(got, their_face_z(x.astype(float)), atol=TOL)


@pytest.mark.parametrize("seed", range(4))
def test_features_are_theirs(seed):
    rng = np.random.default_rng(seed)
    x = m.face_z(m.to_smpl85(*_motion(rng, n=25)))
    pos = rng.normal(0, 0.3, (25, 22, 3)) + np.cumsum(rng.normal(0, 0.05, (25, 1, 3)), 0)
    f = m.features(pos, x[:, :66].reshape(25, 22, 3))
    assert f.shape == (25, 272)
    np.testing.assert_allclose(f, their_272(pos, x), atol=TOL)
    np.testing.assert_array_equal(f[0, :8], [0, 0, 1, 0, 0, 0, 1, 0])
    assert abs(f[:, 8 + 1:8 + 66:3].min()) < 1e-12  # the lowest joint of the clip on the floor


def test_mean_std_rule_is_theirs():
    rng = np.random.default_rng(0)
    clips = [rng.normal(0, rng.uniform(0.1, 3, 272), (n, 272)) for n in (5, 9, 13)]
    clips.append(np.full((4, 272), np.nan))  # theirs leaves NaN clips out
    mean, std = m.mean_std(clips)
    want_mean, want_std = their_mean_std(clips)
    np.testing.assert_allclose(mean, want_mean, atol=1e-12)
    np.testing.assert_allclose(std, want_std, atol=1e-12)
    assert len(set(std[8:74].round(12))) == 1 and std[0] == std[1]


def test_joints_are_the_smplx_neutral_models(synthetic_root):
    from amass_arrow.motion.bodymodel import load_body_model

    path = synthetic_root.body_models / "smplx" / "SMPLX_NEUTRAL.npz"
    x = m.face_z(m.to_smpl85(*_motion(np.random.default_rng(1), n=12)))
    got = m.joints_of(x, load_body_model(path, "smplx", "neutral"))
    np.testing.assert_allclose(got, their_joints(x, _model(path)), atol=TOL)


# ---------------------------------------------------------------- the export, end to end on the demo store
def test_export_on_the_demo_store_is_their_pipeline(demo_store, synthetic_root, tmp_path):
    assert main(["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "motion272",
                 "--out", str(tmp_path), "--quiet"]) == 0
    out = tmp_path / "amass_official" / "motion272"
    with open(out / "index.csv") as fh:
        index = list(csv.DictReader(fh))
    con = connect(demo_store)
    rows = con.execute("SELECT count(*) FROM sequences").fetchone()[0]
    assert len(index) == 2 * rows  # every take and its mirror
    split_ids = {s: (out / "split" / f"{s}.txt").read_text().split() for s in ("train", "val", "test")}
    assert sum(map(len, split_ids.values())) == len(index) and all(split_ids.values())
    assert {r["id"] for r in index if r["split"] == "validation"} == set(split_ids["val"])
    model = _model(synthetic_root.body_models / "smplx" / "SMPLX_NEUTRAL.npz")
    clips = {}
    for r in index[:3] + [r for r in index if r["seq_id"].startswith("CMU/")][:2]:
        if r["mirrored"] == "True":
            continue
        frames = con.execute("SELECT root_orient, pose_body, trans FROM frames WHERE seq_id = ? ORDER BY frame",
                             [r["seq_id"]]).fetchall()
        betas = np.array(con.execute("SELECT betas FROM sequences WHERE seq_id = ?", [r["seq_id"]]).fetchone()[0])
        poses = np.array([list(a) + list(b) for a, b, _ in frames], float)
        trans = np.array([c for _, _, c in frames], float)
        x = their_smpl85(poses, trans, betas)
        for cid, clip in ((r["id"], x), ("M" + r["id"], their_swap(x))):
            xf = their_face_z(clip.astype(float))
            want = their_272(their_joints(xf, model), xf)
            got = np.load(out / "motion_data" / f"{cid}.npy")
            assert got.shape == (int(r["frames"]), 272) == want.shape
            np.testing.assert_allclose(got, want, atol=TOL)
            clips[cid] = got
    assert len(clips) >= 4
    everything = [np.load(p) for p in sorted((out / "motion_data").glob("*.npy"))]
    mean, std = their_mean_std(everything)
    np.testing.assert_allclose(np.load(out / "mean_std" / "Mean.npy"), mean, atol=1e-9)
    np.testing.assert_allclose(np.load(out / "mean_std" / "Std.npy"), std, atol=1e-9)


def test_export_refuses_what_it_cannot_do_before_writing(demo_store, tmp_path, capsys):
    base = ["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "motion272",
            "--out", str(tmp_path), "--quiet"]
    assert main(base + ["--fps", "10"]) == 2
    assert "motion272 is 30 fps" in capsys.readouterr().err
    assert main(base + ["--recipe", "official"]) == 2
    assert "needs --humanml3d-dir" in capsys.readouterr().err
    assert main(base + ["--recipe", "official", "--humanml3d-dir", str(tmp_path)]) == 2
    assert "--resample none" in capsys.readouterr().err  # the demo store is resampled to 30 fps
    assert not (tmp_path / "amass_official" / "motion272").exists()


# ---------------------------------------------------------------- --recipe official: their clip list, their frames
@pytest.fixture(scope="module")
def source_rate_store(synthetic_root, tmp_path_factory):
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    out = tmp_path_factory.mktemp("m272") / "store"
    build(load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(out), workers=1, datasets=["CMU", "KIT"], motion_resample="none"), progress=False)
    return out


def test_official_recipe_is_their_pipeline_on_the_files(synthetic_root, source_rate_store, tmp_path):
    hml = tmp_path / "HumanML3D"
    (hml / "texts").mkdir(parents=True)
    (hml / "index.csv").write_text(
        "source_path,start_frame,end_frame,new_name\n"
        "./pose_data/CMU/01/01_01_poses.npy,10,50,000000.npy\n"
        "./pose_data/KIT/3/walking_medium01_poses.npy,0,-1,000001.npy\n"   # 100 fps: every 3rd frame; -1 drops the last
        "./pose_data/humanact12/humanact12/P01G01R01F0001T0064A0101.npy,0,40,000002.npy\n"
        "./pose_data/CMU/09/09_99_poses.npy,0,40,000003.npy\n"
        "./pose_data/CMU/02/02_01_poses.npy,5000,6000,000004.npy\n")
    (hml / "texts" / "000000.txt").write_text("a person turns left#a/DET person/NOUN turn/VERB left/ADV#0.0#0.0\n")
    (hml / "train.txt").write_text("000000\nM000000\n")
    (hml / "test.txt").write_text("000001\nM000001\n")
    assert main(["export", str(source_rate_store), "--sql", "sql/splits/random_sequences.sql", "--kind", "motion272",
                 "--recipe", "official", "--humanml3d-dir", str(hml), "--out", str(tmp_path), "--quiet",
                 "--body-models", str(synthetic_root.body_models)]) == 0  # this store used no SMPL-X model
    out = tmp_path / "random_sequences" / "motion272"
    assert sorted(p.stem for p in (out / "motion_data").glob("*.npy")) == ["000000", "000001", "M000000", "M000001"]
    with open(out / "skipped.csv") as fh:
        assert {r["new_name"]: r["reason"] for r in csv.DictReader(fh)} == {
            "000002": "not_amass", "000003": "no_sequence", "000004": "empty_clip"}
    assert (out / "split" / "train.txt").read_text().split() == ["000000", "M000000"]
    assert (out / "split" / "test.txt").read_text().split() == ["000001", "M000001"]
    assert "turns right" in (out / "texts" / "M000000.txt").read_text()
    model = _model(synthetic_root.body_models / "smplx" / "SMPLX_NEUTRAL.npz")
    files = {f.rel_path: f for f in synthetic_root.files}
    for name, rel, a, b in (("000000", "CMU/01/01_01_poses.npz", 10, 50), ("000001", "KIT/3/walking_medium01_poses.npz", 0, -1)):
        with np.load(files[rel].path, allow_pickle=False) as z:
            step = int(float(z["mocap_framerate"]) / 30)  # get_smplx_85: range(0, N, int(fps / 30))
            poses, trans, betas = z["poses"][::step][a:b], z["trans"][::step][a:b], z["betas"]
        x = their_smpl85(poses, trans, betas)
        for cid, clip in ((name, x), ("M" + name, their_swap(x))):
            xf = their_face_z(clip.astype(float))
            want = their_272(their_joints(xf, model), xf)
            got = np.load(out / "motion_data" / f"{cid}.npy")
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=TOL)
    assert len(np.load(out / "motion_data" / "000001.npy")) == len(range(0, files["KIT/3/walking_medium01_poses.npz"].num_frames, 3)) - 1


def test_take_of_an_index_path():
    assert m.take_of("CMU/01/01_01_poses.npy") == "CMU/01/01_01"
    assert m.take_of("ACCAD/Female1General_c3d/A1 - Stand_poses.npy") == "ACCAD/Female1General_c3d/A1 - Stand"
    assert m.take_of("MPI_HDM05/dg/HDM_dg_03-01_01_120_stageii.npz") == "MPI_HDM05/dg/HDM_dg_03-01_01_120"
