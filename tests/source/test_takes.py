"""One take stored twice (SMPL+H folder MPI_HDM05 and SMPL-X folder HDM05): splits treat it as one motion."""

from __future__ import annotations

import shutil

import pytest

from amass_arrow.errors import SplitError
from amass_arrow.query.splits import Definition, materialize
from amass_arrow.query.sql import connect

TAKE_NAME = "HDM_bk_01-01_01_120"


@pytest.fixture(scope="module")
def twice_store(synthetic_root, tmp_path_factory):
    """A store of MPI_HDM05/bk/<take>_poses.npz, the same file under the SMPL-X folder name HDM05, and CMU/01."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    src = synthetic_root.amass_root
    root = tmp_path_factory.mktemp("twice") / "amass"
    (root / "MPI_HDM05" / "bk").mkdir(parents=True)
    (root / "HDM05" / "bk").mkdir(parents=True)
    shutil.copy2(src / "MPI_HDM05" / "bk" / f"{TAKE_NAME}_poses.npz", root / "MPI_HDM05" / "bk" / f"{TAKE_NAME}_poses.npz")
    shutil.copy2(src / "MPI_HDM05" / "bk" / f"{TAKE_NAME}_poses.npz", root / "HDM05" / "bk" / f"{TAKE_NAME}_poses.npz")
    shutil.copytree(src / "CMU" / "01", root / "CMU" / "01")
    out = root.parent / "store"
    cfg = load_build_config(None, amass_root=str(root), body_models=str(synthetic_root.body_models), out=str(out), workers=1)
    build(cfg, progress=False)
    return out


@pytest.fixture(scope="module")
def con(twice_store):
    return connect(twice_store)


def test_take_is_canonical_dataset_subject_name(con):
    got = dict(con.sql("SELECT seq_id, take FROM sequences WHERE name = ?", params=[TAKE_NAME]).fetchall())
    assert got == {f"MPI_HDM05/bk/{TAKE_NAME}": f"MPI_HDM05/bk/{TAKE_NAME}", f"HDM05/bk/{TAKE_NAME}": f"MPI_HDM05/bk/{TAKE_NAME}"}


def test_two_copies_of_a_take_in_two_splits_is_leakage(con, tmp_path):
    f = tmp_path / "copies.sql"
    f.write_text("SELECT seq_id, CASE WHEN dataset = 'HDM05' THEN 'test' ELSE 'train' END AS split FROM sequences")
    with pytest.raises(SplitError, match=rf"leakage.*take MPI_HDM05/bk/{TAKE_NAME}: HDM05/bk/{TAKE_NAME} in test"):
        materialize(con, Definition(name="copies", sql=str(f)))
    # disjoint time ranges of the two copies are not leakage: HDM05's copy [0, 1) s, MPI_HDM05's [1, end)
    ok = tmp_path / "disjoint.sql"
    ok.write_text("SELECT seq_id, CASE WHEN dataset = 'HDM05' THEN 'test' ELSE 'train' END AS split, "
                  "CASE WHEN dataset = 'HDM05' THEN 0.0 ELSE 1.0 END AS start_t, "
                  "CASE WHEN dataset = 'HDM05' THEN 1.0 ELSE NULL END AS end_t FROM sequences")
    rows = materialize(con, Definition(name="disjoint", sql=str(ok))).rows
    assert rows.num_rows == con.sql("SELECT count(*) FROM sequences").fetchall()[0][0]


@pytest.mark.filterwarnings("ignore::amass_arrow.query.splits.SplitWarning")  # 3 sequences: a split may be empty
@pytest.mark.parametrize("seed", range(8))
def test_random_split_keeps_a_take_together(con, seed):
    t = materialize(con, Definition(name="random", sql="sql/splits/random_sequences.sql",
                                    params={"seed": seed, "val_fraction": 0.3, "test_fraction": 0.3})).rows
    split = dict(zip(t["seq_id"].to_pylist(), t["split"].to_pylist()))
    assert split[f"HDM05/bk/{TAKE_NAME}"] == split[f"MPI_HDM05/bk/{TAKE_NAME}"]
