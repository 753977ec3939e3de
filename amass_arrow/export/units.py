"""Row units, assembled once for every exporter: a chunk's frames grouped into frames, slices or windows.

A chunk (amass_arrow.export.frames.iter_chunks) holds whole split rows, ordered by (row_id, frame).
`assemble` turns it into a `UnitBatch`:

    frame   one unit per frame                       (U = n frames, 1 frame each)
    slice   one unit per split row                   (U = split rows, T_i frames each)
    window  `window` frames every `stride` frames inside each split row (windows never cross rows)

`UnitBatch.gather(values)` turns per-frame values (n, ...) into the units' frames in order
(sum of unit lengths, ...); unit k owns gathered rows `offsets[k]:offsets[k + 1]`.
`iter_slices` yields one `Slice` (a split row with its frame arrays) at a time, for exporters that
work per motion (ProtoMotions, HumanML3D).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from .. import schema
from .frames import row_runs, values

#: the row units an exporter may offer (ExportSpec.unit)
FRAME_UNIT, SLICE_UNIT, WINDOW_UNIT = "frame", "slice", "window"
UNITS = (FRAME_UNIT, SLICE_UNIT, WINDOW_UNIT)


def window_starts(lengths: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(run index, offset in run) of every window of `window` frames, every `stride` frames, inside runs of `lengths`."""
    runs, offs = [], []
    for k, n in enumerate(lengths):
        s = np.arange(0, int(n) - window + 1, stride)
        runs.append(np.full(len(s), k))
        offs.append(s)
    if not runs:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(runs).astype(int), np.concatenate(offs).astype(int)


@dataclass
class UnitBatch:
    """One chunk's frames grouped into units.

    first:   (U,) int64 chunk row of each unit's first frame
    offsets: (U + 1,) int64; unit k's frames are gathered rows offsets[k]:offsets[k + 1]
    take:    chunk rows in gathered order, or None when the gathered order is the chunk order
    """

    chunk: pa.Table
    unit: str
    first: np.ndarray
    offsets: np.ndarray
    take: np.ndarray | None

    def __len__(self) -> int:
        return len(self.first)

    def gather(self, per_frame: np.ndarray) -> np.ndarray:
        """Per-frame values (n, ...) -> the units' frames in order (offsets[-1], ...)."""
        return per_frame if self.take is None else per_frame[self.take]

    def column(self, name: str, width: int) -> np.ndarray:
        """A feature column of the chunk, gathered: (offsets[-1], width)."""
        return self.gather(values(self.chunk[name], width))

    def per_unit(self, name: str) -> pa.Array:
        """A per-frame column (seq_id, frame, a text column) at each unit's first frame: (U,)."""
        return self.chunk[name].combine_chunks().take(pa.array(self.first))

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def assemble(chunk: pa.Table, unit: str, window: int = 1, stride: int = 1) -> UnitBatch:
    """Group a whole-row chunk into `unit`s (see the module docstring)."""
    n = chunk.num_rows
    if unit == FRAME_UNIT:
        ar = np.arange(n, dtype=np.int64)
        return UnitBatch(chunk, unit, ar, np.arange(n + 1, dtype=np.int64), None)
    _ids, starts, lengths = row_runs(chunk[schema.SPL.row_id])
    if unit == SLICE_UNIT:
        return UnitBatch(chunk, unit, starts.astype(np.int64), np.r_[starts, n].astype(np.int64), None)
    if unit == WINDOW_UNIT:
        run, off = window_starts(lengths, window, stride)
        first = (starts[run] + off).astype(np.int64) if len(run) else np.zeros(0, np.int64)
        take = (first[:, None] + np.arange(window)[None, :]).reshape(-1)
        return UnitBatch(chunk, unit, first, np.arange(0, len(first) * window + 1, window, dtype=np.int64), take)
    raise ValueError(f"unknown row unit {unit!r}; use one of {', '.join(UNITS)}")


@dataclass
class Slice:
    """One split row with its frames (T at the export rate).

    row:    the split row (row_id, seq_id, split, start_t, end_t, weight, text, label, dataset, subject,
            store_fps, start_frame, end_frame, ...; frames half-open at the store fps)
    frame:  (T,) int32 store frame numbers;  t: (T,) float32 seconds from the sequence start
    feats:  column -> (T, F) array (float32; contacts bool)
    """

    row: dict[str, Any]
    frame: np.ndarray
    t: np.ndarray
    feats: dict[str, np.ndarray]

    @property
    def seq_id(self) -> str:
        return self.row[schema.SPL.seq_id]

    def __len__(self) -> int:
        return len(self.frame)


def iter_slices(chunks: Iterator[pa.Table], rows: pa.Table, widths: dict[str, int]) -> Iterator[Slice]:
    """One Slice per split row that has frames, in row_id order; `rows` = the split rows (row_id -> row)."""
    by_id = {r[schema.SPL.row_id]: r for r in rows.to_pylist()}
    for chunk in chunks:
        ids, starts, lengths = row_runs(chunk[schema.SPL.row_id])
        feats = {c: values(chunk[c], w) for c, w in widths.items()}
        frame = chunk[schema.FRM.frame].to_numpy()
        t = chunk[schema.FRM.t].to_numpy()
        for rid, a, n in zip(ids.tolist(), starts.tolist(), lengths.tolist()):
            yield Slice(by_id[rid], frame[a:a + n], t[a:a + n], {c: v[a:a + n] for c, v in feats.items()})
