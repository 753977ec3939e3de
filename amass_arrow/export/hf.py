"""Hugging Face `DatasetDict` (train/validation/test) from a split, written with `save_to_disk`.

Row units (features declared explicitly, float32; `F` = feature width, e.g. joints = 3*J):
    frame   one row per frame: seq_id, frame, t, <feature> List(float32, length=F)  -> torch [F]
    slice   one row per split row: seq_id, [text, label,] start_frame, num_frames, t List(float32),
            <feature> Array2D((None, F))                                            -> torch [T_i, F]
    window  fixed-length windows of `window` frames every `stride` frames inside each split row:
            seq_id, start_frame, <feature> Array2D((window, F))                    -> torch [window, F]
`contacts` is bool with F = 6. Arrow columns are built directly from DuckDB's Arrow output
(no `Dataset.cast`, no pandas), streamed to an Arrow file per split and memory-mapped.
`DatasetInfo.description` holds the provenance as JSON (store build, split SQL, fps, joints, frame).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import require
from ..schema import FRM
from .frames import FEATURES, feature_widths, iter_chunks, values
from .registry import Exporter, register
from .units import FRAME_UNIT, SLICE_UNIT, UNITS, assemble


def features_for(unit: str, columns: list[str], widths: dict[str, int], window: int, texts: list[str] = ()):
    ds = require("datasets", "hf")
    f: dict[str, Any] = {FRM.seq_id: ds.Value("string")}
    if unit != FRAME_UNIT:  # a clip's caption / action label, one per row
        f.update({c: ds.Value("string") for c in texts})
    if unit == FRAME_UNIT:
        f.update({FRM.frame: ds.Value("int32"), FRM.t: ds.Value("float32")})
        for c in columns:
            f[c] = ds.List(ds.Value(FEATURES[c][0]), length=widths[c])
    elif unit == SLICE_UNIT:
        f.update({"start_frame": ds.Value("int64"), "num_frames": ds.Value("int64"), FRM.t: ds.List(ds.Value("float32"))})
        for c in columns:
            f[c] = ds.Array2D((None, widths[c]), FEATURES[c][0])
    else:
        f.update(start_frame=ds.Value("int64"))
        for c in columns:
            f[c] = ds.Array2D((window, widths[c]), FEATURES[c][0])
    return ds.Features(f)


def _nested(flat: pa.Array, width: int, outer_offsets: np.ndarray, ext_type) -> pa.Array:
    """Array2D storage list<list<x>> over `flat` values: inner lists of `width`, outer by `outer_offsets`."""
    n_inner = len(flat) // width
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, n_inner * width + 1, width, dtype=np.int32)), flat)
    outer = pa.ListArray.from_arrays(pa.array(outer_offsets.astype(np.int32)), inner)
    return pa.ExtensionArray.from_storage(ext_type, outer)


def chunk_to_hf(chunk: pa.Table, unit: str, columns: list[str], widths: dict[str, int], schema: pa.Schema,
                window: int, stride: int, texts: list[str] = ()) -> pa.Table:
    if unit == FRAME_UNIT:
        cols = {FRM.seq_id: chunk[FRM.seq_id], FRM.frame: chunk[FRM.frame].cast(pa.int32()), FRM.t: chunk[FRM.t]}
        for c in columns:
            arr = chunk[c].combine_chunks()
            cols[c] = pa.FixedSizeListArray.from_arrays(arr.flatten(), widths[c])
        return pa.table(cols, schema=schema)
    u = assemble(chunk, unit, window, stride)
    frame = chunk[FRM.frame].to_numpy()
    cols = {FRM.seq_id: u.per_unit(FRM.seq_id), **{c: u.per_unit(c) for c in texts},
            "start_frame": pa.array(frame[u.first].astype(np.int64))}
    if unit == SLICE_UNIT:
        cols.update({"num_frames": pa.array(u.lengths().astype(np.int64)),
                     FRM.t: pa.ListArray.from_arrays(pa.array(u.offsets.astype(np.int32)), chunk[FRM.t].combine_chunks())})
    for c in columns:
        flat = chunk[c].combine_chunks().flatten() if u.take is None else pa.array(u.column(c, widths[c]).reshape(-1))
        cols[c] = _nested(flat, widths[c], u.offsets, schema.field(c).type)
    return pa.table(cols, schema=schema)


def export_hf(con, split_table, spec, out: Path, *, num_joints: int, provenance: dict[str, Any],
              step: int = 1, stats=None, progress: bool = True) -> Path:
    """Write `out` (a DatasetDict folder; run_export hands it a fresh one) for one split definition; returns `out`."""
    ds = require("datasets", "hf")
    from tqdm.auto import tqdm

    widths = feature_widths(spec.columns, num_joints)
    texts = split_table.text_columns() if spec.unit != FRAME_UNIT else []
    features = features_for(spec.unit, spec.columns, widths, spec.window, texts)
    schema = features.arrow_schema
    tmp = out / ".stream"  # the split streams, inside the export: a kill leaves nothing beside it
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    desc = json.dumps(provenance, sort_keys=True)
    dd = {}
    try:
        for split in split_table.split_names():
            path = tmp / f"{split}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
                chunks = iter_chunks(con, split, spec.columns, widths, step, texts=texts)
                for chunk in tqdm(chunks, desc=f"hf {spec.unit} {split}", disable=None if progress else True, leave=False):
                    if stats is not None and split == "train":
                        stats.update({c: values(chunk[c], widths[c]) for c in spec.columns if FEATURES[c][0] == "float32"})
                    w.write_table(chunk_to_hf(chunk, spec.unit, spec.columns, widths, schema, spec.window, spec.stride, texts))
            info = ds.DatasetInfo(description=desc, features=features, dataset_name=f"amass_arrow/{split_table.name}")
            dd[split] = ds.Dataset.from_file(str(path), info=info, split=split)
        quiet = (not progress or not sys.stderr.isatty()) and ds.is_progress_bar_enabled()
        if quiet:  # datasets' own bars: off in logs, as ours are; the caller's setting is restored
            ds.disable_progress_bars()
        try:
            # an empty split gets one (empty) shard: without it datasets writes no data file and cannot load it back
            ds.DatasetDict(dd).save_to_disk(str(out), num_shards={k: 1 for k, d in dd.items() if len(d) == 0})
        finally:
            if quiet:
                ds.enable_progress_bars()
    finally:
        dd.clear()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


@register
class HFExporter(Exporter):
    name = "hf"
    units = UNITS
    summary = "Hugging Face DatasetDict (train/validation/test), Arrow memory-mapped"
    load = "datasets.load_from_disk('OUT/<definition>/hf_frame').with_format('torch')"

    def export(self, ctx, out: Path) -> Path:
        return export_hf(ctx.con, ctx.split_table, ctx.spec, out, num_joints=ctx.num_joints,
                         provenance=ctx.provenance, step=ctx.step, stats=ctx.stats, progress=ctx.progress)
