import os
import pickle
import shutil

import numpy as np
import pytest

from amass_arrow.errors import BodyModelError
from amass_arrow.motion.bodymodel import BodyModelRegistry, find_model_file, load_body_model
from amass_arrow.schema import SKELETONS


def test_npz_and_pkl_load_identical_arrays(synthetic_root):
    d = synthetic_root.body_models / "smpl"
    a = load_body_model(d / "SMPL_FEMALE.npz")
    b = load_body_model(d / "SMPL_FEMALE.pkl")
    assert (a.surface_model, a.gender) == (b.surface_model, b.gender) == ("smpl", "female")
    for key in ("v_template", "shapedirs", "J_regressor", "parents", "J_template", "J_shapedirs"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.parents.tolist() == SKELETONS["smpl"][1]


def test_amass_layout_model_npz_loads(tmp_path, synthetic_root):
    root = tmp_path / "bm"
    (root / "smplh" / "male").mkdir(parents=True)
    shutil.copy(synthetic_root.body_models / "smplh" / "male" / "model.npz", root / "smplh" / "male" / "model.npz")
    with np.load(root / "smplh" / "male" / "model.npz") as npz:
        assert not any(k.startswith("hands_") for k in npz.files)
    assert find_model_file(root, "smplh", "male") == root / "smplh" / "male" / "model.npz"
    bm = BodyModelRegistry(root).get("smplh", "male")
    assert (bm.surface_model, bm.gender, bm.num_joints, bm.num_shape_betas) == ("smplh", "male", 52, 16)
    ref = load_body_model(synthetic_root.body_models / "smplh" / "SMPLH_MALE.npz")
    np.testing.assert_allclose(bm.rest_joints(np.ones(16)), ref.rest_joints(np.ones(16)))


def test_neutral_fallback_and_missing_models(tmp_path, synthetic_root):
    root = tmp_path / "bm"
    (root / "smplx").mkdir(parents=True)
    shutil.copy(synthetic_root.body_models / "smplx" / "SMPLX_NEUTRAL.npz", root / "smplx")
    reg = BodyModelRegistry(root)
    bm = reg.get("smplx", "female")
    assert bm.gender == "neutral" and bm.surface_model == "smplx"
    assert reg.get("smplx", "male") is bm  # cached
    assert reg.available() == [("smplx", "neutral", root / "smplx" / "SMPLX_NEUTRAL.npz")]
    reg.check([("smplx", "male"), ("smplx", "female")])
    with pytest.raises(BodyModelError) as exc:
        reg.check([("smplh", "male"), ("smpl", "female"), ("smplx", "male")])
    msg = str(exc.value)
    assert "smplh male" in msg and "smpl female" in msg and "smplx male" not in msg
    assert str(root / "smplh" / "SMPLH_MALE.npz") in msg and str(root / "smplh" / "male" / "model.npz") in msg
    with pytest.raises(BodyModelError, match="SMPL_FEMALE.pkl"):
        reg.get("smpl", "female")


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_is_refused(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": _Evil(target)}, protocol=2))
    with pytest.raises(BodyModelError, match=r"refusing to unpickle (posix|os)\.system in .*SMPL_NEUTRAL\.pkl"):
        load_body_model(path)
    assert not target.exists()
    path.write_bytes(pickle.dumps({"x": eval}))  # builtins.eval
    with pytest.raises(BodyModelError, match="refusing to unpickle builtins.eval"):
        load_body_model(path)


def test_malformed_models_name_file_and_problem(tmp_path, synthetic_root):
    with np.load(synthetic_root.body_models / "smplh" / "SMPLH_MALE.npz") as npz:
        arrays = {k: npz[k] for k in ("v_template", "shapedirs", "J_regressor", "kintree_table")}
    bad = dict(arrays, kintree_table=arrays["kintree_table"][:, ::-1].copy())
    np.savez(tmp_path / "SMPLH_MALE.npz", **bad)
    with pytest.raises(BodyModelError, match=r"SMPLH_MALE\.npz: .*kintree_table parents"):
        load_body_model(tmp_path / "SMPLH_MALE.npz", "smplh")
    np.savez(tmp_path / "SMPLH_FEMALE.npz", v_template=arrays["v_template"])
    with pytest.raises(BodyModelError, match=r"SMPLH_FEMALE\.npz: missing array\(s\) shapedirs, J_regressor"):
        load_body_model(tmp_path / "SMPLH_FEMALE.npz")
    bad = dict(arrays, J_regressor=arrays["J_regressor"][:, :100])
    np.savez(tmp_path / "x.npz", **bad)
    with pytest.raises(BodyModelError, match=r"x\.npz: J_regressor has shape \(52, 100\)"):
        load_body_model(tmp_path / "x.npz", "smplh", "male")


def test_num_shape_betas_follows_smplx_rule(synthetic_root):
    reg = BodyModelRegistry(synthetic_root.body_models)
    assert [reg.get(m, "neutral").num_shape_betas for m in ("smpl", "smplh", "smplx")] == [10, 16, 300]
    bm = reg.get("smplx", "neutral")
    assert bm.shapedirs.shape == (10475, 3, 400)
    b = np.zeros(400)
    b[350] = 5.0  # an expression column: must not move the rest joints
    np.testing.assert_array_equal(bm.rest_joints(b), bm.J_template)


def test_betas_change_bone_lengths(synthetic_root):
    bm = BodyModelRegistry(synthetic_root.body_models).get("smplh", "male")
    rest = bm.rest_joints(np.zeros(16))
    tall = bm.rest_joints(np.r_[2.0, np.zeros(15)])
    height = lambda j: j[15, 1] - j[7, 1]  # head above ankle (model frame is Y-up)  # noqa: E731
    assert 1.35 < height(rest) < 1.65
    assert height(tall) - height(rest) > 0.08
    shin = lambda j: np.linalg.norm(j[7] - j[4])  # noqa: E731
    assert shin(bm.rest_joints(np.r_[0.0, 2.0, np.zeros(14)])) > shin(rest) + 0.03


smplx = pytest.importorskip("smplx")
torch = pytest.importorskip("torch")


def _smplx_rest_joints(model, num_betas, betas):
    out = model(betas=torch.tensor(betas[None], dtype=torch.float32), return_verts=True)
    assert out.vertices.shape[1] in (6890, 10475)  # the full forward pass ran
    return out.joints[0].detach().numpy().astype(np.float64)


@pytest.mark.parametrize("surface_model,gender,num_betas", [("smpl", "male", 10), ("smplh", "female", 16),
                                                            ("smplx", "neutral", 300)])
def test_rest_joints_match_smplx(synthetic_root, surface_model, gender, num_betas):
    root = synthetic_root.body_models
    betas = np.random.default_rng(7).normal(0.0, 1.0, num_betas)
    kw = dict(gender=gender, num_betas=num_betas, use_pca=False, flat_hand_mean=True, ext="npz")
    if surface_model == "smpl":  # smplx reads SMPL only from chumpy .pkl files: hand it the npz's arrays
        from smplx.utils import Struct

        with np.load(root / "smpl" / "SMPL_MALE.npz", allow_pickle=True) as npz:
            struct = Struct(**{k: npz[k] for k in npz.files})
        model = smplx.SMPL(model_path=str(root / "smpl"), data_struct=struct, gender=gender, num_betas=num_betas)
    elif surface_model == "smplh":  # smplx caps SMPL+H betas at 10 unless the class allows more

        class SMPLH16(smplx.SMPLH):
            SHAPE_SPACE_DIM = 16

        model = SMPLH16(model_path=str(root / "smplh"), **kw)
    else:
        model = smplx.create(model_path=str(root), model_type="smplx", **kw)
    assert model.num_betas == num_betas
    bm = BodyModelRegistry(root).get(surface_model, gender)
    ref = _smplx_rest_joints(model, num_betas, betas)[: bm.num_joints]
    np.testing.assert_allclose(bm.rest_joints(betas), ref, atol=1e-5)


def test_sole_height_equals_lowest_rest_vertex(synthetic_root):
    from amass_arrow.motion.bodymodel import BodyModelRegistry

    reg = BodyModelRegistry(synthetic_root.body_models)
    rng = np.random.default_rng(3)
    for model in ("smpl", "smplh", "smplx"):
        bm = reg.get(model, "neutral")
        betas = rng.normal(size=bm.num_shape_betas + 4)  # extra betas beyond the shape space are ignored
        expected = float(bm.rest_vertices(betas)[:, 1].min())
        assert bm.sole_height(betas) == expected
        assert bm.sole_height(betas) == expected  # cached
        assert bm.sole_height(betas * 0) == float(bm.v_template[:, 1].min())


@pytest.mark.parametrize("surface_model", ["smpl", "smplh", "smplx"])
def test_rest_model_gives_the_models_numbers_bit_for_bit(tmp_path, synthetic_root, surface_model):
    """What a 2+ worker build hands its workers (BodyModel.save_rest -> RestModel) poses exactly as the model file."""
    from amass_arrow.motion.bodymodel import RestModel

    reg = BodyModelRegistry(synthetic_root.body_models)
    full = reg.get(surface_model, "female")
    rest = RestModel.load(full.save_rest(tmp_path / "m.npz"))
    assert (rest.surface_model, rest.gender, rest.path, rest.num_shape_betas) == \
        (full.surface_model, full.gender, full.path, full.num_shape_betas)
    np.testing.assert_array_equal(rest.parents, full.parents)
    rng = np.random.default_rng(3)
    for n in (10, 16, full.num_shape_betas + 5):
        betas = rng.normal(size=n)
        np.testing.assert_array_equal(rest.rest_joints(betas), full.rest_joints(betas))
        assert rest.sole_height(betas) == full.sole_height(betas)
    served = BodyModelRegistry(synthetic_root.body_models)
    served.use_rest({f"{surface_model}/female": str(tmp_path / "m.npz")})
    assert isinstance(served.get(surface_model, "female"), RestModel)
    assert not isinstance(served.get(surface_model, "male"), RestModel)  # only what it was given
