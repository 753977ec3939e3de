"""Part files: one immutable frames file per sequence, what names it, and the `sequences` row it carries.

A part's name hashes (seq_id, source fingerprint, part key). The part key hashes the settings every part
shares (`settings_key`: format, encoding, code version, motion settings, joint set) with the part's own
body-model file and fps override, so adding or removing other datasets or body models leaves it reusable.
Its `sequences` row rides in the file's Parquet schema metadata under ROW_META_KEY, so a killed build
resumes from the parts already written (`row_of`). `convert` writes parts; `build` names and reuses them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from amass_arrow import __version__, schema
from amass_arrow.config import BuildConfig
from amass_arrow.source.discover import SourceFile, canonical_dataset

ROW_META_KEY = b"amass_arrow.sequence"


def settings_key(cfg: BuildConfig, joint_set: str) -> str:
    """Hash of the settings every part shares: format and code version, motion settings, joint set.

    Each part's own key adds its body-model file and fps override (`part_key`), so adding or
    removing datasets or body models converts only what changed.
    """
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps({"format": schema.FORMAT_VERSION, "encoding": schema.FRAME_ENCODING, "version": __version__, "motion": asdict(cfg.motion),
                         "joint_set": joint_set}, sort_keys=True).encode())
    return h.hexdigest()


def part_key(common_key: str, model_key: str | None, fps_override: tuple[float, str] | None) -> str:
    """What determines one part besides its source bytes: the settings every part shares (`common_key`:
    format, code version, motion settings, joint set), its own body-model file and its fps override.

    Adding or removing other datasets or other body models changes none of these, so the part is reused.
    """
    text = json.dumps([common_key, model_key, list(fps_override) if fps_override else None])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def part_name(seq_id: str, digest: str, key: str) -> str:
    """`part-<hash>.parquet`: the file name of a sequence's part (schema.PART_TEMPLATE)."""
    h = hashlib.blake2b(f"{seq_id}\0{digest}\0{key}".encode(), digest_size=10).hexdigest()
    return schema.PART_TEMPLATE.format(key=h)


def part_path(dataset: str, subject: str, name: str) -> str:
    """A part's store-relative path: its (dataset, subject) partition folder, then its name."""
    return f"{schema.partition_dir(dataset, subject)}/{name}"


def fps_override(cfg: BuildConfig, src: SourceFile) -> tuple[float, str] | None:
    """(fps, reason) from `cfg.fps_overrides` for this file (by seq_id, dataset, canonical dataset), or None."""
    for k in (src.seq_id, src.dataset, canonical_dataset(src.dataset)):
        if k in cfg.fps_overrides:
            return float(cfg.fps_overrides[k]), f"config fps_overrides[{k!r}]"
    return None


def with_row(frames: pa.Table, row: dict[str, Any]) -> pa.Table:
    """`frames` carrying its `sequences` row in the schema metadata (what `row_of` reads back)."""
    return frames.replace_schema_metadata({ROW_META_KEY: json.dumps(row, sort_keys=True).encode()})


def row_of(part_schema: pa.Schema) -> dict[str, Any]:
    """The `sequences` row a part file carries; KeyError/ValueError when it has none or a damaged one."""
    return json.loads((part_schema.metadata or {})[ROW_META_KEY])
