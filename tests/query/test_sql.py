"""amass_arrow.query.sql: views, partition pruning, hive keys as strings, polars scan, query CLI."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

import amass_arrow
from amass_arrow.cli import main
from amass_arrow.errors import SQLError
from amass_arrow.query.sql import connect, query, run_sql
from amass_arrow.store.reader import Store


def test_views_types_and_info(demo_store):
    con = connect(demo_store)
    types = dict((r[0], r[1]) for r in con.sql("DESCRIBE frames").fetchall())
    J = Store(demo_store).info.num_joints
    assert types["dataset"] == "VARCHAR" and types["subject"] == "VARCHAR"
    assert types["root_orient"] == "FLOAT[3]" and types["pose_body"] == "FLOAT[63]"
    assert types["pose_hand"] == "FLOAT[90]" and types["trans"] == "FLOAT[3]"
    assert types["joints"] == f"FLOAT[{3 * J}]"
    (bid, nj), = con.sql("SELECT build_id, num_joints FROM info").fetchall()
    assert bid == Store(demo_store).info.build_id and nj == J
    n_seq = con.sql("SELECT count(*) FROM sequences").fetchall()[0][0]
    assert n_seq == Store(demo_store).info.num_sequences
    assert con.sql("SELECT count(*) FROM rejects").fetchall()[0][0] == Store(demo_store).info.num_rejects


def test_lazy_exports():
    assert amass_arrow.connect is connect and callable(amass_arrow.scan)


def test_partition_pruning_through_view(demo_store):
    con = connect(demo_store)
    total = len(Store(demo_store).frame_files())
    sfu = len(list((Store(demo_store).root / "frames" / "dataset=SFU").rglob("*.parquet")))
    plan = "\n".join(r[1] for r in con.sql("EXPLAIN ANALYZE SELECT count(*) FROM frames WHERE dataset = 'SFU'").fetchall())
    assert f"Scanning Files: {sfu}/{total}" in plan, plan
    assert 0 < sfu < total


def test_raw_hive_counts_match_sequences(demo_store):
    root = Store(demo_store).root
    con = duckdb.connect()
    raw = dict(((d, s), n) for d, s, n in con.sql(
        f"SELECT dataset, subject, count(*) FROM read_parquet('{root}/frames/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'dataset': VARCHAR, 'subject': VARCHAR}) GROUP BY ALL").fetchall())
    seqs = dict(((d, s), n) for d, s, n in con.sql(
        f"SELECT dataset, subject, sum(num_frames) FROM read_parquet('{root}/sequences.parquet') GROUP BY ALL").fetchall())
    assert raw == seqs
    assert ("CMU", "01") in raw  # the string '01', not the integer 1
    t = query(demo_store, "SELECT DISTINCT subject FROM frames WHERE dataset = $d AND subject = $s", {"d": "CMU", "s": "01"})
    assert t["subject"].to_pylist() == ["01"]


def test_scan_polars(demo_store):
    lf = amass_arrow.scan(demo_store)
    J = Store(demo_store).info.num_joints
    schema = lf["frames"].collect_schema()
    assert schema["subject"] == pl.String and schema["joints"] == pl.Array(pl.Float32, 3 * J)
    got = lf["frames"].filter(pl.col("dataset") == "CMU", pl.col("subject") == "01").select(pl.len()).collect().item()
    want = lf["sequences"].filter(pl.col("dataset") == "CMU", pl.col("subject") == "01").select(pl.col("num_frames").sum()).collect().item()
    assert got == want > 0
    assert "dataset=CMU/subject=01" in lf["frames"].filter(pl.col("dataset") == "CMU", pl.col("subject") == "01").explain()


def test_sql_error_names_file_and_line(demo_store, tmp_path):
    con = connect(demo_store)
    f = tmp_path / "bad.sql"
    f.write_text("-- header\nSET VARIABLE x = 1;\n\nSELECT seq_id,\n       no_such_column\nFROM sequences;\n")
    with pytest.raises(SQLError, match=r"bad\.sql:5: .*no_such_column"):
        from amass_arrow.query.sql import run_sql_file

        run_sql_file(con, f)
    with pytest.raises(SQLError, match=r"<sql>:1: Parser Error"):
        run_sql(con, "SELEC 1")


def test_query_cli_binds_params(demo_store, tmp_path, capsys):
    assert main(["query", str(demo_store), "SELECT seq_id, subject, joints FROM frames WHERE subject = $s AND frame < $n::INT ORDER BY ALL",
                 "--param", "s=01", "--param", "n=2"]) == 0
    out = capsys.readouterr().out
    assert "CMU/01/" in out and "…" in out and out.strip().endswith("rows)")
    # a value that would break pasted SQL is just a string when bound
    assert main(["query", str(demo_store), "SELECT count(*) AS n FROM sequences WHERE seq_id = ?", "--param", "x' OR '1'='1",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"n": 0}
    out_csv = tmp_path / "s.csv"
    assert main(["query", str(demo_store), "SELECT seq_id, betas FROM sequences ORDER BY seq_id LIMIT 2", "--format", "csv", "-o", str(out_csv)]) == 0
    lines = out_csv.read_text().splitlines()
    assert lines[0] == '"seq_id","betas"' and len(lines) == 3
    pq_out = tmp_path / "s.parquet"
    assert main(["query", str(demo_store), "SELECT * FROM sequences", "--format", "parquet", "-o", str(pq_out)]) == 0
    import pyarrow.parquet as pq

    assert pq.read_table(pq_out).num_rows == Store(demo_store).info.num_sequences
    assert main(["query", str(demo_store), "SELECT nope FROM frames"]) == 2
    assert "nope" in capsys.readouterr().err
