"""HumanML3D's index.csv: the clip list keyed to AMASS paths (`source_path,start_frame,end_frame,new_name`), read
by the labels importer and by the official export recipe."""

from __future__ import annotations

import csv
from pathlib import Path

from amass_arrow.errors import LabelError
from amass_arrow.schema import HML3D_INDEX

#: index.csv's paths start with their pose_data folder: `./pose_data/KIT/3/x_poses.npy`
POSE_PREFIX = "pose_data/"


def read_index(path: str | Path) -> list[dict[str, str]]:
    """index.csv's rows as dicts; LabelError naming the file when it cannot be read or lacks a column."""
    p = Path(path)
    try:
        with open(p, newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not set(HML3D_INDEX) <= set(reader.fieldnames):
                raise LabelError(f"{p}: header must have {', '.join(HML3D_INDEX)}; got {reader.fieldnames}")
            return list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def rel_path(source_path: str) -> str:
    """index.csv's `./pose_data/KIT/3/x_poses.npy` -> `KIT/3/x_poses.npy` (their folder, relative to AMASS)."""
    rel = source_path.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel[len(POSE_PREFIX):] if rel.startswith(POSE_PREFIX) else rel
