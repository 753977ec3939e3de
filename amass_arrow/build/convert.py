"""Per-file conversion on the build's workers: read -> motion.process -> one part file (see `parts`).

`convert_task` and `peek_task` are the plain functions that every executor (amass_arrow/executor) runs;
workers keep their body models in a per-process cache. A file that cannot be converted becomes a
rejects row with a reason code, never a failed build (unless the store itself cannot be written).
"""

from __future__ import annotations

import functools
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amass_arrow import schema
from amass_arrow.config import BuildConfig
from amass_arrow.errors import BodyModelError, InputError, StoreError
from amass_arrow.io.atomic import file_entry, write_parquet_atomic
from amass_arrow.io.remote import Tree, is_url, local_copy
from amass_arrow.motion import pipeline
from amass_arrow.motion.bodymodel import BodyModel, BodyModelRegistry
from amass_arrow.motion.quality import merge_flags
from amass_arrow.schema import REJ, SEQ
from amass_arrow.source.discover import SourceFile, canonical_dataset
from amass_arrow.source.read import peek, read_sequence
from amass_arrow.source.sequence import Sequence

from .parts import fps_override, part_key, part_name, part_path, with_row


@dataclass(frozen=True)
class Settings:
    """What a conversion task needs besides its file (small; sent once per batch of tasks)."""

    cfg: BuildConfig
    joint_set: str
    key: str  # the settings every part shares (see part_key)
    staging: Path | str  # a local folder, or an object-store prefix URL (s3://bucket/store/builds/<key>)
    model_keys: dict[str, str] = field(default_factory=dict)  # "smplh/male" -> BodyModelRegistry.fingerprint
    rest_models: dict[str, str] = field(default_factory=dict)  # "smplh/male" -> RestModel file (build._rest_models)

    @property
    def body_models(self) -> str:
        return str(self.cfg.body_models)


@functools.lru_cache(maxsize=4)
def _registry(body_models: str) -> BodyModelRegistry:
    """This worker process's body models (loaded once per process, whatever the executor)."""
    return BodyModelRegistry(body_models)


def convert_one(src: SourceFile, settings: Settings) -> dict[str, Any]:
    """Read, process and write one sequence's part file.

    Returns {'row': sequences row, 'file': manifest entry of the part} or {'reject': ...}.
    """
    lap = pipeline.Laps()  # CPU per stage (motion.STAGE_SECONDS; `make bench`'s stage profile)
    cfg = settings.cfg
    override = fps_override(cfg, src)
    registry = _registry(settings.body_models)
    if settings.rest_models:
        registry.use_rest(settings.rest_models)
    try:
        seq = read_sequence(src, fps_override=override)
        lap("read")
        try:
            model = registry.get(seq.surface_model, seq.gender)
        except BodyModelError as exc:  # a model the up-front check could not foresee (header unreadable)
            raise InputError(src.rel, "no_body_model", str(exc).splitlines()[0]) from None
        out = pipeline.process(seq, model, cfg.motion, settings.joint_set)  # laps its own stages (looked up per call)
        lap.skip()
    except InputError as exc:
        return {"reject": _reject(src, exc.code, exc.message)}
    model_key = (settings.model_keys.get(f"{seq.surface_model}/{model.gender}")
                 or registry.fingerprint(seq.surface_model, seq.gender))
    row = _source_fields(src, seq, model)
    row.update(out.fields.row())
    fallback = [f"neutral_model_fallback:{seq.gender}"] if model.gender != seq.gender else []
    # process's flags already hold the sequence's own (read) flags: merge, each flag once
    row[SEQ.quality_flags] = merge_flags(seq.quality_flags, out.fields.quality_flags, fallback)
    name = part_name(seq.seq_id, seq.content_hash, part_key(settings.key, model_key, override))
    rel = row[SEQ.part] = part_path(seq.dataset, seq.subject, name)
    del seq  # the source-rate arrays (hundreds of MB for an hour-long take) are not needed to write
    table = with_row(out.frames, row)
    lap("row")
    entry = _write_part(table, rel, settings.staging)
    lap("write")
    return {"row": row, "file": entry}


def _source_fields(src: SourceFile, seq: Sequence, model: BodyModel) -> dict[str, Any]:
    """The `sequences` row fields that come from the file as read (process adds the rest)."""
    return {
        SEQ.seq_id: seq.seq_id, SEQ.dataset: seq.dataset, SEQ.subject: seq.subject, SEQ.name: seq.name,
        SEQ.source_path: seq.source_path, SEQ.canonical_dataset: canonical_dataset(seq.dataset),
        SEQ.content_hash: seq.content_hash, SEQ.file_size: seq.file_size, SEQ.file_mtime_ns: src.mtime_ns,
        SEQ.surface_model: seq.surface_model, SEQ.gender: seq.gender, SEQ.model_gender: model.gender,
        SEQ.betas: seq.betas.tolist(), SEQ.num_betas: int(seq.betas.size),
        SEQ.source_fps: seq.fps, SEQ.fps_key: seq.fps_key, SEQ.fps_in_file: seq.fps_in_file,
        SEQ.fps_override_reason: seq.fps_override_reason, SEQ.source_frames: seq.num_frames,
        SEQ.has_dmpls: seq.dmpls is not None,
    }


def _write_part(table, rel: str, staging: Path | str) -> dict[str, Any]:
    """Write one part under `staging` (a folder or an object-store prefix); its manifest entry, hashed here."""
    if is_url(staging):  # one PUT, hashed in memory: no rename on object storage, none needed
        try:
            return Tree(staging).write_parquet(table, rel, **schema.frame_write_options(table.schema))
        except OSError as exc:
            raise StoreError(f"{staging}/{rel}: cannot write the part: {exc}") from None
    path = staging / rel
    write_parquet_atomic(table, path, **schema.frame_write_options(table.schema))
    return file_entry(path, table.num_rows)  # hashed here, in parallel


def _reject(src: SourceFile, code: str, message: str, digest: str | None = None) -> dict[str, Any]:
    return {REJ.source_path: src.rel, REJ.dataset: src.dataset, REJ.subject: src.subject,
            REJ.reason: code, REJ.message: message, REJ.content_hash: digest}


def convert_task(src: SourceFile, settings: Settings) -> dict[str, Any]:
    """The build's one per-file task, the same under every executor: `convert_one`, turning unexpected
    library errors on bad data into rejects (never the whole build)."""
    try:
        with local_copy(src) as local:  # object-store sources are fetched to a temporary file first
            return convert_one(local, settings)
    except OSError as exc:
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT: the whole build must stop, with one line saying why
            raise StoreError(f"{settings.staging}: {exc.strerror} while converting {src.rel}; free space and re-run "
                             f"(converted files are kept, nothing was published)") from None
        return {"reject": _reject(src, "unreadable", f"I/O error: {exc}")}
    except (ValueError, FloatingPointError, MemoryError) as exc:
        return {"reject": _reject(src, "invalid_data", f"{type(exc).__name__}: {exc}")}
    except StoreError:  # the store cannot be written: the whole build stops
        raise
    except Exception as exc:  # noqa: BLE001 - one odd file never stops a build; the reject names the error
        return {"reject": _reject(src, "internal_error", f"{type(exc).__name__}: {exc} at {_place(exc)} "
                                                         f"(please report this file's layout)")}


def _place(exc: BaseException) -> str:
    """Where `exc` was raised: 'module.py:line in function' of the innermost frame."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "an unknown place"
    f = tb[-1]
    return f"{Path(f.filename).name}:{f.lineno} in {f.name}"


def peek_task(src: SourceFile) -> tuple[str, str] | None:
    """The up-front header peek as an executor task: (surface_model, gender) or None."""
    try:
        with local_copy(src) as local:
            return peek(local)
    except OSError:
        return None  # the conversion reads it again and rejects it with the reason
