"""torch tensors from a split: one `<split>.pt` dict per split, loadable with `torch.load(p, mmap=True)`.

Per split (N frame rows, R split rows, S sequences, F feature width):
    seq_ids        list[str] (S)            betas [S, B] float32 (zero-padded), num_betas [S] int64
    rows           [R, 3] int64: seq index, start_frame, end_frame (half-open, store frames)
    <feature>      [N, F] float32 (contacts [N, 6] bool)
    seq_index      [N] int64 -> seq_ids / betas;  row_index [N] int64 -> rows;  frame [N] int32;  t [N] float32
With unit=window: <feature> [W, window, F], seq_index/row_index/start_frame [W] (no per-frame frame/t).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import require
from ..schema import FRM, SEQ, SPL
from .frames import FEATURES, feature_widths, iter_chunks, values
from .registry import Exporter, register
from .units import UNITS, WINDOW_UNIT, assemble

#: the non-feature entries of a `<split>.pt` dict (see the module docstring); the loader skips them
SEQ_IDS, BETAS, NUM_BETAS, ROWS, PROVENANCE = "seq_ids", SEQ.betas, SEQ.num_betas, "rows", "provenance"
SEQ_INDEX, ROW_INDEX, FRAME, T, START_FRAME = "seq_index", "row_index", FRM.frame, FRM.t, "start_frame"
BOOKKEEPING = (SEQ_IDS, BETAS, NUM_BETAS, ROWS, PROVENANCE, SEQ_INDEX, ROW_INDEX, FRAME, T, START_FRAME)


#: the row-index entries of a `<split>.pt` and their dtypes: (frame/slice units, window unit)
_INDEX_DTYPES = {False: {SEQ_INDEX: np.int64, ROW_INDEX: np.int64, FRAME: np.int32, T: np.float32},
                 True: {SEQ_INDEX: np.int64, ROW_INDEX: np.int64, START_FRAME: np.int64}}


def export_torch(con, split_table, spec, out: Path, *, num_joints: int, provenance: dict[str, Any],
                 step: int = 1, stats=None, progress: bool = True) -> Path:
    torch = require("torch", "torch")
    from tqdm.auto import tqdm

    widths = feature_widths(spec.columns, num_joints)
    out.mkdir(parents=True, exist_ok=True)
    rows = split_table.rows
    for split in split_table.split_names():
        mine = rows.filter(pc.equal(rows[SPL.split], split)).sort_by(SPL.row_id)
        seq_ids = sorted(set(mine[SPL.seq_id].to_pylist()))
        seq_set = pa.array(seq_ids, pa.string())
        betas = _betas(con, seq_ids)
        row_ids = mine[SPL.row_id].to_numpy()  # sorted: a chunk's row ids map to positions by searchsorted
        parts: dict[str, list[np.ndarray]] = {c: [] for c in spec.columns + [SEQ_INDEX, ROW_INDEX, FRAME, T, START_FRAME]}
        for chunk in tqdm(iter_chunks(con, split, spec.columns, widths, step), desc=f"torch {split}",
                          disable=None if progress else True, leave=False):
            feats = {c: values(chunk[c], widths[c]) for c in spec.columns}
            if stats is not None and split == "train":
                stats.update({c: v for c, v in feats.items() if FEATURES[c][0] == "float32"})
            sidx = pc.index_in(chunk[FRM.seq_id], value_set=seq_set).to_numpy().astype(np.int64)
            ridx = np.searchsorted(row_ids, chunk[SPL.row_id].to_numpy()).astype(np.int64)
            frame = chunk[FRM.frame].to_numpy().astype(np.int32)
            if spec.unit == WINDOW_UNIT:
                u = assemble(chunk, WINDOW_UNIT, spec.window, spec.stride)
                for c in spec.columns:
                    parts[c].append(u.gather(feats[c]).reshape(len(u), spec.window, widths[c]))
                parts[SEQ_INDEX].append(sidx[u.first])
                parts[ROW_INDEX].append(ridx[u.first])
                parts[START_FRAME].append(frame[u.first].astype(np.int64))
            else:
                for c in spec.columns:
                    parts[c].append(feats[c])
                parts[SEQ_INDEX].append(sidx)
                parts[ROW_INDEX].append(ridx)
                parts[FRAME].append(frame)
                parts[T].append(chunk[FRM.t].to_numpy())
        data: dict[str, Any] = {SEQ_IDS: seq_ids, BETAS: torch.from_numpy(betas[0]), NUM_BETAS: torch.from_numpy(betas[1]),
                                ROWS: torch.from_numpy(np.stack([pc.index_in(mine[SPL.seq_id], value_set=seq_set).to_numpy(),
                                                                 mine[SPL.start_frame].to_numpy(), mine[SPL.end_frame].to_numpy()],
                                                                axis=1).astype(np.int64).reshape(-1, 3)),
                                PROVENANCE: provenance}
        for k, v in parts.items():
            if v:
                data[k] = torch.from_numpy(np.ascontiguousarray(np.concatenate(v)))
            elif k in spec.columns:
                shape = (0, spec.window, widths[k]) if spec.unit == WINDOW_UNIT else (0, widths[k])
                data[k] = torch.zeros(shape, dtype=torch.bool if FEATURES[k][0] == "bool" else torch.float32)
            elif k in _INDEX_DTYPES[spec.unit == WINDOW_UNIT]:  # an empty split keeps every key of a full one
                data[k] = torch.from_numpy(np.zeros(0, _INDEX_DTYPES[spec.unit == WINDOW_UNIT][k]))
        torch.save(data, out / f"{split}.pt")
    return out


@register
class TorchExporter(Exporter):
    name = "torch"
    units = UNITS
    summary = "one <split>.pt dict of [N, F] tensors (window: [W, window, F])"
    load = "torch.load('OUT/<definition>/torch_frame/train.pt', mmap=True)"

    def export(self, ctx, out: Path) -> Path:
        return export_torch(ctx.con, ctx.split_table, ctx.spec, out, num_joints=ctx.num_joints,
                            provenance=ctx.provenance, step=ctx.step, stats=ctx.stats, progress=ctx.progress)


def _betas(con, seq_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """([S, B] float32 zero-padded betas, [S] int64 counts) in `seq_ids` order."""
    if not seq_ids:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    cur = con.cursor()
    try:
        got = dict(cur.execute("SELECT seq_id, betas FROM sequences WHERE list_contains($ids, seq_id)",
                               {"ids": seq_ids}).fetchall())
    finally:
        cur.close()
    B = max(len(got[s]) for s in seq_ids)
    out = np.zeros((len(seq_ids), B), np.float32)
    n = np.zeros(len(seq_ids), np.int64)
    for k, s in enumerate(seq_ids):
        out[k, : len(got[s])] = got[s]
        n[k] = len(got[s])
    return out, n
