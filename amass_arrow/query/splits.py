"""Split definitions (`sql/splits/*.sql`, optional `sql/slices/*.sql` on top) -> checked split tables.

A split file yields `(seq_id, split[, start_t, end_t, weight])`; a slice file reads the previous
rows from the view `split_rows` and yields the same columns. `materialize` runs them, normalizes
rows to frame ranges (half-open `[start_frame, end_frame)` at the store fps) and checks them before
anything is written: unknown sequences, bad columns, and leakage (overlapping frames of one take in
two splits; a take is canonical dataset/subject/name, so the SMPL+H and SMPL-X copies of a motion
are one take, see schema.TAKE_SQL) raise `SplitError`; an empty train/validation/test split warns.

The splits config (`configs/splits.yaml`: definitions x exporters) and `build-splits` live in
`export/splits.py`, above the exporters they run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from amass_arrow import schema
from amass_arrow.errors import SplitError
from amass_arrow.resources import find
from amass_arrow.schema import SPL

SPLITS = ("train", "validation", "test")


#: optional string columns a split/slice may yield; slice and window exports carry them per row
TEXT_COLUMNS = (SPL.text, SPL.label)


class SplitWarning(UserWarning):
    """A split definition produced something suspicious (e.g. an empty split)."""


@dataclass
class Definition:
    """One split definition: a split SQL file, slice files applied in order, and their variables."""

    name: str = "official"
    sql: str = "sql/splits/amass_official.sql"
    slices: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def resolve_sql_path(path: str | Path, base: Path | None = None) -> Path:
    """An absolute path, else relative to the cwd, then `base` (the config's folder and its parent), then the shipped files."""
    return find(path, [base, base.parent] if base else [], what="SQL file")


@dataclass
class SplitTable:
    """Checked rows of one definition: a pa.Table with the split-row columns (schema.SPL), plus provenance."""

    name: str
    rows: pa.Table
    sql: dict[str, str]  # file -> text, in the order run
    params: dict[str, Any]

    def text_columns(self) -> list[str]:
        """The optional text columns that hold at least one value."""
        return [c for c in TEXT_COLUMNS if c in self.rows.column_names and self.rows[c].null_count < self.rows.num_rows]

    def split_names(self) -> list[str]:
        """train, validation and test, empty or not (exporters write empty splits with their features, so
        `dd["test"]` exists), then any other split the definition yields."""
        names = set(self.rows[SPL.split].to_pylist())
        return list(SPLITS) + sorted(names - set(SPLITS))


_NORMALIZE = """
SELECT
    row_number() OVER (ORDER BY r.split, r.seq_id, r.start_t, r.end_t) - 1 AS row_id,
    r.seq_id, r.split, r.start_t, r.end_t, r.weight, r.text, r.label,
    s.dataset, s.canonical_dataset, s.subject, s.take, s.store_fps,
    least(s.num_frames, greatest(0, ceil(r.start_t * s.store_fps - 1e-6)))::BIGINT AS start_frame,
    least(s.num_frames, coalesce(ceil(r.end_t * s.store_fps - 1e-6), s.num_frames))::BIGINT AS end_frame,
    s.seq_id IS NULL AS unknown
FROM split_rows AS r LEFT JOIN sequences AS s USING (seq_id)
"""


def _load_rows(con, rel, where: str) -> None:
    """Replace temp table `split_rows` with `rel`'s rows, columns normalized (start_t 0, end_t NULL, weight 1)."""
    if rel is None:
        raise SplitError(f"{where}: the last statement must be a SELECT yielding seq_id, split")
    cols = [c.lower() for c in rel.columns]
    missing = [c for c in (SPL.seq_id, SPL.split) if c not in cols]
    extra = [c for c in cols if c not in schema.SPLIT_INPUT]
    if missing or extra:
        raise SplitError(
            f"{where}: a split/slice must yield (seq_id, split[, start_t, end_t, weight, text, label]); "
            f"got ({', '.join(rel.columns)})" + (f", missing {', '.join(missing)}" if missing else "")
            + (f", unexpected {', '.join(extra)}" if extra else "")
        )
    table = rel.to_arrow_table()
    con.register("_split_new", table)
    st = SPL.start_t if SPL.start_t in cols else "NULL"
    et = SPL.end_t if SPL.end_t in cols else "NULL"
    wt = SPL.weight if SPL.weight in cols else "NULL"
    texts = ", ".join(f"{c if c in cols else 'NULL'}::VARCHAR AS {c}" for c in TEXT_COLUMNS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE split_rows AS SELECT seq_id::VARCHAR AS seq_id, split::VARCHAR AS split, "
        f"coalesce({st}::DOUBLE, 0.0) AS start_t, {et}::DOUBLE AS end_t, coalesce({wt}::DOUBLE, 1.0) AS weight, "
        f"{texts} FROM _split_new"
    )
    con.unregister("_split_new")


def materialize(con, definition: Definition, base: Path | None = None) -> SplitTable:
    """Run a definition on `con` (from `sql.connect`) and check it; raises SplitError/SQLError."""
    from .sql import run_sql, set_params  # duckdb: imported when used, not by the CLI's argument parser

    texts: dict[str, str] = {}
    set_params(con, definition.params)
    for f in [definition.sql] + list(definition.slices):
        path = resolve_sql_path(f, base)
        text = path.read_text()
        texts[str(f)] = text
        rel = run_sql(con, text, where=str(path))
        _load_rows(con, rel, str(path))
    rows = con.sql(_NORMALIZE).to_arrow_table()
    for k in definition.params:  # variables must not leak into the next definition
        con.execute(f"RESET VARIABLE {k}")
    check_rows(rows, definition.name)
    return SplitTable(definition.name, rows, texts, dict(definition.params))


def check_rows(rows: pa.Table, name: str = "split") -> None:
    """Raise SplitError for unknown sequences, null/bad split names or leakage; warn on empty splits."""
    import duckdb

    con = duckdb.connect()
    con.register("r", rows)
    bad = con.sql("SELECT seq_id FROM r WHERE unknown ORDER BY seq_id LIMIT 5").fetchall()
    if bad:
        raise SplitError(f"{name}: {len(bad)}+ seq_id(s) not in the store, e.g. {', '.join(repr(b[0]) for b in bad)}")
    if con.sql("SELECT count(*) FROM r WHERE split IS NULL OR NOT regexp_full_match(split, '[A-Za-z0-9_]+')").fetchall()[0][0]:
        raise SplitError(f"{name}: split names must be non-null identifiers (train, validation, test, ...)")
    # one take (schema.TAKE_SQL) may be stored twice (SMPL+H and SMPL-X downloads): compare takes; within one
    # seq_id compare frames, across two copies compare seconds (their store rates may differ)
    leaks = con.sql(
        """SELECT a.take, a.seq_id, a.split, a.start_frame, a.end_frame, b.seq_id, b.split, b.start_frame, b.end_frame
           FROM r AS a JOIN r AS b ON a.take = b.take AND a.split < b.split
                AND CASE WHEN a.seq_id = b.seq_id
                         THEN a.start_frame < b.end_frame AND b.start_frame < a.end_frame
                         ELSE a.start_frame / a.store_fps < b.end_frame / b.store_fps
                              AND b.start_frame / b.store_fps < a.end_frame / a.store_fps END
           ORDER BY a.take, a.seq_id, b.seq_id LIMIT 10"""
    ).fetchall()
    if leaks:
        shown = "; ".join(
            f"{sa} in {x} (frames {a0}-{a1}) and {y} (frames {b0}-{b1})" if sa == sb
            else f"take {take}: {sa} in {x} (frames {a0}-{a1}) and its copy {sb} in {y} (frames {b0}-{b1})"
            for take, sa, x, a0, a1, sb, y, b0, b1 in leaks
        )
        raise SplitError(f"{name}: split leakage — the same frames of a take are in two splits: {shown}")
    present = set(rows[SPL.split].to_pylist())
    for s in SPLITS:
        if s not in present:
            warnings.warn(f"{name}: split {s!r} is empty (exporters write it empty, with the same features; protomotions skips it)",
                          SplitWarning, stacklevel=2)
    con.close()


def report(split: SplitTable) -> dict[str, Any]:
    """Per split: rows, sequences, frames, hours, and the same per dataset."""
    import duckdb

    con = duckdb.connect()
    con.register("r", split.rows)
    q = """SELECT split, {key} count(*) AS rows, count(DISTINCT seq_id) AS sequences,
                  sum(end_frame - start_frame)::BIGINT AS frames,
                  sum((end_frame - start_frame) / store_fps) / 3600.0 AS hours
           FROM r GROUP BY ALL ORDER BY ALL"""
    out: dict[str, Any] = {}
    for s, n, seqs, frames, hours in con.sql(q.format(key="")).fetchall():
        out[s] = {"rows": n, "sequences": seqs, "frames": frames, "hours": hours, "datasets": {}}
    for s, ds, n, seqs, frames, hours in con.sql(q.format(key="dataset,")).fetchall():
        out[s]["datasets"][ds] = {"rows": n, "sequences": seqs, "frames": frames, "hours": hours}
    con.close()
    order = [s for s in SPLITS if s in out] + sorted(set(out) - set(SPLITS))
    return {s: out[s] for s in order}


def format_report(name: str, rep: dict[str, Any]) -> str:
    lines = [f"split definition {name!r}", f"  {'split':<12}{'dataset':<24}{'rows':>8}{'sequences':>10}{'frames':>10}{'hours':>9}"]
    for s, r in rep.items():
        lines.append(f"  {s:<12}{'(all)':<24}{r['rows']:>8}{r['sequences']:>10}{r['frames']:>10}{r['hours']:>9.3f}")
        for ds, d in r["datasets"].items():
            lines.append(f"  {'':<12}{ds:<24}{d['rows']:>8}{d['sequences']:>10}{d['frames']:>10}{d['hours']:>9.3f}")
    return "\n".join(lines)
