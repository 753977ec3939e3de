"""The Hub-ready Parquet dataset (export/hub.py): load_dataset reads every split back, streaming too, with the
split rows' counts and the frames' (T, F) arrays; shards stay under the size limit; the card declares it all."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from amass_arrow.cli import main
from amass_arrow.query.sql import connect

datasets = pytest.importorskip("datasets")

SQL = "sql/splits/amass_official.sql"


@pytest.fixture(scope="module")
def hub_folder(demo_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    assert main(["export", str(demo_store), "--sql", SQL, "--kind", "hub", "--columns", "joints", "trans",
                 "--shard-mb", "0.1", "--out", str(out), "--quiet"]) == 0
    return out / "amass_official" / "hub"


def _expected(demo_store, folder):
    """split -> {seq_id: (T, 66) joints, read straight from the store}, the split rows the export wrote."""
    rows = pq.read_table(folder.parent / "split_rows.parquet").to_pylist()
    con = connect(demo_store)
    out: dict[str, dict[str, np.ndarray]] = {"train": {}, "validation": {}, "test": {}}
    for r in rows:
        j = con.execute("SELECT joints FROM frames WHERE seq_id = ? AND frame >= ? AND frame < ? ORDER BY frame",
                        [r["seq_id"], r["start_frame"], r["end_frame"]]).fetchall()
        out[r["split"]][r["seq_id"]] = np.array([x[0] for x in j], np.float32)
    return out


def test_load_dataset_gives_every_split_with_counts_and_arrays(demo_store, hub_folder):
    expected = _expected(demo_store, hub_folder)
    dd = datasets.load_dataset(str(hub_folder))
    assert set(dd) == {"train", "validation", "test"}
    for split, seqs in expected.items():
        d = dd[split].with_format("numpy")
        assert len(d) == len(seqs) > 0
        for row in d:
            want = seqs[row["seq_id"]]
            assert row["joints"].shape == want.shape and row["trans"].shape == (len(want), 3)
            np.testing.assert_array_equal(row["joints"], want)
            assert row["num_frames"] == len(want) and row["fps"] == 30.0
            assert row["end_t"] - row["start_t"] == pytest.approx(len(want) / 30.0)
            assert row["dataset"] == row["seq_id"].split("/")[0]


def test_load_dataset_streams_it(hub_folder):
    it = datasets.load_dataset(str(hub_folder), split="validation", streaming=True)
    first = next(iter(it))
    assert np.asarray(first["joints"], np.float32).shape == (first["num_frames"], 66)


def test_shards_and_card(demo_store, hub_folder):
    card = (hub_folder / "README.md").read_text()
    head = yaml.safe_load(card.split("---\n")[1])
    files = {c["split"]: c["path"] for c in head["configs"][0]["data_files"]}
    assert files == {s: f"data/{s}-*.parquet" for s in ("train", "validation", "test")}
    assert {f["name"] for f in head["dataset_info"]["features"]} >= {"seq_id", "start_t", "end_t", "fps", "joints"}
    assert "redistribution" in card and '"build_id"' in card and "amass_official.sql" in card
    shards = sorted((hub_folder / "data").glob("train-*.parquet"))
    assert len(shards) >= 2  # 0.1 MB shards: the train split's 1800 frames of joints and trans (0.5 MB) need several
    for p in shards:
        t = pq.read_table(p)
        assert t.schema.field("joints").type.storage_type.value_type.value_type == "float" and b"huggingface" in t.schema.metadata
        per_clip = [len(j) * 69 * 4 for j in t["joints"].to_pylist()]
        assert sum(per_clip) <= 100_000 or len(per_clip) == 1  # at most the limit, or one clip bigger than it


def test_an_empty_split_is_left_out_and_named(demo_store, tmp_path):
    sql = tmp_path / "cmu.sql"
    sql.write_text("SELECT seq_id, 'train' AS split FROM sequences WHERE dataset = 'CMU'")
    assert main(["export", str(demo_store), "--sql", str(sql), "--kind", "hub", "--columns", "joints",
                 "--out", str(tmp_path), "--quiet"]) == 0
    dd = datasets.load_dataset(str(tmp_path / "cmu" / "hub"))
    assert {k: len(v) for k, v in dd.items()} == {"train": 4}  # datasets cannot load a split of 0 rows
    assert "left out (`datasets` cannot load a split of 0 rows): validation, test" in (tmp_path / "cmu" / "hub" / "README.md").read_text()
