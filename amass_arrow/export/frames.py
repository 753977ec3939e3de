"""Streams a split's frames out of DuckDB as Arrow, grouped so every chunk holds whole split rows.

Shared by the exporters. A chunk is a pa.Table ordered by (row_id, frame) with columns
row_id, seq_id, frame, t and one fixed-size-list column per requested feature.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema

#: the table of the split rows being exported, in the export connection (exporters' SQL may read it)
EXPORT_ROWS = "export_rows"
#: feature name -> (dtype, width or None = from the store); defined in schema (next to the frame schema)
FEATURES = schema.FEATURES


def feature_widths(columns: list[str], num_joints: int) -> dict[str, int]:
    return {c: FEATURES[c][1] or 3 * num_joints for c in columns}


def _expr(c: str, w: int) -> str:
    if c == schema.CONTACTS_FEATURE:
        return f"[{', '.join('f.' + k for k in schema.CONTACT_COLUMNS)}]::BOOLEAN[{w}] AS {c}"
    if c in schema.NULLABLE_POSE:  # null where the surface model lacks the block: zeros
        return f"coalesce(f.{c}, list_resize([]::FLOAT[], {w}, 0.0)::FLOAT[{w}]) AS {c}"
    return f"f.{c}"


def rows_table_name(con, split_rows: pa.Table) -> str:
    """Store the split rows in the connection's database (visible to cursors) as `export_rows`."""
    con.register("_export_rows_src", split_rows)
    con.execute(f"CREATE OR REPLACE TABLE {EXPORT_ROWS} AS SELECT * FROM _export_rows_src")
    con.unregister("_export_rows_src")
    return EXPORT_ROWS


def frame_query(columns: list[str], widths: dict[str, int], step: int | None = 1, texts: list[str] = ()) -> str:
    """Frames of one split's rows; every `step`-th frame of a row (None: the row's own `export_step` column)."""
    cols = ", ".join([_expr(c, widths[c]) for c in columns] + [f"r.{c}" for c in texts])
    if step is None:  # per-row steps (a store with per-sequence rates; export.export_plan)
        keep = " AND (f.frame - r.start_frame) % r.export_step = 0"
    else:
        keep = f" AND (f.frame - r.start_frame) % {int(step)} = 0" if step > 1 else ""
    return (
        f"SELECT r.row_id, r.seq_id, f.frame, f.t, {cols} FROM {EXPORT_ROWS} AS r "
        f"JOIN frames AS f ON f.seq_id = r.seq_id AND f.frame >= r.start_frame AND f.frame < r.end_frame{keep} "
        f"WHERE r.split = $split ORDER BY r.row_id, f.frame"
    )


def iter_chunks(con, split: str, columns: list[str], widths: dict[str, int], step: int | None = 1,
                batch_rows: int = 1 << 16, texts: list[str] = ()) -> Iterator[pa.Table]:
    """Whole-row chunks of one split's frames (a cursor per reader, so `con` stays usable).

    `texts`: split-row string columns (text, label) repeated on every frame of their row.
    """
    cur = con.cursor()
    try:
        query = frame_query(columns, widths, step, texts)
        reader = cur.sql(query, params={"split": split}).to_arrow_reader(batch_rows)
        carry: pa.Table | None = None
        for batch in reader:
            t = pa.Table.from_batches([batch])
            if carry is not None and carry.num_rows:
                t = pa.concat_tables([carry, t])
            if t.num_rows == 0:
                continue
            last = t[schema.SPL.row_id][-1]
            done = pc.not_equal(t[schema.SPL.row_id], last)
            n = int(pc.sum(done).as_py() or 0)
            carry = t.slice(n)
            if n:
                yield t.slice(0, n)
        if carry is not None and carry.num_rows:
            yield carry
    finally:
        cur.close()


def values(col: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    """A fixed-size-list column as a (N, width) numpy view of its values (copies only to combine chunks)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    flat = arr.flatten()  # respects slicing offsets
    dtype = np.bool_ if pa.types.is_boolean(flat.type) else None
    out = flat.to_numpy(zero_copy_only=False)
    return (out.astype(dtype) if dtype else out).reshape(len(arr), width)


def row_runs(row_id: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row ids, start offsets, lengths) of consecutive runs in a sorted row_id column."""
    r = row_id.to_numpy()
    if len(r) == 0:
        return r, r, r
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    lengths = np.diff(np.r_[starts, len(r)])
    return r[starts], starts, lengths
