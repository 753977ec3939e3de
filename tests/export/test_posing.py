"""export/posing.py: the body models an exporter re-poses with are found beside the store's, and of exactly the gender
asked for (their rules name a gender: RIB's male SMPL+H, the 272-dim's neutral SMPL-X)."""

from __future__ import annotations

import shutil

import pytest

from amass_arrow.errors import ConfigError
from amass_arrow.export.posing import Models
from amass_arrow.store.reader import Store


@pytest.fixture(scope="module")
def smplh_only_store(synthetic_root, tmp_path_factory):
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    out = tmp_path_factory.mktemp("posing") / "store"
    build(load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(out), workers=1, datasets=["CMU"]), progress=False)
    return out


def test_a_model_the_store_did_not_use_is_found_beside_its_models(synthetic_root, smplh_only_store):
    store = Store(smplh_only_store)
    assert "smplx/neutral" not in store.info.body_models  # CMU takes are SMPL+H
    models = Models(store, "", "test")
    assert models.path("smplx", "neutral").name == "SMPLX_NEUTRAL.npz"
    assert models.get("smplx", "neutral").gender == "neutral"


def test_the_gender_asked_for_or_a_clear_error(synthetic_root, smplh_only_store, tmp_path):
    (tmp_path / "smplh").mkdir()
    shutil.copy(synthetic_root.body_models / "smplh" / "SMPLH_NEUTRAL.npz", tmp_path / "smplh")
    models = Models(Store(smplh_only_store), str(tmp_path), "rib")
    assert models.get("smplh", "neutral").gender == "neutral"
    with pytest.raises(ConfigError, match=r"rib: needs the smplh/male body model; none found under .*--body-models"):
        models.get("smplh", "male")  # never the neutral model in its place
