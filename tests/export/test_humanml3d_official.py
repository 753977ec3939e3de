"""`export --kind humanml3d --recipe official`: HumanML3D's dataset id for id, against a transcription of their notebooks.

The oracle below re-does EricGuo5513/HumanML3D's raw_pose_processing.ipynb step by step from the AMASS file (their
amass_to_pose: the rate key, the gender test, int(fps/20), betas[:10], the body model's joints, trans_matrix; then
the index.csv loop: head trims by path substring, data[start:end], x *= -1, swap_left_right), and feeds the clip to
the process_file / recover_from_ric transcription of tests/export/test_humanml3d.py. Their BodyModel's joints are
re-done here loop by loop (J_regressor on the shaped template, Rodrigues, the kinematic chain, + trans) in float32.
"""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest
from test_humanml3d import _reference  # the process_file / recover_from_ric transcription (tests/export)

from amass_arrow.export import humanml3d as h
from amass_arrow.export import humanml3d_official as off
from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.schema import SKELETONS
from amass_arrow.tools.synthetic.motion import make_motion

# (AMASS-relative path, fps, gender array, betas count, motion kind, seconds, fps key)
FILES = [
    ("KIT/3/walk01_poses.npz", 100.0, np.array("male"), 16, "walk", 4.0, "mocap_framerate"),
    ("CMU/01/01_01_poses.npz", 120.0, np.array(b"male"), 16, "turn", 4.0, "mocap_framerate"),  # bytes: female model
    ("HDM05/bk/HDM_bk_01_poses.npz", 120.0, np.array("female"), 16, "run", 5.0, "mocap_framerate"),  # MPI_HDM05 now
    ("Eyes_Japan_Dataset/aita/walk-01_poses.npz", 250.0, np.array("male"), 16, "walk", 4.5, "mocap_framerate"),
    ("TotalCapture/s1/walking1_poses.npz", 59.94, np.array(["male"]), 16, "jump", 3.0, "mocap_framerate"),
    ("PosePrior/03099/op2_poses.npz", 120.0, np.array("female"), 10, "stand", 3.0, "mocap_framerate"),  # MPI_Limits
    ("Transitions/mazen_c3d/kick_poses.npz", 120.0, np.array("neutral"), 16, "walk", 3.0, "mocap_framerate"),
    ("CMU/02/02_01_poses.npz", 120.0, np.array("male"), 16, "walk", 3.0, "mocap_frame_rate"),  # SMPL-X's rate key
]
# (index.csv source_path, start_frame, end_frame, new_name): HumanML3D's folder names (the store has today's)
INDEX = [
    ("./pose_data/KIT/3/walk01_poses.npy", 0, 70, "000000.npy"),
    ("./pose_data/CMU/01/01_01_poses.npy", 5, -1, "000001.npy"),
    ("./pose_data/MPI_HDM05/bk/HDM_bk_01_poses.npy", 0, 30, "000002.npy"),
    ("./pose_data/Eyes_Japan_Dataset/aita/walk-01_poses.npy", 3, 25, "000003.npy"),
    ("./pose_data/TotalCapture/s1/walking1_poses.npy", 0, 40, "000004.npy"),
    ("./pose_data/MPI_Limits/03099/op2_poses.npy", 10, 35, "000005.npy"),
    ("./pose_data/Transitions_mocap/mazen_c3d/kick_poses.npy", 0, -1, "000006.npy"),
    ("./pose_data/KIT/3/walk01_poses.npy", 60, 200, "000007.npy"),  # needs more frames than the file has
    ("./pose_data/CMU/02/02_01_poses.npy", 0, 30, "000008.npy"),  # no mocap_framerate: they skip the file
    ("./pose_data/KIT/9/missing_poses.npy", 0, 30, "000009.npy"),  # not in the store
    ("./pose_data/humanact12/humanact12/P01G01R01F0001T0064A0101.npy", 0, -1, "000010.npy"),
]


# ---------------------------------------------------------------------------------------------------------------
# the oracle: raw_pose_processing.ipynb, transcribed
# ---------------------------------------------------------------------------------------------------------------

def _rodrigues32(r):
    r = r.astype(np.float32)
    angle = np.linalg.norm(r + 1e-8, axis=-1, keepdims=True)
    axis = r / angle
    c, s = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    K = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(r.shape[:-1] + (3, 3))
    return np.eye(3, dtype=np.float32) + s * K + (1 - c) * (K @ K)


def _their_body_joints(model_npz, poses, trans, betas):
    """human_body_prior BodyModel(...).Jtr for poses (T, 156), trans (T, 3), betas (10,): (T, 52, 3)."""
    m = np.load(model_npz, allow_pickle=False)
    v_shaped = m["v_template"] + m["shapedirs"][:, :, :10] @ betas.astype(np.float64)
    J = (m["J_regressor"] @ v_shaped).astype(np.float32)  # (52, 3)
    parents = m["kintree_table"][0].astype(int)
    T = len(poses)
    R = _rodrigues32(poses.reshape(T, -1, 3))  # (T, 52, 3, 3)
    G_R = np.zeros_like(R)
    G_t = np.zeros((T, len(J), 3), np.float32)
    G_R[:, 0], G_t[:, 0] = R[:, 0], J[0]
    for j in range(1, len(J)):
        p = parents[j]
        G_R[:, j] = G_R[:, p] @ R[:, j]
        G_t[:, j] = G_t[:, p] + (G_R[:, p] @ (J[j] - J[p]))
    return G_t + trans[:, None, :].astype(np.float32)


def _their_pose_data(path, body_models):
    """amass_to_pose: None where they skip the file (no mocap_framerate), else (T', 52, 3) pose_data joints."""
    bdata = np.load(path, allow_pickle=False)
    if "mocap_framerate" not in bdata.files:
        return None
    fps = bdata["mocap_framerate"]
    bm = "male" if bdata["gender"] == "male" else "female"
    down_sample = int(fps / 20)
    poses = bdata["poses"][::down_sample, ...]
    trans = bdata["trans"][::down_sample, ...]
    jtr = _their_body_joints(body_models / "smplh" / bm / "model.npz", poses.astype(np.float32), trans,
                             bdata["betas"][:10])
    trans_matrix = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    return np.dot(jtr, trans_matrix)


def _their_swap_left_right(data):
    data = data.copy()
    data[..., 0] *= -1
    right_chain = [2, 5, 8, 11, 14, 17, 19, 21]
    left_chain = [1, 4, 7, 10, 13, 16, 18, 20]
    left_hand_chain = [22, 23, 24, 34, 35, 36, 25, 26, 27, 31, 32, 33, 28, 29, 30]
    right_hand_chain = [43, 44, 45, 46, 47, 48, 40, 41, 42, 37, 38, 39, 49, 50, 51]
    tmp = data[:, right_chain]
    data[:, right_chain] = data[:, left_chain]
    data[:, left_chain] = tmp
    if data.shape[1] > 24:
        tmp = data[:, right_hand_chain]
        data[:, right_hand_chain] = data[:, left_hand_chain]
        data[:, left_hand_chain] = tmp
    return data


def _their_joints(source_path, start_frame, end_frame, pose_data):
    """The index.csv loop for one row: (clip, mirrored clip), each (T, J, 3)."""
    data = pose_data.copy()
    fps = 20
    if "humanact12" not in source_path:
        if "Eyes_Japan_Dataset" in source_path:
            data = data[3 * fps:]
        if "MPI_HDM05" in source_path:
            data = data[3 * fps:]
        if "TotalCapture" in source_path:
            data = data[1 * fps:]
        if "MPI_Limits" in source_path:
            data = data[1 * fps:]
        if "Transitions_mocap" in source_path:
            data = data[int(0.5 * fps):]
        data = data[start_frame:end_frame]
        data[..., 0] *= -1
    return data, _their_swap_left_right(data)


# ---------------------------------------------------------------------------------------------------------------
# fixtures: an AMASS archive in today's folder names, a store of its source frames, a HumanML3D clone
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hml_world(synthetic_root, tmp_path_factory):
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    tmp = tmp_path_factory.mktemp("hml_official")
    amass = tmp / "amass"
    reg = BodyModelRegistry(synthetic_root.body_models)
    rng = np.random.default_rng(3)
    for i, (rel, fps, gender, nb, kind, seconds, key) in enumerate(FILES):
        g = "male" if str(np.asarray(gender).reshape(-1)[0]) in ("male", "b'male'") else "female"
        betas = rng.normal(0.0, 1.0, nb)
        m = make_motion(kind, reg.get("smplh", g), betas, fps=fps, seconds=seconds, seed=i)
        T = m.num_frames
        hands = 0.2 * np.sin(np.arange(T)[:, None] / fps + np.arange(90)) + 0.1
        p = amass / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        np.savez(p, poses=np.concatenate([m.root_orient, m.pose_body, hands], 1).astype(np.float64),
                 trans=(m.trans + np.array([0.5, -1.0, 0.02])).astype(np.float64), betas=betas, gender=gender,
                 dmpls=rng.normal(0.0, 0.3, (T, 8)), **{key: np.array(fps)})
    store = tmp / "store"
    build(load_build_config(None, amass_root=str(amass), body_models=str(synthetic_root.body_models),
                            out=str(store), workers=1, motion_resample="none"), progress=False)
    clone = tmp / "HumanML3D_clone"
    (clone / "HumanML3D" / "texts").mkdir(parents=True)
    with open(clone / "index.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_path", "start_frame", "end_frame", "new_name"])
        w.writerows(INDEX)
    ids = [r[3][:-4] for r in INDEX]
    for i in ids:  # no texts for 000009, M000008, M000010 in this clone
        if i != "000009":
            (clone / "HumanML3D" / "texts" / f"{i}.txt").write_text(f"a person walks {i}.#a/DET person/NOUN#0.0#0.0\n")
        if i not in ("000008", "000010"):
            (clone / "HumanML3D" / "texts" / f"M{i}.txt").write_text("a person walks.#a/DET person/NOUN#0.0#0.0\n")
    (clone / "HumanML3D" / "texts" / "M000001.txt").write_text("sub clip#sub/NOUN clip/NOUN#1.5#2.0\n")
    lists = {"train": ids[:6] + ["M" + i for i in ids[:6]], "val": ids[6:8], "test": ids[8:]}
    for name, lst in lists.items():
        (clone / "HumanML3D" / f"{name}.txt").write_text("\n".join(lst) + "\n")
    (clone / "HumanML3D" / "all.txt").write_text("\n".join(sum(lists.values(), [])) + "\n")
    act = tmp / "humanact12"
    act.mkdir()
    bm = reg.get("smplh", "male")
    m = make_motion("jump", bm, np.zeros(10), fps=20.0, seconds=3.0, seed=9)
    pose = np.concatenate([m.root_orient, m.pose_body], 1).reshape(-1, 22, 3).astype(np.float64)
    j22 = h.from_amass(forward_kinematics(pose, bm.rest_joints(np.zeros(10))[:22], SKELETONS["smpl"][1][:22],
                                          m.trans.astype(np.float64)))
    act_joints = np.concatenate([j22, j22[:, 20:22] + 0.05], axis=1)  # SMPL's 24: two hand joints past the wrists
    np.save(act / "P01G01R01F0001T0064A0101.npy", act_joints.astype(np.float32))
    return {"amass": amass, "store": store, "clone": clone, "act": act, "models": synthetic_root.body_models, "tmp": tmp}


def _run(world, name, *extra):
    from amass_arrow.cli import main

    out = world["tmp"] / name
    assert main(["export", str(world["store"]), "--kind", "humanml3d", "--recipe", "official", "--humanml3d-dir",
                 str(world["clone"]), "--out", str(out), "--quiet", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def official(hml_world):
    return _run(hml_world, "official", "--humanact12", str(hml_world["act"]), "--with-params")


def _report(out):
    with open(out / "reconciliation.csv", newline="") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


# ---------------------------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", range(7))
def test_clips_equal_their_notebooks(hml_world, official, row):
    src, a, b, new_name = INDEX[row]
    rel = FILES[row][0]
    pose_data = _their_pose_data(hml_world["amass"] / rel, hml_world["models"])
    clip, clip_m = _their_joints(src, a, b, pose_data)
    for cid, joints in ((new_name[:-4], clip), ("M" + new_name[:-4], clip_m)):
        ref, ref_joints = _reference(joints[:, :22], np.float32)
        vec = np.load(official / "HumanML3D" / "new_joint_vecs" / f"{cid}.npy")
        nj = np.load(official / "HumanML3D" / "new_joints" / f"{cid}.npy")
        assert vec.shape == ref.shape and nj.shape == ref_joints.shape  # lengths exactly
        assert vec.dtype == nj.dtype == np.float32
        np.testing.assert_allclose(vec[:, :259], ref[:, :259], atol=1e-3, rtol=0)
        np.testing.assert_allclose(nj, ref_joints, atol=1e-3, rtol=0)
        np.testing.assert_array_equal(vec[:, 259:], ref[:, 259:])  # contacts (no ties on this data)


def test_the_stride_rule_and_frame_ranges(official):
    rep = _report(official)
    # 100 -> 5, 120 -> 6, 250 -> 12, 59.94 -> 2 (about 30 fps, as theirs)
    assert [rep[i]["stride"] for i in ("000000", "000001", "000003", "000004")] == ["5", "6", "12", "2"]
    # KIT 100 fps [0:70): source frames 0, 5, ..., 345; HDM05 trimmed 60 frames at stride 6: starts at source 360
    assert (rep["000000"]["source_start"], rep["000000"]["source_end"], rep["000000"]["frames"]) == ("0", "346", "69")
    assert (rep["000002"]["source_start"], rep["000002"]["source_end"]) == (str(60 * 6), str((60 + 29) * 6 + 1))
    # Eyes_Japan 250 fps: trim 60, then [3:25)
    assert rep["000003"]["source_start"] == str((60 + 3) * 12) and rep["000003"]["frames"] == "21"
    # MPI_Limits (PosePrior) 20, TotalCapture 20, Transitions_mocap (Transitions) 10
    assert rep["000005"]["source_start"] == str((20 + 10) * 6)
    assert rep["000004"]["source_start"] == str(20 * 2)
    assert rep["000006"]["source_start"] == str(10 * 6)


def test_head_trims_follow_the_canonical_dataset(official):
    rep = _report(official)
    # today's folders (HDM05, PosePrior, Transitions) got the trims of HumanML3D's names
    assert rep["000002"]["seq_id"] == "HDM05/bk/HDM_bk_01" and rep["000002"]["dataset"] == "MPI_HDM05"
    assert rep["000005"]["seq_id"] == "PosePrior/03099/op2" and rep["000006"]["seq_id"] == "Transitions/mazen_c3d/kick"
    assert off.stride(59.94) == 2 and off.stride(19.9) == 0


def test_gender_rule():
    assert off.is_male(np.array("male")) and off.is_male(np.array(["male"]))
    assert not off.is_male(np.array(b"male")) and not off.is_male(np.array("neutral"))
    assert not off.is_male(np.array("female")) and not off.is_male(np.array(["male", "male"]))


def test_mirror_is_their_swap_left_right():
    x = np.random.default_rng(0).normal(size=(4, 52, 3))
    np.testing.assert_array_equal(off.swap_left_right(x), _their_swap_left_right(x))
    np.testing.assert_array_equal(off.swap_left_right(x[:, :24]), _their_swap_left_right(x[:, :24]))


def test_reconciliation_statuses(official):
    rep = _report(official)
    assert len(rep) == 2 * len(INDEX)
    st = {i: r["status"] for i, r in rep.items()}
    for i in ("000000", "M000000", "000001", "000003", "M000006", "000010"):
        assert st[i] == "written", (i, rep[i])
    assert st["000007"] == st["M000007"] == "source differs from HumanML3D's"
    assert "[60:200]" in rep["000007"]["reason"] and rep["000007"]["frames"] == str(80 - 60 - 1)
    assert st["000008"] == "failed" and "mocap_framerate" in rep["000008"]["reason"]
    assert st["000009"] == st["M000009"] == "source not in the store"
    assert st["M000008"] == "failed"
    summary = json.loads((official / "reconciliation.json").read_text())
    assert summary["by_status"]["written"] == sum(1 for s in st.values() if s == "written")
    assert summary["by_dataset"]["KIT"]["source not in the store"] == 2


def test_texts_lists_and_mean_std_over_every_clip(hml_world, official):
    hml = official / "HumanML3D"
    clone = hml_world["clone"] / "HumanML3D"
    for i in ("000000", "M000001", "000006"):
        assert (hml / "texts" / f"{i}.txt").read_bytes() == (clone / "texts" / f"{i}.txt").read_bytes()
    for name in ("train.txt", "val.txt", "test.txt", "all.txt"):
        assert (hml / name).read_bytes() == (clone / name).read_bytes()
    # their cal_mean_variance: every file in new_joint_vecs (mirrors, val and test too)
    rep = _report(official)
    files = sorted((hml / "new_joint_vecs").glob("*.npy"))
    assert {f.stem for f in files} == {i for i, r in rep.items() if r["status"] in off.HAS_CLIP}
    data = np.concatenate([np.load(f) for f in files]).astype(np.float64)
    np.testing.assert_allclose(np.load(hml / "Mean.npy"), data.mean(0), rtol=1e-5, atol=1e-6)
    std = data.std(0)
    for a, b in h.GROUPS:
        np.testing.assert_allclose(np.load(hml / "Std.npy")[a:b], std[a:b].mean(), rtol=1e-4)


def test_no_texts_status(official):
    rep = _report(official)
    assert rep["M000008"]["status"] == "failed"  # failed wins over no texts
    assert rep["M000010"]["status"] == "no texts" and rep["000010"]["status"] == "written"
    assert (official / "HumanML3D" / "new_joint_vecs" / "M000010.npy").is_file()
    assert not (official / "HumanML3D" / "texts" / "M000010.txt").exists()


def test_humanact12_clips_are_their_joint_files(hml_world, official):
    j = np.load(hml_world["act"] / "P01G01R01F0001T0064A0101.npy")
    clip, clip_m = _their_joints("./pose_data/humanact12/humanact12/P01G01R01F0001T0064A0101.npy", 0, -1, j)
    for cid, joints in (("000010", clip), ("M000010", clip_m)):
        ref, _ = _reference(joints[:, :22].astype(np.float64), np.float32)
        np.testing.assert_allclose(np.load(official / "HumanML3D" / "new_joint_vecs" / f"{cid}.npy")[:, :259],
                                   ref[:, :259], atol=1e-3)
    assert len(ref) == len(j) - 1  # no slice: all frames (their end_frame -1 is not applied to HumanAct12)


def test_without_humanact12_those_ids_are_reported(hml_world):
    out = _run(hml_world, "no_act")
    rep = _report(out)
    assert rep["000010"]["status"] == rep["M000010"]["status"] == "humanact12 not given"
    assert not (out / "HumanML3D" / "new_joint_vecs" / "000010.npy").exists()
    assert not (out / "HumanML3D" / "params").exists()


def test_texts_zip_is_read_like_texts_folder(hml_world, tmp_path):
    import shutil

    clone = tmp_path / "clone"
    shutil.copytree(hml_world["clone"], clone)
    texts = clone / "HumanML3D" / "texts"
    with zipfile.ZipFile(clone / "HumanML3D" / "texts.zip", "w") as z:
        for p in sorted(texts.iterdir()):
            z.write(p, f"texts/{p.name}")
    shutil.rmtree(texts)
    c = off.Clone.open(clone)
    got = c.text_files({"000000", "M000001", "000009"})
    assert got == {"000000": (hml_world["clone"] / "HumanML3D" / "texts" / "000000.txt").read_bytes(),
                   "M000001": b"sub clip#sub/NOUN clip/NOUN#1.5#2.0\n"}


def test_params_pose_the_clip(hml_world, official):
    p = np.load(official / "HumanML3D" / "params" / "000000.npz", allow_pickle=False)
    assert p["poses"].shape == (70, 156) and p["betas"].shape == (10,) and str(p["gender"]) == "male"
    np.testing.assert_array_equal(p["source_frames"], np.arange(70) * 5)
    assert float(p["fps"]) == 20.0 and not bool(p["mirrored"])
    # the file's own parameters at those frames
    src = np.load(hml_world["amass"] / FILES[0][0], allow_pickle=False)
    np.testing.assert_allclose(p["poses"], src["poses"][::5][:70], atol=1e-6)
    np.testing.assert_allclose(p["trans"], src["trans"][::5][:70], atol=1e-5)
    # posed on their body and put in their frame, they give the clip their notebook made
    jtr = _their_body_joints(hml_world["models"] / "smplh" / "male" / "model.npz", p["poses"].astype(np.float32),
                             p["trans"], p["betas"])
    clip = np.dot(jtr, np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]]))
    clip[..., 0] *= -1
    ref, _ = _reference(clip[:, :22], np.float32)
    np.testing.assert_allclose(np.load(official / "HumanML3D" / "new_joint_vecs" / "000000.npy")[:, :259],
                               ref[:, :259], atol=1e-3)
    assert bool(np.load(official / "HumanML3D" / "params" / "M000000.npz")["mirrored"])


def test_a_resampled_store_is_refused_before_writing(demo_store, hml_world, tmp_path, capsys):
    from amass_arrow.cli import main

    out = tmp_path / "out"
    rc = main(["export", str(demo_store), "--kind", "humanml3d", "--recipe", "official", "--humanml3d-dir",
               str(hml_world["clone"]), "--out", str(out), "--quiet"])
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "--resample none" in err and len(err.strip().splitlines()) == 1


def test_official_recipe_flags_are_checked(hml_world, tmp_path, capsys):
    from amass_arrow.cli import main

    assert main(["export", str(hml_world["store"]), "--kind", "humanml3d", "--recipe", "official",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "--humanml3d-dir" in capsys.readouterr().err
    assert main(["export", str(hml_world["store"]), "--kind", "humanml3d", "--recipe", "official", "--humanml3d-dir",
                 str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "index.csv" in capsys.readouterr().err
    assert main(["export", str(hml_world["store"]), "--kind", "humanml3d", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "--sql is required" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
