"""Per-file conversion on the build's workers: read -> motion.process -> one part file.

Each sequence becomes one immutable part file named by (seq_id, source fingerprint, build
settings); its sequences-table row rides in the file's Parquet metadata under ROW_META_KEY, so a
killed build resumes from the parts already written. `Workers` runs conversions in worker
processes (or in this process for one worker) and does the up-front header peeks too.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from .bodymodel import BodyModelRegistry
from .config import BuildConfig
from .discover import SourceFile, canonical_dataset
from .errors import BodyModelError, InputError
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


_W: dict[str, Any] = {}  # per-process worker state: the body-model registry


@dataclass(frozen=True)
class Settings:
    """What a conversion task needs besides its file (small; sent with every task)."""

    cfg: BuildConfig
    joint_set: str
    key: str  # the settings every part shares (see part_key)
    staging: Path
    model_keys: dict[str, str] = field(default_factory=dict)  # "smplh/male" -> BodyModelRegistry.fingerprint


def _init_worker(body_models: str) -> None:
    _W["registry"] = BodyModelRegistry(body_models)


class Workers:
    """The build's worker processes (this process when workers == 1): header peeks, then conversions."""

    #: one BLAS/OpenMP thread per worker: with N workers on N cores, each library's own thread pool
    #: only oversubscribes the CPU (measured: 2 workers 5.6 s -> 3.8 s for 1M source frames)
    THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

    def __init__(self, workers: int, body_models: str):
        self.ex = None
        self.saved_env: dict[str, str | None] = {}
        if workers > 1:
            # Inherited by the workers through the fork server, which a process starts at its first pool
            # (so in a long-lived process that already has one, workers keep its thread settings).
            for k in self.THREAD_ENV:
                self.saved_env[k] = os.environ.get(k)
                os.environ[k] = "1"
            ctx = mp.get_context("forkserver")  # faster start than spawn; no fork of a threaded parent
            self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                          initargs=(body_models,))
        else:
            _init_worker(body_models)

    def peek(self, files: list[SourceFile]) -> list:
        if self.ex is None or len(files) < 64:
            return [peek(f) for f in files]
        return list(self.ex.map(peek, files, chunksize=64))

    def convert(self, files: list[SourceFile], settings: Settings):
        """Yield (file, result) as conversions finish."""
        if self.ex is None:
            for f in files:
                yield f, _guard(f, settings)
            return
        futs = {self.ex.submit(_guard, f, settings): f for f in files}
        for fut in as_completed(futs):
            yield futs[fut], fut.result()

    def close(self) -> None:
        if self.ex is not None:
            self.ex.shutdown(cancel_futures=True)
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
    registry = _W["registry"]
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
    row.update(out.fields)
    row["quality_flags"] = list(seq.quality_flags) + list(out.fields.get("quality_flags", []))
    if model.gender != seq.gender:
        row["quality_flags"].append(f"neutral_model_fallback:{seq.gender}")
    name = part_name(seq.seq_id, seq.content_hash, part_key(settings.key, model_key, override))
    rel = f"{schema.partition_dir(seq.dataset, seq.subject)}/{name}"
    row["part"] = rel
    del seq  # the source-rate arrays (hundreds of MB for an hour-long take) are not needed to write
    table = out.frames.replace_schema_metadata({ROW_META_KEY: json.dumps(row, sort_keys=True).encode()})
    # Dictionary encoding only for the repeated seq_id: on float columns it never pays and was 6x the
    # write time (and 1.6x the bytes) of plain zstd.
    path = settings.staging / rel
    write_parquet_atomic(table, path, row_group_size=64 * 1024, use_dictionary=[schema.SEQ_ID])
    return {"row": row, "file": file_entry(path, table.num_rows)}  # hashed here, in parallel


def _reject(src: SourceFile, code: str, message: str, digest: str | None = None) -> dict[str, Any]:
    return {"source_path": src.rel, "dataset": src.dataset, "subject": src.subject,
            "reason": code, "message": message, "content_hash": digest}


def _guard(src: SourceFile, settings: Settings) -> dict[str, Any]:
    """convert_one, turning unexpected library errors on bad data into rejects (never the whole build)."""
    try:
        return convert_one(src, settings)
    except OSError as exc:
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT: the whole build must stop
            raise
        return {"reject": _reject(src, "unreadable", f"I/O error: {exc}")}
    except (ValueError, FloatingPointError, MemoryError) as exc:
        return {"reject": _reject(src, "invalid_data", f"{type(exc).__name__}: {exc}")}
    except Exception as exc:  # noqa: BLE001 - one odd file never stops a build; the reject names the error
        return {"reject": _reject(src, "internal_error", f"{type(exc).__name__}: {exc} (please report this file's layout)")}
