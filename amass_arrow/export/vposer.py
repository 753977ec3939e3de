"""VPoser (nghorbani/human_body_prior): one folder per split of per-frame tensors, as its data preparation writes them.

`OUT/<split>/` holds (N frames of the split's rows, every `frame_stride`-th frame of each row, float32):

    pose_body.pt    (N, 63)  body joint rotations, axis-angle radians (21 joints, SMPL-H order)
    root_orient.pt  (N, 3)   global root orientation, axis-angle radians (the store's frame)
    betas.pt        (N, num_betas)  the sequence's shape, zero-padded / truncated to `num_betas` (default 16)
    trans.pt        (N, 3)   root translation, metres

VPoser's dataset class loads every `<field>.pt` of a split folder with `torch.load` and indexes them per frame;
split folders keep this repo's names (train / validation / test; VPoser's own scripts call validation 'vald').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..schema import FRM, POSE_COLUMNS, SEQ
from .frames import EXPORT_ROWS
from .registry import Exporter, register
from .units import FRAME_UNIT

#: VPoser's per-frame fields (its file names, in its order): three are the store's frame columns of the same name,
#: betas is the sequence's shape (sequences.betas) repeated on every frame
POSE_FIELDS = (FRM.pose_body, FRM.root_orient, FRM.trans)
BETAS = SEQ.betas
FIELDS = (FRM.pose_body, FRM.root_orient, BETAS, FRM.trans)


@dataclass
class Options:
    frame_stride: int = field(default=1, metadata={"help": "vposer: keep every k-th frame of each split row"})
    num_betas: int = field(default=16, metadata={"help": "vposer: betas per frame (zero-padded / truncated)"})

    def validate(self, where: str) -> None:
        if int(self.frame_stride) < 1 or int(self.num_betas) < 1:
            raise ConfigError(f"{where}: frame_stride and num_betas must be >= 1")


@register
class VPoserExporter(Exporter):
    name = "vposer"
    units = (FRAME_UNIT,)
    columns = POSE_FIELDS
    Options = Options
    summary = "VPoser <split>/{pose_body,root_orient,betas,trans}.pt float32 frame tensors"
    load = "{k: torch.load(f'OUT/<definition>/vposer/train/{k}.pt') for k in ('pose_body', 'root_orient', 'betas', 'trans')}"

    def export(self, ctx, out: Path) -> Path:
        import torch

        opts: Options = ctx.options
        k, nb = int(opts.frame_stride), int(opts.num_betas)
        betas = _betas(ctx.con, nb)
        for split in ctx.split_names():
            parts: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}
            for s in ctx.slices(split):
                n = len(range(0, len(s), k))
                for c in ctx.columns:
                    parts[c].append(s.feats[c][::k])
                parts[BETAS].append(np.broadcast_to(betas[s.seq_id], (n, nb)))
            ctx.update_stats(split, {c: np.concatenate(parts[c]) for c in ctx.columns if parts[c]})
            d = out / split
            d.mkdir(parents=True, exist_ok=True)
            widths = {**{c: POSE_COLUMNS[c] for c in POSE_FIELDS}, BETAS: nb}
            for f in FIELDS:
                v = np.concatenate(parts[f]) if parts[f] else np.zeros((0, widths[f]))
                torch.save(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)), d / f"{f}.pt")
        return out


def _betas(con, nb: int) -> dict[str, np.ndarray]:
    """seq_id -> (nb,) float32 betas of every sequence in the split rows."""
    cur = con.cursor()
    try:
        rows = cur.execute(f"SELECT seq_id, betas FROM sequences WHERE seq_id IN (SELECT DISTINCT seq_id FROM {EXPORT_ROWS})").fetchall()
    finally:
        cur.close()
    out = {}
    for sid, b in rows:
        v = np.zeros(nb, np.float32)
        b = np.asarray(b, np.float32)[:nb]
        v[: len(b)] = b
        out[sid] = v
    return out
