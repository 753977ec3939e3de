"""Orchestrates a build: discover -> plan (reuse, resume) -> convert on workers -> publish.

Parts come from `convert` (one immutable file per sequence, named by its inputs and settings).
A killed build resumes from the parts already in staging, an unchanged source reuses its part
from the published build (hard link, its content hash checked against the manifest first: a damaged
part is converted again), and a rebuild of the same input yields the same files and rows. Publishing
writes sequences/rejects/info.json and swaps the store link atomically. The build id names content
(`Manifest.content_id`: every file's hash and the settings); a failed publish leaves only its converted parts in staging.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amass_arrow import __version__, schema
from amass_arrow.build.executor.local import LocalExecutor
from amass_arrow.config import BuildConfig
from amass_arrow.errors import AmassArrowError, BuildError, ConfigError, InputError, StoreError
from amass_arrow.io.atomic import (
    content_hash,
    fault,
    file_entry,
    link_or_copy,
    link_tree,
    write_parquet_atomic,
    write_text_atomic,
)
from amass_arrow.io.remote import Tree, is_url
from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.motion.quality import manifest as quality_manifest
from amass_arrow.schema import REJ, SEQ, SURFACE_MODELS
from amass_arrow.source.discover import SourceFile, discover, misplaced_root
from amass_arrow.source.read import source_fingerprint
from amass_arrow.store.amend import LabelsDroppedWarning, carry_labels, changed_timelines
from amass_arrow.store.layout import StoreLayout
from amass_arrow.store.manifest import Manifest
from amass_arrow.store.open import open_layout, open_store
from amass_arrow.store.remote import ObjectLayout

from .convert import Settings, convert_task, peek_task
from .executor import Executor, make_executor
from .parts import fps_override, part_key, part_name, row_of, settings_key


class LayoutWarning(UserWarning):
    """The archive root looks wrong (built anyway with --force)."""


@dataclass
class BuildResult:
    store: Path
    build_id: str
    converted: int
    reused: int
    rejects: list[dict[str, Any]]
    sequences: int
    frames: int
    per_dataset: dict[str, dict[str, float]]
    changed: bool
    elapsed: float = 0.0
    source_frames: int = 0
    damaged: list[str] = field(default_factory=list)  # published parts that failed their hash and were converted again
    removed: list[str] = field(default_factory=list)  # seq_ids of the previous build that this one no longer holds

    def failure(self) -> str | None:
        """Why this build must not count as a success (the CLI exits non-zero), or None.

        Files rejected `internal_error` (a bug, not bad data; e.g. kernels that failed to load): their count
        and the first one's file and place. The rest of the store is published.
        """
        internal = [r for r in self.rejects if r[REJ.reason] == "internal_error"]
        if not internal:
            return None
        first = internal[0]
        return (f"{len(internal)} file(s) failed with internal_error (a bug, not bad data; the other files are "
                f"published); the first: {first[REJ.source_path]}: {first[REJ.message]}")

    def summary(self) -> str:
        """A plain-text summary table: per dataset, then rejects by reason."""
        lines = dataset_table(self.per_dataset, total=True)
        lines.append(f"converted {self.converted}, reused {self.reused}, rejected {len(self.rejects)}"
                     + ("" if self.changed else " (store already up to date)"))
        if self.removed:
            shown = ", ".join(self.removed[:REPLACE_LIST]) + (" …" if len(self.removed) > REPLACE_LIST else "")
            lines.append(f"removed {len(self.removed)} sequence(s) the previous build held (their files are gone from the "
                         f"archive or were not selected): {shown}")
        if self.damaged:
            lines.append(f"repaired {len(self.damaged)} damaged part(s) of the published build (content differed from "
                         f"info.json), e.g. {self.damaged[0]}")
        if self.rejects:
            lines.append("rejects by reason:")
            for reason, n in sorted(Counter(r[REJ.reason] for r in self.rejects).items()):
                lines.append(f"  {reason:<24}{n:>6}")
            for r in self.rejects[:20]:
                lines.append(f"  - {r[REJ.source_path]}: {r[REJ.message]}")
            if len(self.rejects) > 20:
                lines.append(f"  … {len(self.rejects) - 20} more in rejects.parquet")
        return "\n".join(lines)


def dataset_table(per_dataset: dict[str, dict[str, float]], total: bool = False) -> list[str]:
    """Lines of the per-dataset table (sequences, frames, hours) that `build` and `info` print."""
    lines = [f"{SEQ.dataset:<24}{'sequences':>10}{'frames':>12}{'hours':>9}"]
    rows = sorted(per_dataset.items())
    if total:
        rows.append(("total", {k: sum(r[k] for r in per_dataset.values()) for k in ("sequences", "frames", "hours")}))
    for ds, row in rows:
        lines.append(f"{ds:<24}{int(row['sequences']):>10}{int(row['frames']):>12}{row['hours']:>9.3f}")
    return lines


# ---------------------------------------------------------------- archive identity
#: how many of the sequences a refused replacement lists by name
REPLACE_LIST = 10


def archive_fingerprint(rows: list[dict[str, Any]]) -> str:
    """blake2b over the sorted (source_path, content_hash) of converted files: the archive's content."""
    h = hashlib.blake2b(digest_size=16)
    for r in sorted(rows, key=lambda r: r[SEQ.source_path]):
        h.update(f"{r[SEQ.source_path]}\0{r[SEQ.content_hash]}\n".encode())
    return h.hexdigest()


class _Digests:
    """Content fingerprints of source files (read.source_fingerprint), each file read once per build."""

    def __init__(self, files: list[SourceFile]):
        self.by_rel = {f.rel: f for f in files}
        self._cache: dict[str, str | None] = {}

    def __call__(self, rel: str) -> str | None:
        if rel not in self._cache:
            try:
                self._cache[rel] = source_fingerprint(self.by_rel[rel].path)
            except OSError:
                self._cache[rel] = None  # unreadable now: never reused; the conversion rejects it
        return self._cache[rel]


def _other_archive(old_source: dict[str, Any], root: str, old_rows: dict[str, dict[str, Any]], digests: _Digests) -> bool:
    """True when `root` is not the archive the store was built from.

    The same root path is the same archive. Another root is the same archive moved (or copied) when
    every file it shares with the store has the content hash recorded for it.
    """
    if not old_rows or old_source.get("root") == root:
        return False
    common = [rel for rel in old_rows if rel in digests.by_rel]
    return not common or any(_same_content(digests.by_rel[rel], old_rows[rel], digests) is None for rel in common)


def _check_replacement(layout: StoreLayout, old_source: dict[str, Any], root: str, old_rows: dict[str, dict[str, Any]],
                       kept: set[str], other_archive: bool, *, allow: bool) -> None:
    """Refuse (StoreError, before anything is published) a build that would replace the store's content.

    Refused without `allow` (--replace): removing any sequence when the archive is another one
    (`_other_archive`), or removing more than half of the store's sequences. `kept`: source paths
    that stay in the store.
    """
    gone = sorted(old_rows[rel][SEQ.seq_id] for rel in old_rows if rel not in kept)
    if allow or not gone or (not other_archive and 2 * len(gone) <= len(old_rows)):
        return
    old_root = old_source.get("root")
    why = (f"it was built from {old_root or 'another archive'}, and {root} holds other content" if other_archive
           else f"more than half of its {len(old_rows)} sequences would go")
    shown = ", ".join(gone[:REPLACE_LIST]) + (f", … ({len(gone) - REPLACE_LIST} more)" if len(gone) > REPLACE_LIST else "")
    raise StoreError(
        f"refusing to replace the store at {layout.path}: {why}. This build would remove {len(gone)} of its "
        f"{len(old_rows)} sequences: {shown}. Nothing was published. Re-run with --replace to replace them "
        f"(make: BUILD_ARGS=--replace), or choose another --out"
    )


# ---------------------------------------------------------------- the build
#: the temporary folder (in the store's side folder) of the reduced body models a pool build hands its workers
MODELS_PREFIX = ".models-"


def build(cfg: BuildConfig, *, progress: bool = True) -> BuildResult:
    """Build (or incrementally update) the store at `cfg.out` from `cfg.amass_root`.

    Whole-run problems stop it up front (bad config, unwritable store, no body model for a needed
    type, a replacement of the store's content without `cfg.replace`); a problem with one file
    becomes a row of rejects.parquet.
    """
    t0 = time.perf_counter()
    cfg.validate()
    layout = open_layout(cfg.out)
    layout.check_writable_target()
    with layout.lock():
        if isinstance(layout, StoreLayout):
            _clear_stale_models(layout)
        disc = discover(cfg.amass_root, cfg.datasets or None)
        if not disc.files and not disc.problems:
            raise InputError(str(cfg.amass_root), "no_files", "no motion files (*_poses.npz / *_stageii.npz) found")
        wrong_root = misplaced_root(cfg.amass_root, disc)
        if wrong_root and not cfg.force:
            raise ConfigError(wrong_root)
        if wrong_root:
            warnings.warn(wrong_root, LayoutWarning, stacklevel=2)
        registry = BodyModelRegistry(cfg.body_models)
        previous = _previous(layout)
        executor = make_executor(cfg.executor, cfg.worker_count(), cfg.address)
        rest_dir = None
        try:
            plan = _plan(cfg, layout, disc, registry, previous, executor)
            rest, rest_dir = _rest_models(plan, registry, executor, layout)
            converted = _convert(plan, executor, progress, rest)
        except OSError as exc:
            raise _intact(layout, exc) from None
        finally:
            executor.close()
            if rest_dir is not None:
                shutil.rmtree(rest_dir, ignore_errors=True)
        # again with what was converted: files that now fail count as removed (staging is kept for a re-run)
        _check_replacement(layout, previous.source, plan.root, previous.rows, set(plan.rows), plan.other_archive,
                           allow=cfg.replace)
        if not plan.rows:
            raise BuildError(_nothing_converted(plan.rejects))
        try:
            manifest, changed = (_finish_objects if isinstance(plan.staging, Tree) else _finish)(plan)
        except OSError as exc:
            raise _intact(layout, exc) from None
    src_frames = sum(int(r[SEQ.source_frames]) for r in plan.rows.values())
    removed = sorted(r[SEQ.seq_id] for rel, r in previous.rows.items() if rel not in plan.rows)
    return BuildResult(layout.path, manifest.build_id, converted, plan.reused,
                       sorted(plan.rejects, key=lambda r: r[REJ.source_path]), manifest.num_sequences, manifest.num_frames,
                       manifest.datasets, changed, time.perf_counter() - t0, src_frames, plan.damaged, removed)


def _intact(layout, exc: OSError) -> StoreError:
    return StoreError(
        f"could not write the store ({exc.strerror or exc}: {getattr(exc, 'filename', '')}); "
        f"the previously published store at {layout.path} is intact. Free space and re-run: finished sequences are kept"
    )


def _nothing_converted(rejects: list[dict[str, Any]]) -> str:
    """The error of a build that would publish no sequence: how many files, why, and the first one."""
    by = Counter(r[REJ.reason] for r in rejects)
    first = min(rejects, key=_reject_order) if rejects else None
    return (f"no file converted: all {len(rejects)} rejected ({', '.join(f'{k} {n}' for k, n in sorted(by.items()))}); "
            + (f"the first: {first[REJ.source_path]}: {first[REJ.message]}; " if first else "")
            + "nothing was published (the store, if any, is unchanged)")


@dataclass
class Previous:
    """What the published build holds: its sequence rows (by source path), manifest file entries, recorded source."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    #: a store of another format version: its label files (nothing of it is reused; its rows only guard a replacement)
    foreign_labels: list[str] | None = None


@dataclass
class BuildPlan:
    """What a build will publish, decided with the write lock held before any file is converted.

    `rows`, `entries` and `rejects` start with what is reused and grow as `_convert` lands results.
    """

    cfg: BuildConfig
    layout: StoreLayout | ObjectLayout
    root: str  # the archive root, resolved (recorded in info.json `source`)
    other_archive: bool  # the store was built from another archive (see _check_replacement)
    joint_set: str
    key: str  # settings_key: what every part shares
    staging: Path | Tree  # where parts and tables are written before publishing
    models_used: dict[str, str]  # "model/gender" -> body-model path (info.json)
    model_keys: dict[str, str]  # surface model -> body-model fingerprint (each part's own key)
    rows: dict[str, dict[str, Any]]  # source path -> sequences row
    entries: dict[str, dict[str, Any]]  # part path -> manifest file entry
    rejects: list[dict[str, Any]]  # rows of rejects.parquet
    todo: list[SourceFile]  # files to convert, longest first
    reused: int  # files whose part was reused
    damaged: list[str] = field(default_factory=list)  # published parts whose content failed their recorded hash
    hashed: set[str] = field(default_factory=set)  # parts converted by this run (their entries hashed by the worker)


def _plan(cfg: BuildConfig, layout, disc, registry: BodyModelRegistry, prev: Previous, executor: Executor) -> BuildPlan:
    """Decide what to reuse and what to convert; refuse a replacement up front (see _check_replacement)."""
    root = cfg.amass_root if is_url(cfg.amass_root) else str(Path(cfg.amass_root).resolve())
    digests = _Digests(disc.files)
    other_archive = _other_archive(prev.source, root, prev.rows, digests)
    _check_replacement(layout, prev.source, root, prev.rows, set(digests.by_rel), other_archive, allow=cfg.replace)
    _check_labels_kept(layout, prev, allow=cfg.replace)
    fresh = cfg.force or prev.foreign_labels is not None  # nothing of another format version is reused
    previous = {} if fresh else {rel: r for rel, r in prev.rows.items() if rel in digests.by_rel}
    entries = {} if fresh else dict(prev.entries)
    needs = _needed_models(disc.files, previous, registry, executor)
    joint_set = _resolve_joint_set(cfg.motion.joints, {m for m, _ in needs})
    # absolute paths only (an export run from another folder reads them); workers load the models
    models_used = {f"{m}/{g}": os.path.abspath(registry.resolve(m, g)[0]) for m, g in sorted(needs)}
    model_keys = {fp.partition(":")[0]: fp for fp in (registry.fingerprint(m, g) for m, g in sorted(needs))}
    key = settings_key(cfg, joint_set)
    staging = layout.staging(key)
    if not isinstance(staging, Tree):  # object storage: other builds are pruned after publishing
        staging.mkdir(parents=True, exist_ok=True)
        _clear_other_staging(layout, keep=staging)
        layout.clear_staging(staging)  # a failed publish's tables, manifest, label links: never trusted
    done = {} if cfg.force else _rows_from_parts(staging, known=set(entries))
    damaged: list[str] = []
    rows, todo = _reuse(disc.files, (done, previous), digests, key, registry, cfg, staging, layout.current(),
                        entries, damaged)
    damaged = sorted(set(damaged))
    for part in damaged:
        entries.pop(part, None)
    return BuildPlan(cfg=cfg, layout=layout, root=root, other_archive=other_archive, joint_set=joint_set, key=key,
                     staging=staging, models_used=models_used, model_keys=model_keys, rows=rows, entries=entries,
                     rejects=[_problem_reject(p) for p in disc.problems], todo=todo, reused=len(rows), damaged=damaged)


def _needed_models(files: list[SourceFile], previous: dict[str, dict[str, Any]], registry: BodyModelRegistry,
                   executor: Executor) -> set[tuple[str, str]]:
    """The (surface model, gender) pairs the build needs, checked to exist (BodyModelError otherwise).

    Up front, from cheap header reads on the workers (and the published rows of files already converted),
    so a missing body model is one clear error before any work, not a crash mid-build. Files whose
    header names no known model are left to the conversion, which rejects them.
    """
    unseen = [f for f in files if f.rel not in previous]
    peeks = {f.rel: p for f, p in executor.map(peek_task, unseen, batch=64)}
    for rel, row in previous.items():
        peeks.setdefault(rel, (row[SEQ.surface_model], row[SEQ.gender]))
    needs = {p for p in peeks.values() if p is not None and p[0] in SURFACE_MODELS}
    registry.check(sorted(needs))
    return needs


def _reuse(files: list[SourceFile], candidates: tuple[dict[str, dict[str, Any]], ...], digests: _Digests, key: str,
           registry: BodyModelRegistry, cfg: BuildConfig, staging: Path | Tree, current: Path | Tree | None,
           entries: dict[str, dict[str, Any]] | None = None, damaged: list[str] | None = None,
           ) -> tuple[dict[str, dict[str, Any]], list[SourceFile]]:
    """(rows reused by source path, files to convert longest first).

    What is already done: parts in staging (a killed run) and in the published build (`candidates`, tried
    in that order, each source path -> row), reused when the file's content and the part's own key (its
    body model, its fps override) still match and the part can be put in staging with the content its
    manifest entry in `entries` records (a part that fails is appended to `damaged` and converted again).
    """
    todo: list[SourceFile] = []
    rows: dict[str, dict[str, Any]] = {}
    entries = entries or {}
    for f in files:
        for cand in (c.get(f.rel) for c in candidates):
            row = _reusable(f, cand, digests, key, registry, cfg)
            if row is not None and _ensure_part(row, staging, current, entries.get(row[SEQ.part]), damaged):
                rows[f.rel] = row
                break
        else:
            todo.append(f)
    todo.sort(key=lambda f: -f.size)  # longest first: better load balance
    return rows, todo


def _rest_models(plan: BuildPlan, registry: BodyModelRegistry, executor: Executor, layout) -> tuple[dict[str, str], Path | None]:
    """The needed body models reduced for the workers (BodyModel.save_rest), written once by this process
    while the local pool starts, so that each worker loads them in milliseconds instead of parsing
    every model file itself. None for one worker (this process converts), Ray or object storage."""
    if not (isinstance(executor, LocalExecutor) and executor.workers > 1 and isinstance(plan.staging, Path) and plan.todo):
        return {}, None
    d = Path(tempfile.mkdtemp(prefix=MODELS_PREFIX, dir=layout.side))
    files = {}
    try:
        for key in plan.models_used:
            m, _, g = key.partition("/")
            model = registry.get(m, g)
            files[f"{m}/{model.gender}"] = str(model.save_rest(d / f"{m}_{model.gender}.npz"))
    except BaseException as exc:  # nothing of it is left behind, whatever stopped it
        shutil.rmtree(d, ignore_errors=True)
        if isinstance(exc, OSError):
            raise StoreError(f"could not write the reduced body models in {d.parent}: {exc.strerror or exc}; "
                             f"free space and re-run (nothing was published)") from None
        raise
    return files, d


def _clear_stale_models(layout: StoreLayout) -> None:
    """Remove the reduced body-model folders a killed build left (called with the write lock held, so no
    running build owns one)."""
    for d in layout.side.glob(f"{MODELS_PREFIX}*"):
        shutil.rmtree(d, ignore_errors=True)


def _convert(plan: BuildPlan, executor: Executor, progress: bool, rest_models: dict[str, str] | None = None) -> int:
    """Convert `plan.todo` on the executor, landing rows, part entries and rejects in the plan; returns how many converted.

    rest_models: "model/gender" -> a RestModel file the workers load instead of the model file (_rest_models).
    """
    from tqdm import tqdm

    staging = str(plan.staging) if isinstance(plan.staging, Tree) else plan.staging
    settings = Settings(plan.cfg, plan.joint_set, plan.key, staging, plan.model_keys, rest_models or {})
    converted = 0
    with tqdm(total=sum(f.size for f in plan.todo), unit="B", unit_scale=True, desc="converting", file=sys.stderr,
              disable=None if progress and plan.todo else True, smoothing=0.1) as bar:
        for f, r in executor.map(convert_task, plan.todo, settings):
            if "row" in r:
                plan.rows[r["row"][SEQ.source_path]] = r["row"]
                plan.entries[r["row"][SEQ.part]] = r["file"]
                plan.hashed.add(r["row"][SEQ.part])
                converted += 1
            else:
                plan.rejects.append(r["reject"])
            bar.update(f.size)
            fault("convert")
            if isinstance(plan.layout, ObjectLayout):
                plan.layout.check_lock()  # a writer whose lease lapsed stops here, not at the pointer
    return converted


def _problem_reject(p: InputError) -> dict[str, Any]:
    parts = p.path.split("/")
    return {REJ.source_path: p.path, REJ.dataset: parts[0] if len(parts) > 1 else None,
            REJ.subject: parts[1] if len(parts) > 2 else None, REJ.reason: p.code, REJ.message: p.message,
            REJ.content_hash: None}


def _reject_order(r: dict[str, Any]) -> tuple[str, str]:
    return r[REJ.source_path], r[REJ.reason]


def _resolve_joint_set(joints: str, models: set[str]) -> str:
    if joints != "skeleton":
        return joints
    if len(models) != 1:
        raise ConfigError(
            f"--joints skeleton needs one surface model, but the inputs mix {', '.join(sorted(models))}; "
            f"use --joints body22 (or smplh52 for SMPL+H with SMPL-X)"
        )
    return schema.SKELETON_SET[next(iter(models))]


def _same_content(f: SourceFile, row: dict[str, Any] | None, digests: _Digests) -> str | None:
    """`f`'s content hash when `row` was made from the same content, else None.

    Local files: the content hash is always compared, since size and mtime survive a rewrite (`cp -p`,
    rsync -t, a restored backup). Objects (s3://…): an object's LastModified is set by the server at
    every write and no client can keep it, so size + mtime identify the content; a rewritten object is
    converted again rather than downloaded to compare.
    """
    if row is None or row.get(SEQ.file_size) != f.size:
        return None
    if is_url(str(f.path)):
        return row.get(SEQ.content_hash) if row.get(SEQ.file_mtime_ns) == f.mtime_ns else None
    digest = digests(f.rel)
    return digest if digest is not None and digest == row.get(SEQ.content_hash) else None


def _reusable(f: SourceFile, row: dict[str, Any] | None, digests: _Digests, key: str,
              registry: BodyModelRegistry, cfg: BuildConfig) -> dict[str, Any] | None:
    """`row` (with the file's current mtime) if its part is still right for `f`, else None.

    Same content (`_same_content`), and the part's name matches the per-part key of today's settings,
    the body-model file this row's model and gender resolve to, and this file's fps override.
    """
    digest = _same_content(f, row, digests)
    if digest is None or not row[SEQ.part].startswith(schema.FRAMES_DIR):
        return None
    pkey = part_key(key, registry.fingerprint(row[SEQ.surface_model], row[SEQ.gender]), fps_override(cfg, f))
    if not row[SEQ.part].endswith("/" + part_name(row[SEQ.seq_id], digest, pkey)):
        return None
    return dict(row, file_mtime_ns=f.mtime_ns)


def _ensure_part(row: dict[str, Any], staging: Path | Tree, current: Path | Tree | None,
                 entry: dict[str, Any] | None = None, damaged: list[str] | None = None) -> bool:
    """Make `row[SEQ.part]` exist in staging (hard link from the published build); False if impossible.

    A part with a manifest `entry` must have its recorded size and content hash (local stores; on object
    storage its size, the copy is made server-side when publishing); one that fails is named in `damaged`.
    """
    part = row[SEQ.part]
    if isinstance(staging, Tree):  # object storage: this build's prefix, else the published one (copied at publish)
        size = staging.size(part)
        if size is None and current is not None:
            size = current.size(part)
        ok = size is not None and (entry is None or entry.get("bytes") == size)
        if size is not None and not ok and damaged is not None:
            damaged.append(part)
        return ok
    dst = staging / part
    if not dst.is_file():
        if current is None or not (current / part).is_file():
            return False
        link_or_copy(current / part, dst)
    if entry is not None and (dst.stat().st_size != entry.get("bytes") or content_hash(dst) != entry.get("blake2b")):
        dst.unlink()  # damaged (a flipped byte, a truncation): never reused, never recorded
        if damaged is not None:
            damaged.append(part)
        return False
    return True


def _rows_from_parts(staging: Path | Tree, known: set[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Rows of the parts already written in staging (a killed build's), from each part's metadata; `known` skipped."""
    if isinstance(staging, Tree):
        return _rows_from_objects(staging, known)
    rows = {}
    frames = staging / schema.FRAMES_DIR
    if not frames.is_dir():
        return rows
    for p in frames.rglob("part-*.parquet"):
        try:
            row = row_of(pq.read_schema(p))
        except (OSError, KeyError, ValueError, pa.ArrowException):
            p.unlink(missing_ok=True)  # a damaged leftover: convert again
            continue
        rows[row[SEQ.source_path]] = row
    return rows


def _rows_from_objects(staging: Tree, known: set[str]) -> dict[str, dict[str, Any]]:
    rows = {}
    for rel in sorted(staging.files(schema.FRAMES_DIR)):
        if rel in known or not rel.endswith(".parquet"):
            continue
        try:
            row = row_of(staging.read_schema(rel))
        except (OSError, KeyError, ValueError, pa.ArrowException):
            staging.delete(rel)  # a damaged leftover: convert again
            continue
        rows[row[SEQ.source_path]] = row
    return rows


def _previous(layout: StoreLayout) -> Previous:
    """The published build's rows, file entries and recorded source (empty when there is none or it is unreadable)."""
    if layout.current() is None:
        return Previous()
    try:
        store = open_store(layout.path, lease=False)
        table = store.sequences()
    except (AmassArrowError, OSError, pa.ArrowException):
        return _previous_of_another_version(layout)
    return Previous({r[SEQ.source_path]: r for r in table.to_pylist()}, dict(store.info.files),
                    _recorded_source(store.info.source, store.info.config))


def _recorded_source(source: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    source = dict(source)
    if not source.get("root") and config.get("amass_root"):  # stores from before `source` existed
        old = str(config["amass_root"])
        source["root"] = old if is_url(old) or Path(old).is_absolute() else None
    return source


def _previous_of_another_version(layout: StoreLayout) -> Previous:
    """A published build this version cannot read (another format version): nothing of it is reused, but its
    rows still guard against a replacement (`_check_replacement`) and its labels are named (`_check_labels_kept`).
    Empty when it is unreadable for another reason (then this build replaces it whole)."""
    root = layout.current()
    if not isinstance(root, Path):  # object storage: replaced whole, as before
        return Previous()
    try:
        data = json.loads((root / schema.INFO_PATH).read_text())
        if not isinstance(data, dict) or data.get("format_version") == schema.FORMAT_VERSION:
            return Previous()
        cols = [SEQ.source_path, SEQ.seq_id, SEQ.file_size, SEQ.content_hash, SEQ.file_mtime_ns]
        seqs = pq.read_table(root / schema.SEQUENCES_PATH)
        table = seqs.select([c for c in cols if c in seqs.column_names])
    except (OSError, ValueError, pa.ArrowException):
        return Previous()
    labels = sorted(p.stem for p in (root / schema.LABELS_DIR).glob("*.parquet"))
    return Previous({r[SEQ.source_path]: r for r in table.to_pylist()}, {},
                    _recorded_source(data.get("source") or {}, data.get("config") or {}), foreign_labels=labels)


def _check_labels_kept(layout: StoreLayout, prev: Previous, allow: bool) -> None:
    """Refuse (before anything is published) to rebuild over a store of another format version that holds label
    tables: they cannot be carried over, so the user re-imports them (`--replace` confirms)."""
    if not prev.foreign_labels or allow:
        return
    names = ", ".join(prev.foreign_labels)
    raise StoreError(
        f"{layout.path} was built by another amass-arrow format version and holds labels ({names}) that a rebuild "
        f"cannot carry over. Nothing was published. Re-run with --replace to rebuild it, then import them again "
        f"(amass-arrow labels import SOURCE {layout.path} ...; make labels STORE={layout.path} ...)"
    )


def _clear_other_staging(layout: StoreLayout, keep: Path) -> None:
    for d in layout.stagings():
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)


def _finish(plan: BuildPlan) -> tuple[Manifest, bool]:
    """Publish on a local disk: drop stale parts, write tables and manifest into staging, rename it into place.

    Nothing is published when the build id (content) equals the current build's and nothing was repaired
    (unless --force). A failure leaves staging with its parts only (`StoreLayout.clear_staging`).
    """
    layout, staging = plan.layout, plan.staging
    ordered = sorted(plan.rows.values(), key=lambda r: r[SEQ.seq_id])
    _drop_stale_parts(staging, keep={r[SEQ.part] for r in ordered})
    seq_table, rej_table = _tables(ordered, plan.rejects)
    files = _part_entries(ordered, plan.entries, lambda rel: (staging / rel).stat().st_size,
                          lambda rel, rows: file_entry(staging / rel, rows))
    current = layout.current()
    try:
        for rel, table in ((schema.SEQUENCES_PATH, seq_table), (schema.REJECTS_PATH, rej_table)):
            fault(f"write:{rel}")
            write_parquet_atomic(table, staging / rel)
            files[rel] = file_entry(staging / rel, table.num_rows)
        old = _published_manifest(layout) if current is not None else None
        labels, dropped = {}, None
        if old is not None and (current / schema.LABELS_DIR).is_dir():  # labels survive a rebuild ...
            labels = copy.deepcopy(old.labels)
            # ... except those of sequences whose timeline changed: their seconds no longer hold
            rewrite, dropped = carry_labels(lambda rel: pq.read_table(current / rel), labels, old.files,
                                            changed_timelines(pq.read_table(current / schema.SEQUENCES_PATH), ordered),
                                            str(layout.path))
            link_tree(current / schema.LABELS_DIR, staging / schema.LABELS_DIR,
                      skip={rel[len(schema.LABELS_DIR) + 1:] for rel in rewrite})
            files.update({k: v for k, v in old.files.items() if k.startswith(schema.LABELS_DIR + "/")})
            for rel, table in rewrite.items():
                write_parquet_atomic(table, staging / rel)
                files[rel] = file_entry(staging / rel, table.num_rows)
        manifest = _manifest(plan, "", ordered, rej_table.num_rows, files)
        manifest.labels = labels
        build_id = manifest.build_id = manifest.content_id()
        if old is not None and old.build_id == build_id and not plan.cfg.force and not plan.damaged \
                and _tables_intact(current, old, files):
            shutil.rmtree(staging, ignore_errors=True)
            return old, False
        fault(f"write:{schema.INFO_PATH}")
        write_text_atomic(manifest.to_json(), staging / schema.INFO_PATH)
        layout.publish(staging, build_id, replace=True)
    except BaseException:
        layout.clear_staging(staging)
        raise
    if dropped:
        warnings.warn(dropped, LabelsDroppedWarning, stacklevel=3)
    return manifest, True


def _published_manifest(layout: StoreLayout) -> Manifest | None:
    """The current build's manifest, or None when it cannot be read (then this build replaces it whole)."""
    try:
        return open_store(layout.path, lease=False).info
    except AmassArrowError:
        return None


def _tables_intact(current: Path, old: Manifest, files: dict[str, dict[str, Any]]) -> bool:
    """The published build's tables still hold the content its manifest records (the parts were checked
    when reused), so a build of the same content id has nothing to repair."""
    for rel in (schema.SEQUENCES_PATH, schema.REJECTS_PATH):
        e = old.files.get(rel)
        p = current / rel
        if e is None or not p.is_file() or p.stat().st_size != e.get("bytes") or content_hash(p) != e.get("blake2b"):
            return False
    return set(old.files) == set(files)


def _drop_stale_parts(staging: Path, keep: set[str]) -> None:
    """Delete the files under staging's frames/ not in `keep` (parts of vanished or changed sources, temp
    leftovers), then the folders that became empty."""
    frames_dir = staging / schema.FRAMES_DIR
    if not frames_dir.is_dir():
        return
    for p in sorted(frames_dir.rglob("*"), reverse=True):
        rel = p.relative_to(staging).as_posix()
        if p.is_file() and rel not in keep:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def _part_entries(ordered: list[dict[str, Any]], entries: dict[str, dict[str, Any]], size: Callable[[str], int | None],
                  entry: Callable[[str, int], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Manifest entries of the parts: the one hashed by a worker or kept from the published build while its
    rows and bytes still match (`size(rel)`), else a fresh `entry(rel, rows)`."""
    files: dict[str, dict[str, Any]] = {}
    for r in ordered:
        part, rows = r[SEQ.part], int(r[SEQ.num_frames])
        e = entries.get(part)
        ok = e is not None and e.get("rows") == rows and e.get("bytes") == size(part)
        files[part] = e if ok else entry(part, rows)
    return files


def _tables(ordered: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """(sequences table, rejects table) of a build (its id: `Manifest.content_id`)."""
    seq_table = sequences_table(ordered)
    rej_table = pa.Table.from_pylist(sorted(rejects, key=_reject_order), schema=schema.REJECT_SCHEMA)
    return seq_table, rej_table


def _manifest(plan: BuildPlan, build_id: str, ordered: list[dict[str, Any]], num_rejects: int,
              files: dict[str, dict[str, Any]]) -> Manifest:
    cfg, joint_set = plan.cfg, plan.joint_set
    per_dataset: dict[str, dict[str, float]] = defaultdict(lambda: {"sequences": 0, "frames": 0, "hours": 0.0})
    for r in ordered:
        d = per_dataset[r[SEQ.dataset]]
        d["sequences"] += 1
        d["frames"] += int(r[SEQ.num_frames])
        d["hours"] += float(r[SEQ.duration]) / 3600.0
    m = cfg.motion
    return Manifest(
        format_version=schema.FORMAT_VERSION, build_id=build_id,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        fps=float(m.fps) if m.resample == "interpolate" else None, resample=m.resample,
        joint_set=joint_set, joint_names=list(schema.JOINT_SETS[joint_set]), frame=m.frame,
        contacts={**m.contact_info(), "columns": schema.CONTACT_COLUMNS, "foot_joints": schema.FOOT_JOINTS,
                  "floor": m.floor},
        num_sequences=len(ordered), num_frames=int(sum(int(r[SEQ.num_frames]) for r in ordered)),
        num_rejects=num_rejects, datasets={k: dict(v) for k, v in sorted(per_dataset.items())},
        body_models=plan.models_used, config=_public_config(cfg), software=_software(), files=files,
        joint_velocities=m.joint_velocities, quality=quality_manifest(m.quality),
        source={"root": plan.root, "fingerprint": archive_fingerprint(ordered), "files": len(ordered)},
    )


def _finish_objects(plan: BuildPlan) -> tuple[Manifest, bool]:
    """Publish on object storage: reused parts copied into this build's prefix, tables and manifest written
    there, then the pointer swapped (see store/remote.py). Nothing is written under a prefix a pointer names."""
    layout, staging, entries = plan.layout, plan.staging, plan.entries
    ordered = sorted(plan.rows.values(), key=lambda r: r[SEQ.seq_id])
    seq_table, rej_table = _tables(ordered, plan.rejects)
    pointer = layout.pointer()
    current = layout.current()
    old = Manifest.from_dict(pointer["info"], f"{layout.url}/_current.json") if pointer is not None else None
    have = staging.files(schema.FRAMES_DIR)
    if old is not None and not plan.cfg.force and not plan.damaged and not set(have) \
            and {r[SEQ.part] for r in ordered} == {k for k in old.files if k.startswith(schema.FRAMES_DIR + "/")} \
            and _same_tables(seq_table, rej_table, old) and _content_id(plan, ordered, rej_table, old) == old.build_id:
        return old, False  # every part reused from the published build and the same tables: nothing to do
    copied = set()
    for r in ordered:  # reused parts: a server-side copy from the published build
        if r[SEQ.part] not in have:
            staging.copy_in(current, r[SEQ.part])
            copied.add(r[SEQ.part])
    # entries trusted: hashed by this run's workers, or copied byte for byte; a resumed part is hashed here
    # (a part of the same name from another run may differ in its metadata, e.g. the source's mtime)
    trusted = {p: e for p, e in entries.items() if p in plan.hashed or p in copied}
    files = _part_entries(ordered, trusted, staging.files(schema.FRAMES_DIR).get, staging.file_entry)
    for rel, table in ((schema.SEQUENCES_PATH, seq_table), (schema.REJECTS_PATH, rej_table)):
        fault(f"write:{rel}")
        files[rel] = staging.write_parquet(table, rel)
    labels, dropped = {}, None
    if old is not None and old.labels:  # labels survive a rebuild ...
        labels = copy.deepcopy(old.labels)
        # ... except those of sequences whose timeline changed: their seconds no longer hold
        rewrite, dropped = carry_labels(current.read_table, labels, old.files,
                                        changed_timelines(current.read_table(schema.SEQUENCES_PATH), ordered),
                                        layout.url)
        for rel in (k for k in old.files if k.startswith(schema.LABELS_DIR + "/")):
            if rel in rewrite:
                files[rel] = staging.write_parquet(rewrite[rel], rel)
                continue
            staging.copy_in(current, rel)
            files[rel] = old.files[rel]
    manifest = _manifest(plan, "", ordered, rej_table.num_rows, files)
    manifest.labels = labels
    manifest.build_id = manifest.content_id()
    info = manifest.to_json()
    fault(f"write:{schema.INFO_PATH}")
    staging.write_bytes(schema.INFO_PATH, info.encode())
    layout.publish(staging, info, keep=set(manifest.files), previous=current)
    if dropped:
        warnings.warn(dropped, LabelsDroppedWarning, stacklevel=3)
    return manifest, True


def _content_id(plan: BuildPlan, ordered: list[dict[str, Any]], rej_table: pa.Table, old: Manifest) -> str:
    """The id this build would have if it kept the published build's files (and labels) as they are."""
    m = _manifest(plan, "", ordered, rej_table.num_rows, dict(old.files))
    m.labels = old.labels
    return m.content_id()


def _same_tables(seq_table: pa.Table, rej_table: pa.Table, old: Manifest) -> bool:
    """The tables this build would write hash to what the published manifest records."""
    for rel, table in ((schema.SEQUENCES_PATH, seq_table), (schema.REJECTS_PATH, rej_table)):
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        if hashlib.blake2b(buf.getvalue(), digest_size=16).hexdigest() != old.files.get(rel, {}).get("blake2b"):
            return False
    return True


def sequences_table(rows: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema.SEQUENCE_SCHEMA}
    return pa.Table.from_pydict(cols, schema=schema.SEQUENCE_SCHEMA)


def _public_config(cfg: BuildConfig) -> dict[str, Any]:
    d = asdict(cfg)
    for k in ("force", "replace", "workers", "executor", "address"):  # how it ran, not what it made: the same manifest however run
        d.pop(k, None)
    return d


def _software() -> dict[str, str]:
    return {"amass_arrow": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "pyarrow": pa.__version__}
