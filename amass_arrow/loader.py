"""Fast shuffled frame batches for training, from an export (HF `save_to_disk` folder or torch `.pt`).

    from amass_arrow.loader import FrameLoader
    loader = FrameLoader("demo/splits/official/hf_frame", split="train", columns=["pose_body", "joints"],
                         batch_size=1024, seed=0)
    for epoch in range(10):
        loader.set_epoch(epoch)
        for batch in loader:             # {"pose_body": [B, 63] float32, "joints": [B, 3J] float32}
            ...

How: the split's Arrow files are memory-mapped (the `.pt` export with `torch.load(mmap=True)`), the
requested columns are copied once into one contiguous float32 matrix `[N, F]` (bool columns such
as `contacts` become 0.0/1.0), and each batch is one row gather (`np.take`) of shuffled row indices, split
into per-column views (no copy). Every row appears exactly once per epoch (the last batch may be
short unless `drop_last`); the order is `torch.randperm` seeded with `seed + epoch`, so a given
(seed, epoch) always yields the same batches. Memory: N * F * 4 bytes (e.g. 1M frames of the default
231 features = 0.9 GB). Needs the `torch` extra; `torch_dataset(loader)` wraps it for
`torch.utils.data.DataLoader(..., batch_size=None)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from . import schema
from .errors import ConfigError, require
from .export.torch import BOOKKEEPING

# features the exporters write; per-frame bookkeeping columns (seq_id, frame, t) and the torch export's
# other entries are not features
_NOT_FEATURES = {schema.FRM.seq_id, *BOOKKEEPING}


def hf_split_table(path: str | Path, split: str = "train") -> pa.Table:
    """The Arrow table of one split of a `save_to_disk` DatasetDict folder, memory-mapped (zero copy)."""
    d = Path(path) / split
    state = d / "state.json"
    if not state.is_file():
        have = sorted(p.name for p in Path(path).iterdir() if (p / "state.json").is_file()) if Path(path).is_dir() else []
        raise ConfigError(f"{d}: not a saved HF split (no state.json); splits here: {', '.join(have) or 'none'}")
    files = [d / f["filename"] for f in json.loads(state.read_text())["_data_files"]]
    tables = []
    for f in files:
        src = pa.memory_map(str(f))
        try:
            tables.append(pa.ipc.open_stream(src).read_all())
        except pa.ArrowInvalid:  # older datasets versions wrote the file format
            tables.append(pa.ipc.open_file(src).read_all())
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _column_values(col: pa.ChunkedArray | pa.Array) -> tuple[list[np.ndarray], int]:
    """Per-chunk (rows, width) numpy views of a fixed-size-list (or scalar) column; bool as uint8."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    out, width = [], 1
    for c in chunks:
        if pa.types.is_fixed_size_list(c.type):
            width = c.type.list_size
            flat = c.flatten()
        elif pa.types.is_list(c.type) or pa.types.is_large_list(c.type):
            flat = c.flatten()
            width = len(flat) // max(1, len(c))
        else:
            flat = c
        if flat.null_count:
            raise ConfigError(f"column has {flat.null_count} null value(s); the loader needs dense features")
        if pa.types.is_boolean(flat.type):
            a = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.uint8)
        else:
            a = flat.to_numpy(zero_copy_only=False)
        out.append(a.reshape(len(c), -1) if len(c) else a.reshape(0, width))
    return out, width


def load_matrix(source: str | Path, split: str = "train", columns: list[str] | None = None
                ) -> tuple[np.ndarray, dict[str, slice]]:
    """(float32 [N, F] C-contiguous matrix, {column: slice of F}) of a split's feature columns.

    source: a HF export folder (`<folder>/<split>/state.json`) or a torch export (`<folder>/<split>.pt`
    or the `.pt` file itself). columns: default every feature column, in export order.
    """
    src = Path(source)
    pt = src if src.suffix == ".pt" else src / f"{split}.pt"
    if pt.is_file():
        return _matrix_from_pt(pt, columns)
    table = hf_split_table(src, split)
    names = [n for n in table.column_names if n not in _NOT_FEATURES] if columns is None else list(columns)
    missing = [c for c in names if c not in table.column_names]
    if missing:
        raise ConfigError(f"{src}/{split}: no column(s) {', '.join(missing)}; have {', '.join(table.column_names)}")
    parts = {c: _column_values(table[c]) for c in names}
    return _fill(table.num_rows, {c: (v, w) for c, (v, w) in parts.items()})


def _matrix_from_pt(path: Path, columns: list[str] | None) -> tuple[np.ndarray, dict[str, slice]]:
    torch = require("torch", "torch")
    data = torch.load(path, mmap=True, weights_only=True)
    names = [k for k, v in data.items() if k not in _NOT_FEATURES and isinstance(v, torch.Tensor) and v.dim() == 2] \
        if columns is None else list(columns)
    missing = [c for c in names if c not in data]
    if missing:
        raise ConfigError(f"{path}: no tensor(s) {', '.join(missing)}")
    n = int(data[names[0]].shape[0]) if names else 0
    parts = {}
    for c in names:
        t = data[c]
        a = t.numpy() if t.dtype != torch.bool else t.numpy().view(np.uint8)
        parts[c] = ([a.reshape(a.shape[0], -1)], int(np.prod(a.shape[1:])))
    return _fill(n, parts)


def _fill(n: int, parts: dict[str, tuple[list[np.ndarray], int]]) -> tuple[np.ndarray, dict[str, slice]]:
    slices, f = {}, 0
    for c, (_v, w) in parts.items():
        slices[c] = slice(f, f + w)
        f += w
    m = np.empty((n, f), dtype=np.float32)
    for c, (chunks, _w) in parts.items():
        r = 0
        for a in chunks:
            m[r: r + len(a), slices[c]] = a  # one pass; float32 copies bitwise, bool -> 0.0/1.0
            r += len(a)
        if r != n:
            raise ConfigError(f"column {c} has {r} rows, expected {n}")
    return m, slices


class FrameLoader:
    """Shuffled batches of frame rows as `{column: float32 tensor [B, F_c]}` (views of one gathered batch, fresh per batch)."""

    def __init__(self, source: str | Path | None = None, split: str = "train", columns: list[str] | None = None, *,
                 batch_size: int = 1024, shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 matrix: np.ndarray | None = None, slices: dict[str, slice] | None = None):
        self.torch = require("torch", "torch")
        if matrix is None:
            if source is None:
                raise ConfigError("FrameLoader needs an export folder (source) or a matrix")
            matrix, slices = load_matrix(source, split, columns)
        if slices is None:
            slices = {"x": slice(0, matrix.shape[1])}
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.matrix = self.torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float32))
        self.slices = dict(slices)
        self.batch_size, self.shuffle, self.seed, self.drop_last = int(batch_size), shuffle, int(seed), drop_last
        self.epoch = 0

    @property
    def num_rows(self) -> int:
        return int(self.matrix.shape[0])

    def __len__(self) -> int:
        n, b = self.num_rows, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle of the next `iter()` (seed + epoch)."""
        self.epoch = int(epoch)

    def order(self, epoch: int | None = None):
        """The row order (int64 tensor [N]) of an epoch."""
        torch = self.torch
        if not self.shuffle:
            return torch.arange(self.num_rows)
        g = torch.Generator().manual_seed(self.seed + (self.epoch if epoch is None else int(epoch)))
        return torch.randperm(self.num_rows, generator=g)

    def __iter__(self) -> Iterator[dict]:
        return self.batches(self.epoch)

    def batches(self, epoch: int | None = None, shard: int = 0, num_shards: int = 1) -> Iterator[dict]:
        """Batches of one epoch; `shard`/`num_shards` take every num_shards-th batch (DataLoader workers)."""
        perm = self.order(epoch).numpy()
        m, b, from_numpy = self.matrix.numpy(), self.batch_size, self.torch.from_numpy
        stop = (self.num_rows // b) * b if self.drop_last else self.num_rows
        for k, i in enumerate(range(0, stop, b)):
            if k % num_shards != shard:
                continue
            # one single-threaded row gather into a fresh array: steadier than torch.index_select, whose
            # intra-op threads cost more than they give for 1024 rows (and collapse on a busy machine)
            rows = from_numpy(np.take(m, perm[i: i + b], axis=0))
            yield {c: rows[:, s] for c, s in self.slices.items()}


def torch_dataset(loader: FrameLoader):
    """A `torch.utils.data.IterableDataset` over `loader`'s batches; use `DataLoader(ds, batch_size=None)`.

    With `num_workers=k` each worker yields every k-th batch of the epoch (`loader.epoch`), so the
    epoch is still every row once.
    """
    torch = require("torch", "torch")

    class _Batches(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            shard, n = (info.id, info.num_workers) if info is not None else (0, 1)
            return loader.batches(loader.epoch, shard, n)

    return _Batches()
