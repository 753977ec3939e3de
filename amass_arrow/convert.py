"""Per-file conversion on the build's workers: read -> motion.process -> one part file.

Each sequence becomes one immutable part file named by (seq_id, source fingerprint, build
settings); its sequences-table row rides in the file's Parquet metadata under ROW_META_KEY, so a
killed build resumes from the parts already written. `convert_task` and `peek_task` are the plain
functions that every executor (amass_arrow/executor) runs; workers keep their body models in a
per-process cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from .bodymodel import BodyModelRegistry
from .config import BuildConfig
from .discover import SourceFile, canonical_dataset
from .errors import BodyModelError, InputError, StoreError
from .objectstore import Tree, is_url, local_copy
from .quality import merge_flags
from .read import peek, read_sequence
from .store import file_entry, write_parquet_atomic

ROW_META_KEY = b"amass_arrow.sequence"


def part_name(seq_id: str, digest: str, key: str) -> str:
    h = hashlib.blake2b(f"{seq_id}\0{digest}\0{key}".encode(), digest_size=10).hexdigest()
    return schema.PART_TEMPLATE.format(key=h)


def part_key(common_key: str, model_key: str | None, fps_override: tuple[float, str] | None) -> str:
    """What determines one part besides its source bytes: the settings every part shares (`common_key`:
    format, code version, motion settings, joint set), its own body-model file and its fps override.

    Adding or removing other datasets or other body models changes none of these, so the part is reused.
    """
    text = json.dumps([common_key, model_key, list(fps_override) if fps_override else None])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Settings:
    """What a conversion task needs besides its file (small; sent once per batch of tasks)."""

    cfg: BuildConfig
    joint_set: str
    key: str  # the settings every part shares (see part_key)
    staging: Path | str  # a local folder, or an object-store prefix URL (s3://bucket/store/builds/<key>)
    model_keys: dict[str, str] = field(default_factory=dict)  # "smplh/male" -> BodyModelRegistry.fingerprint

    @property
    def body_models(self) -> str:
        return str(self.cfg.body_models)


@functools.lru_cache(maxsize=4)
def _registry(body_models: str) -> BodyModelRegistry:
    """This worker process's body models (loaded once per process, whatever the executor)."""
    return BodyModelRegistry(body_models)


def _fps_override(cfg: BuildConfig, src: SourceFile) -> tuple[float, str] | None:
    for k in (src.seq_id, src.dataset, canonical_dataset(src.dataset)):
        if k in cfg.fps_overrides:
            return float(cfg.fps_overrides[k]), f"config fps_overrides[{k!r}]"
    return None


def convert_one(src: SourceFile, settings: Settings) -> dict[str, Any]:
    """Read, process and write one sequence's part file.

    Returns {'row': sequences row, 'file': manifest entry of the part} or {'reject': ...}.
    """
    from .motion import process

    cfg = settings.cfg
    override = _fps_override(cfg, src)
    registry = _registry(settings.body_models)
    try:
        seq = read_sequence(src, fps_override=override)
        try:
            model = registry.get(seq.surface_model, seq.gender)
        except BodyModelError as exc:  # a model the up-front check could not foresee (header unreadable)
            raise InputError(src.rel, "no_body_model", str(exc).splitlines()[0]) from None
        out = process(seq, model, cfg.motion, settings.joint_set)
    except InputError as exc:
        return {"reject": _reject(src, exc.code, exc.message)}
    model_key = (settings.model_keys.get(f"{seq.surface_model}/{model.gender}")
                 or registry.fingerprint(seq.surface_model, seq.gender))
    row = {
        "seq_id": seq.seq_id, "dataset": seq.dataset, "subject": seq.subject, "name": seq.name,
        "source_path": seq.source_path, "canonical_dataset": canonical_dataset(seq.dataset),
        "content_hash": seq.content_hash, "file_size": seq.file_size, "file_mtime_ns": src.mtime_ns,
        "surface_model": seq.surface_model, "gender": seq.gender, "model_gender": model.gender,
        "betas": seq.betas.tolist(), "num_betas": int(seq.betas.size),
        "source_fps": seq.fps, "fps_key": seq.fps_key, "fps_in_file": seq.fps_in_file,
        "fps_override_reason": seq.fps_override_reason, "source_frames": seq.num_frames,
        "has_dmpls": seq.dmpls is not None,
    }
    row.update(out.fields.row())
    fallback = [f"neutral_model_fallback:{seq.gender}"] if model.gender != seq.gender else []
    # process's flags already hold the sequence's own (read) flags: merge, each flag once
    row[schema.QUALITY_FLAGS] = merge_flags(seq.quality_flags, out.fields.quality_flags, fallback)
    name = part_name(seq.seq_id, seq.content_hash, part_key(settings.key, model_key, override))
    rel = f"{schema.partition_dir(seq.dataset, seq.subject)}/{name}"
    row["part"] = rel
    del seq  # the source-rate arrays (hundreds of MB for an hour-long take) are not needed to write
    table = out.frames.replace_schema_metadata({ROW_META_KEY: json.dumps(row, sort_keys=True).encode()})
    if is_url(settings.staging):  # one PUT, hashed in memory: no rename on object storage, none needed
        try:
            entry = Tree(settings.staging).write_parquet(table, rel, **schema.frame_write_options(table.schema))
        except OSError as exc:
            raise StoreError(f"{settings.staging}/{rel}: cannot write the part: {exc}") from None
        return {"row": row, "file": entry}
    path = settings.staging / rel
    write_parquet_atomic(table, path, **schema.frame_write_options(table.schema))
    return {"row": row, "file": file_entry(path, table.num_rows)}  # hashed here, in parallel


def _reject(src: SourceFile, code: str, message: str, digest: str | None = None) -> dict[str, Any]:
    return {"source_path": src.rel, "dataset": src.dataset, "subject": src.subject,
            "reason": code, "message": message, "content_hash": digest}


def convert_task(src: SourceFile, settings: Settings) -> dict[str, Any]:
    """The build's one per-file task, the same under every executor: `convert_one`, turning unexpected
    library errors on bad data into rejects (never the whole build)."""
    try:
        with local_copy(src) as local:  # object-store sources are fetched to a temporary file first
            return convert_one(local, settings)
    except OSError as exc:
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT: the whole build must stop
            raise
        return {"reject": _reject(src, "unreadable", f"I/O error: {exc}")}
    except (ValueError, FloatingPointError, MemoryError) as exc:
        return {"reject": _reject(src, "invalid_data", f"{type(exc).__name__}: {exc}")}
    except StoreError:  # the store cannot be written: the whole build stops
        raise
    except Exception as exc:  # noqa: BLE001 - one odd file never stops a build; the reject names the error
        return {"reject": _reject(src, "internal_error", f"{type(exc).__name__}: {exc} (please report this file's layout)")}


def peek_task(src: SourceFile) -> tuple[str, str] | None:
    """The up-front header peek as an executor task: (surface_model, gender) or None."""
    try:
        with local_copy(src) as local:
            return peek(local)
    except OSError:
        return None  # the conversion reads it again and rejects it with the reason
