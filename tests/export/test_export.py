"""build-splits end to end: HF DatasetDict row counts and bitwise values, torch tensors, stats."""

from __future__ import annotations

import json
import re

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401
import pytest
import torch

from amass_arrow.cli import main
from amass_arrow.export.stats import RunningStats
from amass_arrow.query.sql import connect


@pytest.fixture(scope="module")
def built(demo_store, tmp_path_factory):
    """`amass-arrow build-splits` run once for the module: (out folder, what it printed)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("splits")
    cfg = out / "splits.yaml"
    cfg.write_text(
        "definitions:\n  - {name: official, sql: sql/splits/amass_official.sql}\n"
        "exports:\n  - {kind: hf, unit: frame}\n  - {kind: hf, unit: slice}\n"
        "  - {kind: hf, unit: window, window: 30, stride: 15}\n  - {kind: torch, unit: frame}\n"
        "  - {kind: torch, unit: window, window: 30, stride: 15, name: torch_win}\n")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["build-splits", str(demo_store), "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    return out, buf.getvalue()


def test_build_splits_hf_matches_duckdb(demo_store, built):
    out, printed = built
    assert "split definition 'official'" in printed
    hf_path = re.search(r"^output official hf_frame: (.+)$", printed, re.M).group(1)
    dd = datasets.load_from_disk(hf_path)
    con = connect(demo_store)
    sql = open("sql/splits/amass_official.sql").read()
    counts = dict(con.sql(f"SELECT o.split, sum(s.num_frames) FROM ({sql}) AS o JOIN sequences s USING (seq_id) GROUP BY ALL").fetchall())
    assert {k: dd[k].num_rows for k in dd} == counts
    # bitwise equal to the store's float32 values
    v = dd["validation"]
    sid = v[0]["seq_id"]
    store = con.sql("SELECT frame, joints, pose_body, trans FROM frames WHERE seq_id = $s ORDER BY frame", params={"s": sid}).to_arrow_table()
    full = v.with_format("arrow")[:]
    tbl = full.filter(pa.compute.equal(full["seq_id"], sid))
    assert tbl["frame"].to_pylist() == store["frame"].to_pylist()
    for c in ("joints", "pose_body", "trans"):
        a = tbl[c].combine_chunks().flatten().to_numpy()
        b = store[c].combine_chunks().flatten().to_numpy()
        assert a.dtype == np.float32 and a.tobytes() == b.tobytes()
    t = dd["train"].with_format("torch")[:4]
    J3 = len(json.loads(dd["train"].info.description)["joint_names"]) * 3
    assert t["joints"].shape == (4, J3) and t["joints"].dtype == torch.float32 and t["contacts"].dtype == torch.bool
    prov = json.loads(dd["train"].info.description)
    assert prov["build_id"] and "canonical_dataset" in prov["sql"]["sql/splits/amass_official.sql"] and prov["fps"] == 30.0


def test_slice_and_window_units(demo_store, built):
    out, _ = built
    con = connect(demo_store)
    sl = datasets.load_from_disk(str(out / "official" / "hf_slice"))
    n_val = con.sql("SELECT count(*) FROM sequences WHERE canonical_dataset IN ('HumanEva','MPI_HDM05','SFU','MPI_mosh')").fetchall()[0][0]
    assert sl["validation"].num_rows == n_val
    row = sl["validation"].with_format("torch")[0]
    nf = con.sql("SELECT num_frames FROM sequences WHERE seq_id = $s", params={"s": row["seq_id"]}).fetchall()[0][0]
    assert row["joints"].shape[0] == nf == int(row["num_frames"]) and row["pose_body"].shape == (nf, 63)
    win = datasets.load_from_disk(str(out / "official" / "hf_window"))
    lens = con.sql("SELECT num_frames FROM sequences WHERE canonical_dataset NOT IN "
                   "('HumanEva','MPI_HDM05','SFU','MPI_mosh','Transitions_mocap','SSM_synced')").fetchall()
    assert win["train"].num_rows == sum(max(0, (n - 30) // 15 + 1) for (n,) in lens)
    w = win["train"].with_format("torch")[0]
    assert w["joints"].shape[0] == 30
    # window 0 of its sequence equals the first 30 frames, bitwise
    sid, start = w["seq_id"], int(w["start_frame"])
    ref = con.sql("SELECT joints FROM frames WHERE seq_id = $s AND frame >= $a AND frame < $b ORDER BY frame",
                  params={"s": sid, "a": start, "b": start + 30}).to_arrow_table()
    assert w["joints"].numpy().tobytes() == ref["joints"].combine_chunks().flatten().to_numpy().tobytes()


def test_torch_and_stats(demo_store, built):
    out, _ = built
    d = torch.load(out / "official" / "torch_frame" / "train.pt", mmap=True)
    con = connect(demo_store)
    train = con.sql("SELECT seq_id, betas, num_frames FROM sequences WHERE canonical_dataset NOT IN "
                    "('HumanEva','MPI_HDM05','SFU','MPI_mosh','Transitions_mocap','SSM_synced') ORDER BY seq_id").fetchall()
    assert d["seq_ids"] == [r[0] for r in train]
    assert d["joints"].shape[0] == sum(r[2] for r in train) == d["seq_index"].shape[0]
    k = 3
    assert torch.equal(d["betas"][k, : len(train[k][1])], torch.tensor(train[k][1], dtype=torch.float32))
    assert int((d["seq_index"] == k).sum()) == train[k][2]
    assert torch.equal(d["rows"][d["row_index"], 0], d["seq_index"])  # row -> sequence agrees with frame -> sequence
    ref = con.sql("SELECT joints FROM frames WHERE seq_id = $s ORDER BY frame", params={"s": train[k][0]}).to_arrow_table()
    assert d["joints"][d["seq_index"] == k].numpy().tobytes() == ref["joints"].combine_chunks().flatten().to_numpy().tobytes()
    w = torch.load(out / "official" / "torch_win" / "train.pt", mmap=True)
    assert w["joints"].ndim == 3 and w["joints"].shape[1] == 30
    stats = json.loads((out / "official" / "torch_frame" / "stats.json").read_text())
    j = d["joints"].double().numpy()
    np.testing.assert_allclose(stats["features"]["joints"]["mean"], j.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats["features"]["joints"]["std"], j.std(0), rtol=1e-9, atol=1e-12)
    assert stats["features"]["joints"]["count"] == j.shape[0] and "contacts" not in stats["features"]


def test_running_stats_merge_equals_whole():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 5)) * 3 + 7
    parts = [RunningStats.of(x[a:b]) for a, b in [(0, 1), (1, 300), (300, 301), (301, 1000)]]
    m = parts[0]
    for p in parts[1:]:
        m = m.merge(p)
    np.testing.assert_allclose(m.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(m.std, x.std(0), rtol=1e-12)


def test_export_command_and_leak_fails_before_writing(demo_store, tmp_path, capsys):
    assert main(["export", str(demo_store), "--sql", "sql/splits/random_sequences.sql", "--param", "seed=3",
                 "--kind", "torch", "--columns", "trans", "joints", "--out", str(tmp_path / "e"), "--quiet"]) == 0
    assert (tmp_path / "e" / "random_sequences" / "torch_frame" / "train.pt").is_file()
    leak = tmp_path / "leak.sql"
    leak.write_text("SELECT seq_id, 'train' AS split FROM sequences UNION ALL SELECT seq_id, 'test' FROM sequences WHERE dataset = 'SFU'")
    assert main(["export", str(demo_store), "--sql", str(leak), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "leakage" in err and "SFU/" in err
    assert not (tmp_path / "x").exists()
