import hashlib

import numpy as np
import pytest

from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.schema import SKELETONS
from amass_arrow.tools.synthetic import synth
from amass_arrow.tools.synthetic.archive import VARIANTS
from amass_arrow.tools.synthetic.bodymodels import NOTICE
from amass_arrow.tools.synthetic.motion import KINDS, TOES, make_motion


def _world_joints(m, bm, betas):
    pose = np.concatenate([m.root_orient, m.pose_body], 1).reshape(-1, 22, 3).astype(np.float64)
    return forward_kinematics(pose, bm.rest_joints(betas)[:22], SKELETONS["smpl"][1][:22], m.trans.astype(np.float64))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fps", [60.0, 120.00004578])
def test_motion_stance_foot_is_planted(synthetic_root, kind, fps):
    bm = BodyModelRegistry(synthetic_root.body_models).get("smplh", "female")
    betas = np.random.default_rng(1).normal(0.0, 1.0, 16)
    m = make_motion(kind, bm, betas, fps=fps, seconds=4.0, seed=5)
    assert m.root_orient.shape == (m.num_frames, 3) and m.pose_body.shape == (m.num_frames, 63)
    assert m.trans.dtype == np.float32 and m.contacts.dtype == bool
    toes = _world_joints(m, bm, betas)[:, list(TOES)]
    c = m.contacts
    speed = np.linalg.norm(np.diff(toes, axis=0), axis=-1) * fps
    held = c[1:] & c[:-1]
    assert held.any()
    assert speed[held].max() < 0.02
    assert toes[c][:, 2].max() < 0.03
    assert toes[..., 2].min() > -0.01  # no foot sinks into the floor
    if kind in ("walk", "run", "turn"):  # it goes somewhere, feet alternate
        assert np.linalg.norm(m.trans[-1, :2] - m.trans[0, :2]) > 2.0
        assert 0.25 < c.mean() < 0.6
    if kind in ("run", "jump"):
        assert (~c.any(axis=1)).any()  # a flight phase
    if kind == "stand":
        assert c.all()
    pelvis_z = _world_joints(m, bm, betas)[:, 0, 2]
    assert 0.6 < pelvis_z.mean() < 1.05  # Z-up, human height


def test_motion_is_deterministic(synthetic_root):
    bm = BodyModelRegistry(synthetic_root.body_models).get("smpl", "male")
    betas = np.zeros(10)
    a = make_motion("walk", bm, betas, fps=100.0, seconds=2.0, seed=3)
    b = make_motion("walk", bm, betas, fps=100.0, seconds=2.0, seed=3)
    c = make_motion("walk", bm, betas, fps=100.0, seconds=2.0, seed=4)
    for k in ("root_orient", "pose_body", "trans", "contacts"):
        assert getattr(a, k).tobytes() == getattr(b, k).tobytes()
    assert a.trans.tobytes() != c.trans.tobytes()


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.npz")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_archive_is_deterministic(synthetic_root, tmp_path):
    again = synth(tmp_path / "again", seed=0)
    assert _digest(again.amass_root) == _digest(synthetic_root.amass_root)
    assert [f.seq_id for f in again.files] == [f.seq_id for f in synthetic_root.files]


def test_archive_has_every_variant_fps_and_dataset(synthetic_root):
    files = synthetic_root.files
    assert 30 <= len(files) <= 50
    assert {f.variant for f in files} == set(VARIANTS)
    assert {f.fps for f in files} >= {60.0, 100.0, 120.0, 120.00004578, 250.0, 59.99}
    assert {f.dataset for f in files} >= {"HumanEva", "MPI_HDM05", "SFU", "MPI_mosh", "Transitions_mocap",
                                          "SSM_synced", "CMU", "KIT", "BMLmovi", "ACCAD", "HDM05", "MoSh",
                                          "Transitions", "SSM", "GRAB"}
    assert {f.gender_encoding for f in files if f.variant == "smplh_g"} == {"str", "bytes", "array1"}
    assert {f.num_betas for f in files if f.surface_model == "smplx"} == {16, 300}
    assert len({f.seq_id for f in files}) == len(files)
    cmu = [f for f in files if f.dataset == "CMU"][0]
    assert cmu.seq_id == "CMU/01/01_01" and cmu.rel_path == "CMU/01/01_01_poses.npz"
    for f in files:
        assert f.path.is_file() and f.contacts.shape == (f.num_frames, 2)
        assert (f.path.parent / "shape.npz").is_file()


def test_shape_npz_holds_betas_and_gender_only(synthetic_root):
    for f in synthetic_root.files[:5]:
        with np.load(f.path.parent / "shape.npz") as npz:
            assert sorted(npz.files) == ["betas", "gender"]
            assert npz["betas"].shape == (f.num_betas,)
            assert str(npz["gender"]) == f.gender


WIDTH = {"smplh_g": 156, "smplx_stageii": 165, "smplx_old165": 165, "smpl": 72}


def test_variant_layouts(synthetic_root):
    for f in synthetic_root.files:
        with np.load(f.path, allow_pickle=False) as npz:
            keys = set(npz.files)
            T = f.num_frames
            assert npz["trans"].shape == (T, 3)
            assert npz[f.fps_key].item() == f.fps
            g = npz["gender"]
            assert g.reshape(-1)[0] in (f.gender, f.gender.encode())
            if f.variant in WIDTH:
                assert npz["poses"].shape == (T, WIDTH[f.variant])
            else:
                assert "poses" not in keys
            if f.variant in ("smplx_stageii", "smplx_split_only"):
                assert str(npz["surface_model_type"]) == "smplx"
                split = np.concatenate([npz[k] for k in ("root_orient", "pose_body", "pose_jaw", "pose_eye",
                                                         "pose_hand")], axis=1)
                assert split.shape == (T, 165)
                if "poses" in keys:
                    np.testing.assert_array_equal(split, npz["poses"])
                with pytest.raises(ValueError):  # object arrays need pickle
                    npz["stageii_debug_details"]
                with pytest.raises(ValueError):
                    npz["latent_labels"]
            else:
                assert "surface_model_type" not in keys
            if f.variant == "smplh_g":
                assert npz["dmpls"].shape == (T, 8) and npz["betas"].shape == (16,)
                assert npz["gender"].dtype.kind == ("S" if f.gender_encoding == "bytes" else "U")
            assert str(npz["__synthetic__"]) == NOTICE
            np.testing.assert_array_equal(npz["trans"], f.arrays["trans"])
    zero_dmpls = [f for f in synthetic_root.files if f.variant == "smplh_g" and not f.arrays["dmpls"].any()]
    assert zero_dmpls


def test_archive_contacts_match_written_motion(synthetic_root):
    reg = BodyModelRegistry(synthetic_root.body_models)
    for f in synthetic_root.files[::7]:
        with np.load(f.path) as npz:
            betas = npz["betas"]
            if "poses" in npz.files:
                root, body = npz["poses"][:, :3], npz["poses"][:, 3:66]
            else:
                root, body = npz["root_orient"], npz["pose_body"]
            trans = npz["trans"]
        bm = reg.get(f.surface_model, f.gender)
        pose = np.concatenate([root, body], 1).reshape(-1, 22, 3)
        toes = forward_kinematics(pose, bm.rest_joints(betas)[:22], SKELETONS["smpl"][1][:22], trans)[:, list(TOES)]
        c = f.contacts
        assert toes[c][:, 2].max() < 0.03
        speed = np.linalg.norm(np.diff(toes, axis=0), axis=-1) * f.fps
        assert speed[c[1:] & c[:-1]].max() < 0.02


def test_body_model_files_are_labelled_and_smplx_layout(synthetic_root):
    root = synthetic_root.body_models
    for m in ("smpl", "smplh", "smplx"):
        for g in ("MALE", "FEMALE", "NEUTRAL"):
            with np.load(root / m / f"{m.upper()}_{g}.npz") as npz:
                assert str(npz["__synthetic__"]) == NOTICE
                assert npz["posedirs"].shape[-1] == (len(SKELETONS[m][0]) - 1) * 9
    assert (root / "smpl" / "SMPL_NEUTRAL.pkl").read_bytes().find(b"chumpy") >= 0
    assert sorted(p.name for p in (root / "smplh").iterdir() if p.is_dir()) == ["female", "male", "neutral"]


def test_every_gait_is_humanly_fast_from_the_first_frame(synthetic_root):
    """Root speeds stay human (a run started in flight once launched the pelvis at 45 m/s from the floor)."""
    from amass_arrow.motion.bodymodel import BodyModelRegistry
    from amass_arrow.tools.synthetic.motion import make_motion

    bm = BodyModelRegistry(synthetic_root.body_models).get("smplh", "male")
    # runs spend 30% of a cycle in flight: 40 seeds start in every phase
    cases = [("run", seed) for seed in range(40)] + [(k, seed) for k in ("walk", "turn", "jump", "stand") for seed in range(4)]
    for kind, seed in cases:
        m = make_motion(kind, bm, np.zeros(16), fps=120.0, seconds=1.0, seed=seed)
        v = np.diff(m.trans.astype(np.float64), axis=0) * 120.0
        assert np.abs(v[:, 2]).max() < 4.0, (kind, seed, np.abs(v[:, 2]).argmax())
        assert np.linalg.norm(v[:, :2], axis=1).max() < 6.0, (kind, seed)
