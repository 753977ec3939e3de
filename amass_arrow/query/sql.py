"""DuckDB (and polars) over a store: typed views pinned to one build, and running `sql/` files.

`connect(STORE)` resolves the store link once (`open_store(path).root`) and defines, on that build dir:

    frames     one row per frame; hive keys dataset/subject as VARCHAR; arrays cast to fixed sizes
               (root_orient FLOAT[3], pose_body FLOAT[63], ..., joints FLOAT[J*3])
    sequences  one row per sequence (schema.SEQUENCE_SCHEMA), plus `take` (schema.TAKE_SQL); `duration`
               is schema.DURATION_SQL (num_frames / store_fps) whatever build wrote the file
    rejects    inputs that were not converted, with reasons
    labels     union of labels/*.parquet (only when such files exist)
    info       one-row table: format_version, build_id, fps, joint_set, num_joints, frame, root

A filter on `dataset`/`subject` through `frames` prunes partitions (reads only those folders).

SQL files are run statement by statement; parameters are DuckDB variables, set before the file
runs (`SET VARIABLE k = ?`, bound, never pasted) and read in SQL with `getvariable('k')`.
Errors become `SQLError("<file>:<line>: ...")`.

SQL cannot write: a connection reads only its build's folder (DuckDB `enable_external_access = false`
with `allowed_directories`, then `lock_configuration`), and `run_sql` refuses COPY, EXPORT, ATTACH,
DETACH, INSTALL and LOAD statements before running anything (READ_ONLY_REFUSED).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from amass_arrow import schema
from amass_arrow.errors import SQLError
from amass_arrow.store.open import open_store
from amass_arrow.store.reader import Store

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: statement types a store connection refuses: they write files, attach databases or load code
READ_ONLY_REFUSED = {duckdb.StatementType.COPY, duckdb.StatementType.COPY_DATABASE, duckdb.StatementType.EXPORT,
                     duckdb.StatementType.ATTACH, duckdb.StatementType.DETACH, duckdb.StatementType.LOAD,
                     duckdb.StatementType.EXTENSION}


def _lit(text: str) -> str:
    """A SQL string literal (for paths of the store itself, never for user values)."""
    return "'" + str(text).replace("'", "''") + "'"


def frame_columns(num_joints: int, joint_velocities: bool = False) -> dict[str, int]:
    """Array column -> fixed width, in store order (pose blocks, joints[, joint_vel])."""
    cols = dict(schema.POSE_COLUMNS)
    cols[schema.JOINTS] = 3 * num_joints
    if joint_velocities:
        cols[schema.JOINT_VEL] = 3 * num_joints
    return cols


def view_sql(store: Store, con=None) -> dict[str, str]:
    """`CREATE VIEW` statements (name -> SQL) over the store's resolved build directory. A build without frame
    files (every input rejected) gets an empty `frames` of the right columns, registered on `con`."""
    root = store.root
    hive = ", ".join(f"'{k}': VARCHAR" for k in schema.HIVE_KEYS)
    sources = {
        "frames": f"read_parquet({_lit(root / schema.FRAMES_GLOB)}, hive_partitioning = true, hive_types = {{{hive}}})",
        "sequences": f"read_parquet({_lit(root / schema.SEQUENCES_PATH)})",
    }
    if con is not None and not any((root / schema.FRAMES_DIR).rglob("*.parquet")):
        con.from_arrow(empty_frames(store)).create_view("_frames_empty", replace=True)
        sources["frames"] = "_frames_empty"
    if (root / schema.REJECTS_PATH).is_file():
        sources["rejects"] = f"read_parquet({_lit(root / schema.REJECTS_PATH)})"
    if any((root / schema.LABELS_DIR).glob("*.parquet")):
        sources["labels"] = f"read_parquet({_lit(root / schema.LABELS_GLOB)}, union_by_name = true)"
    return _views(store, sources)


def empty_frames(store: Store) -> pa.Table:
    """No frame rows, with the store's frame columns and the string hive keys."""
    fs = schema.frame_schema(store.info.num_joints, store.info.joint_velocities)
    for k in schema.HIVE_KEYS:
        fs = fs.append(pa.field(k, pa.string()))
    return fs.empty_table()


def _views(store: Store, sources: dict[str, str]) -> dict[str, str]:
    """The views' SQL over `sources` (view name -> a table expression), the same on disk and on object storage."""
    info = store.info
    casts = ", ".join(f"{c}::FLOAT[{w}] AS {c}" for c, w in frame_columns(info.num_joints, info.joint_velocities).items())
    views = {
        "frames": f"CREATE OR REPLACE VIEW frames AS SELECT * REPLACE ({casts}) FROM {sources['frames']}",
        "sequences": (
            f"CREATE OR REPLACE VIEW sequences AS SELECT * REPLACE ({schema.DURATION_SQL} AS {schema.SEQ.duration}), "
            f"{schema.TAKE_SQL} AS {schema.TAKE} FROM {sources['sequences']}"
        ),
    }
    for name in ("rejects", "labels"):
        if name in sources:
            views[name] = f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {sources[name]}"
    return views


def remote_views(con, store: Store) -> dict[str, str]:
    """Views over a store on object storage: its pyarrow datasets registered in DuckDB (no httpfs needed).

    DuckDB pushes projections and filters into the pyarrow scan, and pyarrow skips the part files
    whose hive keys fail a filter on `dataset`/`subject`: the same partition pruning as on disk.
    Relation views (not `con.register`), so this connection's cursors (the exporters' readers) see them too.
    """
    import pyarrow.dataset as ds

    def table(name: str, data) -> str:
        con.from_arrow(data).create_view(f"_{name}_arrow", replace=True)
        return f"_{name}_arrow"

    files = store.info.files
    sources = {"frames": table("frames", store.frames_dataset()),
               "sequences": table("sequences", ds.dataset(store.root.path(schema.SEQUENCES_PATH), filesystem=store.fs, format="parquet"))}
    if schema.REJECTS_PATH in files:
        sources["rejects"] = table("rejects", ds.dataset(store.root.path(schema.REJECTS_PATH), filesystem=store.fs, format="parquet"))
    labels = store.labels_table()
    if labels is not None:
        sources["labels"] = table("labels", labels)
    return _views(store, sources)


def connect(store: str | Path | Store, *, threads: int | None = None):
    """A DuckDB connection (in memory) with the store's views; see the module docstring.

    The store link is resolved once, so every query on this connection reads one build.
    """
    st = store if isinstance(store, Store) else open_store(store)
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    views = remote_views(con, st) if st.remote else view_sql(st, con)
    for sql in views.values():
        con.execute(sql)
    i = st.info
    con.execute(
        "CREATE OR REPLACE TABLE info AS SELECT ?::INTEGER AS format_version, ?::VARCHAR AS build_id, "
        "?::DOUBLE AS fps, ?::VARCHAR AS joint_set, ?::INTEGER AS num_joints, ?::VARCHAR AS frame, "
        "?::VARCHAR AS root, ?::VARCHAR AS store",
        [i.format_version, i.build_id, i.fps, i.joint_set, i.num_joints, i.frame, str(st.root), str(st.layout.path)],
    )
    _lock_down(con, st)
    return con


def _lock_down(con, st: Store) -> None:
    """Read-only from here on: files only under the build's folder (and DuckDB's own spill folder), settings locked."""
    spill = os.path.join(tempfile.gettempdir(), f"amass-arrow-duckdb-{os.getpid()}")
    dirs = [] if st.remote else [os.path.join(str(st.root), "")]
    con.execute(f"SET temp_directory = {_lit(spill)}")
    con.execute(f"SET allowed_directories = [{', '.join(_lit(d) for d in dirs + [os.path.join(spill, '')])}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


# ---------------------------------------------------------------- running SQL text / files
def statements(text: str) -> list[tuple[str, int]]:
    """Split SQL text into (statement, first line number), using DuckDB's own splitter."""
    try:
        parts = [s.query for s in duckdb.extract_statements(text)]
    except duckdb.Error as exc:
        raise _sql_error(exc, "<sql>", text, 1) from None
    out, pos = [], 0
    for q in parts:
        at = text.find(q.strip()[:40], pos)
        at = pos if at < 0 else at
        lead = len(q) - len(q.lstrip())
        out.append((q, text.count("\n", 0, at) + 1 - q.count("\n", 0, lead)))
        pos = at + max(len(q.strip()), 1)
    return out


def _sql_error(exc: Exception, where: str, stmt: str, first_line: int) -> SQLError:
    msg = str(exc)
    m = re.search(r"LINE (\d+):", msg)
    if m:
        line = first_line + int(m.group(1)) - 1
    else:  # no position: point at the statement's first non-comment line
        line = first_line
        for k, ln in enumerate(stmt.splitlines()):
            s = ln.strip()
            if s and not s.startswith("--"):
                line = first_line + k
                break
    head = msg.split("\n")[0]
    return SQLError(f"{where}:{line}: {head}")


def set_params(con, params: dict[str, Any] | None) -> None:
    """Bind `params` as DuckDB variables (read in SQL with `getvariable('name')`)."""
    for k, v in (params or {}).items():
        if not _NAME.match(str(k)):
            raise SQLError(f"parameter name {k!r} is not an identifier")
        con.execute(f"SET VARIABLE {k} = ?", [v])


def run_sql(con, text: str, *, where: str = "<sql>", params: dict[str, Any] | None = None, bind: Any = None):
    """Run every statement of `text`; return the last one's relation (None if it returns nothing).

    `params` become DuckDB variables; `bind` (dict or list) is bound to `$name`/`?` in the last statement.
    """
    set_params(con, params)
    parts = statements(text)
    if not parts:
        raise SQLError(f"{where}: no SQL statement")
    _refuse_writes(text, parts, where)
    rel = None
    for k, (stmt, line) in enumerate(parts):
        last = k == len(parts) - 1
        try:
            if last:
                rel = con.sql(stmt, params=bind) if bind else con.sql(stmt)
            else:
                con.execute(stmt)
        except duckdb.Error as exc:
            raise _sql_error(_positioned(con, stmt, exc), where, stmt, line) from None
    return rel


def _refuse_writes(text: str, parts: list[tuple[str, int]], where: str) -> None:
    """SQLError for the first statement that would write a file, attach a database or load an extension."""
    for st, (stmt, line) in zip(duckdb.extract_statements(text), parts):
        if st.type in READ_ONLY_REFUSED:
            kind = {"LOAD": "INSTALL/LOAD", "COPY_DATABASE": "COPY DATABASE"}.get(st.type.name, st.type.name)
            lines = stmt.lstrip("\n").splitlines()
            skip = len(stmt) - len(stmt.lstrip("\n")) if line == 1 else 0
            line += skip + next((k for k, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("--")), 0)
            raise SQLError(
                f"{where}:{line}: {kind} is not allowed: SQL on a store is read-only (no COPY/EXPORT to files, no "
                f"ATTACH, no extensions); save a result with `amass-arrow query ... --format parquet -o FILE` or an exporter"
            )


def _positioned(con, stmt: str, exc: Exception) -> Exception:
    """Relation errors carry no 'LINE n:'; PREPARE (binds, runs nothing) the statement to get one."""
    if "LINE " in str(exc):
        return exc
    try:
        con.execute("PREPARE _amass_arrow_check AS " + stmt.rstrip().rstrip(";"))
        con.execute("DEALLOCATE _amass_arrow_check")
    except duckdb.Error as again:
        if "LINE " in str(again) and str(again).split("\n")[0] == str(exc).split("\n")[0]:
            return again
    return exc


def run_sql_file(con, path: str | Path, params: dict[str, Any] | None = None):
    """Run a `.sql` file on `con` (see `run_sql`); errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SQLError(f"{p}: cannot read SQL file: {exc.strerror}") from None
    return run_sql(con, text, where=str(p), params=params)


def query(store: str | Path | Store, sql: str, params: dict[str, Any] | list | None = None) -> pa.Table:
    """Run `sql` on a fresh `connect(store)`; `params` are bound to `$name` (dict) or `?` (list)."""
    con = connect(store)
    try:
        rel = run_sql(con, sql, bind=params)
        if rel is None:
            return pa.table({})
        try:
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise _sql_error(exc, "<sql>", sql, 1) from None
    finally:
        con.close()


# ---------------------------------------------------------------- polars
def scan(store: str | Path | Store) -> dict[str, Any]:
    """polars LazyFrames {frames, sequences, rejects[, labels]} over one build; string hive keys, Array columns."""
    import polars as pl  # imported here: DuckDB-only users skip its import time
    st = store if isinstance(store, Store) else open_store(store)
    root = st.root
    casts = [pl.col(c).cast(pl.Array(pl.Float32, w)) for c, w in frame_columns(st.info.num_joints, st.info.joint_velocities).items()]
    if st.remote:
        return _scan_remote(st, casts)
    any_frames = any((root / schema.FRAMES_DIR).rglob("*.parquet"))
    out = {
        "frames": (pl.scan_parquet(
            str(root / schema.FRAMES_GLOB), hive_partitioning=True,
            hive_schema={k: pl.String for k in schema.HIVE_KEYS},
        ) if any_frames else pl.from_arrow(empty_frames(st)).lazy()).with_columns(casts),
        "sequences": pl.scan_parquet(str(root / schema.SEQUENCES_PATH)),
    }
    if (root / schema.REJECTS_PATH).is_file():
        out["rejects"] = pl.scan_parquet(str(root / schema.REJECTS_PATH))
    labels = sorted((root / schema.LABELS_DIR).glob("*.parquet"))
    if labels:
        out["labels"] = pl.concat([pl.scan_parquet(str(f)) for f in labels], how="diagonal_relaxed")
    return out


def _scan_remote(st: Store, casts: list) -> dict[str, Any]:
    """polars' native object-store reader over the manifest's files (credentials from the AWS environment)."""
    import polars as pl

    opts = storage_options()
    frames = [st.file(r) for r in st.listed(schema.FRAMES_DIR)]
    out = {
        "frames": pl.scan_parquet(frames, hive_partitioning=True, hive_schema={k: pl.String for k in schema.HIVE_KEYS},
                                  storage_options=opts).with_columns(casts),
        "sequences": pl.scan_parquet(st.file(schema.SEQUENCES_PATH), storage_options=opts),
    }
    if schema.REJECTS_PATH in st.info.files:
        out["rejects"] = pl.scan_parquet(st.file(schema.REJECTS_PATH), storage_options=opts)
    labels = [st.file(r) for r in st.listed(schema.LABELS_DIR) if r.endswith(".parquet")]
    if labels:
        out["labels"] = pl.concat([pl.scan_parquet(f, storage_options=opts) for f in labels], how="diagonal_relaxed")
    return out


def storage_options() -> dict[str, str]:
    """polars/object_store options from the AWS environment variables (endpoint, keys, region; http allowed for a local endpoint)."""
    import os

    env = {"aws_endpoint_url": "AWS_ENDPOINT_URL", "aws_access_key_id": "AWS_ACCESS_KEY_ID",
           "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY", "aws_session_token": "AWS_SESSION_TOKEN",
           "aws_region": "AWS_DEFAULT_REGION"}
    opts = {k: os.environ[v] for k, v in env.items() if os.environ.get(v)}
    if opts.get("aws_endpoint_url", "").startswith("http://"):
        opts["aws_allow_http"] = "true"
    return opts
