"""Shipped split/slice SQL, leakage and column checks, reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from amass_arrow.errors import SplitError, SQLError
from amass_arrow.export.splits import load_splits_config
from amass_arrow.query.splits import Definition, SplitWarning, materialize, report
from amass_arrow.query.sql import connect

REPO = Path(__file__).resolve().parents[2]
SPLIT_FILES = sorted((REPO / "sql" / "splits").glob("*.sql"))
SLICE_FILES = sorted((REPO / "sql" / "slices").glob("*.sql"))


@pytest.fixture(scope="module")
def con(demo_store):
    return connect(demo_store)


def _members(table) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s, q in zip(table["seq_id"].to_pylist(), table["split"].to_pylist()):
        out.setdefault(q, set()).add(s)
    return out


def test_shipped_files_exist():
    assert {p.name for p in SPLIT_FILES} >= {"amass_official.sql", "random_sequences.sql", "cross_subject.sql"}
    assert {p.name for p in SLICE_FILES} >= {"trim_heads.sql", "min_duration.sql", "windows.sql"}


@pytest.mark.parametrize("path", SPLIT_FILES, ids=lambda p: p.name)
def test_every_split_file_runs(con, path):
    t = materialize(con, Definition(name=path.stem, sql=str(path)))
    assert {"seq_id", "split", "start_frame", "end_frame"} <= set(t.rows.column_names)
    n_seq = con.sql("SELECT count(*) FROM sequences").fetchall()[0][0]
    assert t.rows.num_rows == n_seq  # one row per sequence, each in exactly one split
    assert set(t.rows["split"].to_pylist()) <= {"train", "validation", "test"}


def test_official_membership_and_aliases(con):
    m = _members(materialize(con, Definition(sql=str(REPO / "sql/splits/amass_official.sql"))).rows)
    ids = con.sql("SELECT dataset, seq_id FROM sequences").fetchall()
    by_ds: dict[str, set[str]] = {}
    for d, s in ids:
        by_ds.setdefault(d, set()).add(s)
    assert by_ds["SFU"] <= m["validation"]
    assert by_ds["HDM05"] <= m["validation"]  # SMPL-X folder name of MPI_HDM05
    assert by_ds["MoSh"] <= m["validation"] and by_ds["MPI_mosh"] <= m["validation"]
    assert by_ds["Transitions"] <= m["test"] and by_ds["SSM_synced"] <= m["test"]
    assert by_ds["CMU"] <= m["train"] and by_ds["DanceDB"] <= m["train"] and by_ds["GRAB"] <= m["train"]


def test_random_split_is_seeded_md5(con):
    a = materialize(con, Definition(sql="sql/splits/random_sequences.sql", params={"seed": 7, "val_fraction": 0.3, "test_fraction": 0.3}))
    b = materialize(con, Definition(sql="sql/splits/random_sequences.sql", params={"seed": 7, "val_fraction": 0.3, "test_fraction": 0.3}))
    assert a.rows.select(["seq_id", "split"]).equals(b.rows.select(["seq_id", "split"]))
    # recompute every assignment by hand: u = first 32 bits of md5('7:<take>') / 2^32, where the take is
    # '<canonical_dataset>/<subject>/<name>' (the seq_id itself for SMPL+H folder names)
    import hashlib

    take = {sid: f"{d}/{s}/{n}" for sid, d, s, n in con.sql("SELECT seq_id, canonical_dataset, subject, name FROM sequences").fetchall()}
    assert take["CMU/01/01_01"] == "CMU/01/01_01"
    assert any(take[sid] != sid for sid in take)  # HDM05/dg/... -> MPI_HDM05/dg/...
    for sid, split in zip(a.rows["seq_id"].to_pylist(), a.rows["split"].to_pylist()):
        u = int(hashlib.md5(f"7:{take[sid]}".encode()).hexdigest()[:8], 16) / 2**32
        assert split == ("validation" if u < 0.3 else "test" if u < 0.6 else "train")
    # params do not leak into the next definition: defaults (0.1/0.1) give mostly train
    c = materialize(con, Definition(sql="sql/splits/random_sequences.sql"))
    assert c.rows["split"].to_pylist().count("train") > a.rows["split"].to_pylist().count("train")


def test_cross_subject_keeps_subjects_whole(con):
    t = materialize(con, Definition(sql="sql/splits/cross_subject.sql", params={"val_fraction": 0.3, "test_fraction": 0.3}))
    seen: dict[tuple, set] = {}
    for d, s, q in zip(t.rows["canonical_dataset"].to_pylist(), t.rows["subject"].to_pylist(), t.rows["split"].to_pylist()):
        seen.setdefault((d, s), set()).add(q)
    assert all(len(v) == 1 for v in seen.values())
    assert len({next(iter(v)) for v in seen.values()}) == 3


def test_slices(con):
    base = Definition(sql="sql/splits/amass_official.sql")
    whole = materialize(con, base).rows
    trimmed = materialize(con, Definition(sql=base.sql, slices=["sql/slices/trim_heads.sql"])).rows
    fps = dict(con.sql("SELECT seq_id, store_fps FROM sequences").fetchall())
    heads = {r["seq_id"]: r["start_t"] for r in trimmed.to_pylist()}
    tc = [s for s in heads if s.startswith("TotalCapture/")]
    assert tc and all(heads[s] == 1.0 for s in tc)
    assert all(heads[s] == 0.0 for s in heads if s.startswith("CMU/"))
    assert all(r["start_frame"] == round(heads[r["seq_id"]] * fps[r["seq_id"]]) for r in trimmed.to_pylist())
    long = materialize(con, Definition(sql=base.sql, slices=["sql/slices/min_duration.sql"], params={"min_seconds": 4.0})).rows
    assert 0 < long.num_rows < whole.num_rows
    assert all((r["end_frame"] - r["start_frame"]) / r["store_fps"] >= 4.0 for r in long.to_pylist())
    win = materialize(con, Definition(sql=base.sql, slices=["sql/slices/windows.sql"])).rows
    assert win.num_rows > whole.num_rows
    assert {r["end_frame"] - r["start_frame"] for r in win.to_pylist()} == {60}  # 2 s at 30 fps
    assert set(win.column_names) >= {"start_t", "end_t", "weight"}


def test_leak_names_sequence(con, tmp_path):
    leak = tmp_path / "leaky.sql"
    leak.write_text("SELECT seq_id, 'train' AS split FROM sequences\nUNION ALL\n"
                    "SELECT seq_id, 'test' AS split FROM sequences WHERE dataset = 'SFU'\n")
    sfu = sorted(r[0] for r in con.sql("SELECT seq_id FROM sequences WHERE dataset = 'SFU'").fetchall())
    with pytest.raises(SplitError, match=rf"{sfu[0]} in test .* and train"):
        materialize(con, Definition(name="leaky", sql=str(leak)))


def test_overlapping_time_ranges_leak_but_disjoint_do_not(con, tmp_path):
    ok = tmp_path / "time.sql"
    ok.write_text("SELECT seq_id, 'train' AS split, 0.0 AS start_t, 1.0 AS end_t FROM sequences\nUNION ALL\n"
                  "SELECT seq_id, 'test', 1.0, NULL FROM sequences")
    t = materialize(con, Definition(sql=str(ok)))
    assert set(t.rows["split"].to_pylist()) == {"train", "test"}
    bad = tmp_path / "overlap.sql"
    bad.write_text("SELECT seq_id, 'train' AS split, 0.0 AS start_t, 1.5 AS end_t FROM sequences\nUNION ALL\n"
                   "SELECT seq_id, 'test', 1.0, NULL FROM sequences")
    with pytest.raises(SplitError, match=r"leakage.* in test \(frames 30-.*\) and train \(frames 0-45\)"):
        materialize(con, Definition(sql=str(bad)))


def test_bad_rows_and_sql_errors(con, tmp_path):
    f = tmp_path / "cols.sql"
    f.write_text("SELECT seq_id FROM sequences")
    with pytest.raises(SplitError, match="missing split"):
        materialize(con, Definition(sql=str(f)))
    f.write_text("SELECT 'nope/1/x' AS seq_id, 'train' AS split")
    with pytest.raises(SplitError, match="nope/1/x"):
        materialize(con, Definition(sql=str(f)))
    f.write_text("-- a comment\nSELECT seq_id,\n  CASE WHEN bogus THEN 'a' END AS split\nFROM sequences")
    with pytest.raises(SQLError, match=r"cols\.sql:3: .*bogus"):
        materialize(con, Definition(sql=str(f)))


def test_empty_split_warns_and_report(con, tmp_path):
    f = tmp_path / "only_train.sql"
    f.write_text("SELECT seq_id, 'train' AS split FROM sequences")
    with pytest.warns(SplitWarning, match="'validation' is empty"):
        t = materialize(con, Definition(name="only", sql=str(f)))
    rep = report(t)
    frames, n = con.sql("SELECT sum(num_frames), count(*) FROM sequences").fetchall()[0]
    assert list(rep) == ["train"] and rep["train"]["frames"] == frames and rep["train"]["sequences"] == n
    assert sum(d["frames"] for d in rep["train"]["datasets"].values()) == frames
    assert rep["train"]["hours"] == pytest.approx(frames / 30.0 / 3600)


def test_config_loads_and_rejects_unknown(tmp_path):
    cfg = load_splits_config(REPO / "configs" / "splits.yaml")
    assert [d.name for d in cfg.definitions][:1] == ["official"] and cfg.exports
    bad = tmp_path / "s.yaml"
    bad.write_text("definitions: [{name: a, sql: x.sql, colour: red}]\n")
    from amass_arrow.errors import ConfigError

    with pytest.raises(ConfigError, match="colour"):
        load_splits_config(bad)
