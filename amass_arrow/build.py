"""Orchestrates a build: discover -> plan (reuse, resume) -> convert on workers -> publish.

Parts come from `convert` (one immutable file per sequence, named by its inputs and settings).
A killed build resumes from the parts already in staging, an unchanged source reuses its part
from the published build (hard link), and a rebuild of the same input yields the same files and
rows. Publishing writes sequences/rejects/info.json and swaps the store link atomically.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import shutil
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__, schema
from .bodymodel import BodyModelRegistry
from .config import BuildConfig
from .convert import ROW_META_KEY, Settings, convert_task, part_name, peek_task
from .discover import SourceFile, discover
from .errors import AmassArrowError, ConfigError, InputError, StoreError
from .executor import Executor, make_executor
from .objectstore import ObjectLayout, Tree, is_url
from .quality import manifest as quality_manifest
from .read import source_fingerprint
from .store import (
    Manifest,
    Store,
    StoreLayout,
    WriteLock,
    content_hash,
    file_entry,
    link_or_copy,
    link_tree,
    write_parquet_atomic,
    write_text_atomic,
)


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

    def summary(self) -> str:
        """A plain-text summary table: per dataset, then rejects by reason."""
        lines = dataset_table(self.per_dataset, total=True)
        lines.append(f"converted {self.converted}, reused {self.reused}, rejected {len(self.rejects)}"
                     + ("" if self.changed else " (store already up to date)"))
        if self.rejects:
            lines.append("rejects by reason:")
            for reason, n in sorted(Counter(r["reason"] for r in self.rejects).items()):
                lines.append(f"  {reason:<24}{n:>6}")
            for r in self.rejects[:20]:
                lines.append(f"  - {r['source_path']}: {r['message']}")
            if len(self.rejects) > 20:
                lines.append(f"  … {len(self.rejects) - 20} more in rejects.parquet")
        return "\n".join(lines)


def dataset_table(per_dataset: dict[str, dict[str, float]], total: bool = False) -> list[str]:
    """Lines of the per-dataset table (sequences, frames, hours) that `build` and `info` print."""
    lines = [f"{'dataset':<24}{'sequences':>10}{'frames':>12}{'hours':>9}"]
    rows = sorted(per_dataset.items())
    if total:
        rows.append(("total", {k: sum(r[k] for r in per_dataset.values()) for k in ("sequences", "frames", "hours")}))
    for ds, row in rows:
        lines.append(f"{ds:<24}{int(row['sequences']):>10}{int(row['frames']):>12}{row['hours']:>9.3f}")
    return lines


# ---------------------------------------------------------------- settings hash
def settings_key(cfg: BuildConfig, joint_set: str, models: dict[str, str]) -> str:
    """Hash of everything besides the source bytes that changes a part file's content (code version included)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps({"format": schema.FORMAT_VERSION, "version": __version__, "motion": asdict(cfg.motion),
                         "joint_set": joint_set,
                         "models": models, "fps_overrides": cfg.fps_overrides}, sort_keys=True).encode())
    return h.hexdigest()


def _file_fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{content_hash(path)}"


# ---------------------------------------------------------------- the build
def build(cfg: BuildConfig, *, progress: bool = True) -> BuildResult:
    """Build (or incrementally update) the store at `cfg.out` from `cfg.amass_root`."""
    import time

    t0 = time.perf_counter()
    cfg.validate()
    layout = ObjectLayout(cfg.out) if is_url(cfg.out) else StoreLayout(cfg.out)
    layout.check_writable_target()
    with layout.lock() if is_url(cfg.out) else WriteLock(layout):
        disc = discover(cfg.amass_root, cfg.datasets or None)
        if not disc.files and not disc.problems:
            raise InputError(str(cfg.amass_root), "no_files", "no motion files (*_poses.npz / *_stageii.npz) found")
        registry = BodyModelRegistry(cfg.body_models)
        previous, entries = _previous_rows(layout, cfg.force)
        executor = make_executor(cfg.executor, cfg.workers, cfg.address)
        try:
            return _build(cfg, layout, disc, registry, previous, entries, executor, progress, t0)
        finally:
            executor.close()


def _build(cfg, layout, disc, registry, previous, entries, executor: Executor, progress, t0) -> BuildResult:
    """The build proper, with the write lock held and the executor started by `build`."""
    import time

    # Up front: which surface models / genders are needed (cheap header reads, on the workers),
    # so a missing body model is one clear error before any work, not a crash mid-build.
    unseen = [f for f in disc.files if f.rel not in previous]
    peeks = {f.rel: p for f, p in executor.map(peek_task, unseen, batch=64)}
    for rel, row in previous.items():
        peeks.setdefault(rel, (row["surface_model"], row["gender"]))
    needs = {p for p in peeks.values() if p is not None}
    registry.check(sorted(needs))
    joint_set = _resolve_joint_set(cfg.motion.joints, {m for m, _ in needs})
    models_used = {f"{m}/{g}": str(registry.resolve(m, g)[0]) for m, g in sorted(needs)}  # paths only: workers load
    model_hashes = {k: _file_fingerprint(Path(p)) for k, p in models_used.items()}
    key = settings_key(cfg, joint_set, model_hashes)
    staging = layout.staging(key)
    if not isinstance(staging, Tree):  # object storage: other builds are pruned after publishing
        staging.mkdir(parents=True, exist_ok=True)
        _clear_other_staging(layout, keep=staging)

    # What is already done: parts in staging (a killed run) and in the published build.
    done = {} if cfg.force else _rows_from_parts(staging, known=set(entries))
    current = layout.current()
    todo: list[SourceFile] = []
    rows: dict[str, dict[str, Any]] = {}
    rejects = [_problem_reject(p) for p in disc.problems]
    reused = 0
    for f in disc.files:
        row = _reusable(f, done.get(f.rel)) or _reusable(f, previous.get(f.rel))
        if row is not None and row["part"].startswith(schema.FRAMES_DIR) and _ensure_part(row, staging, current, key):
            rows[f.rel] = row
            reused += 1
        else:
            todo.append(f)

    todo.sort(key=lambda f: -f.size)  # longest first: better load balance
    results = _run(todo, executor, Settings(cfg, joint_set, key, str(staging) if isinstance(staging, Tree) else staging), progress)
    for r in results:
        if "row" in r:
            rows[r["row"]["source_path"]] = r["row"]
            entries[r["row"]["part"]] = r["file"]
        else:
            rejects.append(r["reject"])

    try:
        finish = _finish_objects if isinstance(staging, Tree) else _finish
        manifest, changed = finish(layout, staging, cfg, joint_set, key, rows, rejects, models_used, entries)
    except OSError as exc:
        raise StoreError(
            f"could not write the store ({exc.strerror or exc}: {getattr(exc, 'filename', '')}); "
            f"the previously published store at {layout.path} is intact. Free space and re-run: finished sequences are kept"
        ) from None

    src_frames = sum(int(r["source_frames"]) for r in rows.values())
    res = BuildResult(layout.path, manifest.build_id, len(todo) - sum("reject" in r for r in results), reused,
                      sorted(rejects, key=lambda r: r["source_path"]), manifest.num_sequences, manifest.num_frames,
                      manifest.datasets, changed, time.perf_counter() - t0, src_frames)
    return res


def _run(todo: list[SourceFile], executor: Executor, settings: Settings, progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm

    results = []
    with tqdm(total=sum(f.size for f in todo), unit="B", unit_scale=True, desc="converting", file=sys.stderr,
              disable=None if progress and todo else True, smoothing=0.1) as bar:
        for f, result in executor.map(convert_task, todo, settings):
            results.append(result)
            bar.update(f.size)
    return results


def _problem_reject(p: InputError) -> dict[str, Any]:
    parts = p.path.split("/")
    return {"source_path": p.path, "dataset": parts[0] if len(parts) > 1 else None,
            "subject": parts[1] if len(parts) > 2 else None, "reason": p.code, "message": p.message, "content_hash": None}


def _resolve_joint_set(joints: str, models: set[str]) -> str:
    if joints != "skeleton":
        return joints
    if len(models) != 1:
        raise ConfigError(
            f"--joints skeleton needs one surface model, but the inputs mix {', '.join(sorted(models))}; "
            f"use --joints body22 (or smplh52 for SMPL+H with SMPL-X)"
        )
    return schema.SKELETON_SET[next(iter(models))]


def _reusable(f: SourceFile, row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    if row.get("file_size") == f.size and row.get("file_mtime_ns") == f.mtime_ns:
        return row
    if is_url(str(f.path)):  # a rewritten object: convert it again rather than download it to compare
        return None
    if row.get("file_size") == f.size and source_fingerprint(f.path) == row.get("content_hash"):
        return dict(row, file_mtime_ns=f.mtime_ns)
    return None


def _ensure_part(row: dict[str, Any], staging: Path | Tree, current: Path | None, key: str) -> bool:
    """Make `row['part']` exist in staging (hard link from the published build); False if impossible."""
    if isinstance(staging, Tree):  # object storage: the published parts of these settings are already there
        return staging.size(row["part"]) is not None
    dst = staging / row["part"]
    if dst.is_file():
        return True
    if current is None or not row["part"].endswith(part_name(row["seq_id"], row["content_hash"], key)):
        return False
    src = current / row["part"]
    if not src.is_file():
        return False
    link_or_copy(src, dst)
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
            meta = pq.read_schema(p).metadata or {}
            row = json.loads(meta[ROW_META_KEY])
        except (OSError, KeyError, ValueError, pa.ArrowException):
            p.unlink(missing_ok=True)  # a damaged leftover: convert again
            continue
        rows[row["source_path"]] = row
    return rows


def _rows_from_objects(staging: Tree, known: set[str]) -> dict[str, dict[str, Any]]:
    rows = {}
    for rel in sorted(staging.files(schema.FRAMES_DIR)):
        if rel in known or not rel.endswith(".parquet"):
            continue
        try:
            row = json.loads((staging.read_schema(rel).metadata or {})[ROW_META_KEY])
        except (OSError, KeyError, ValueError, pa.ArrowException):
            staging.delete(rel)  # a damaged leftover: convert again
            continue
        rows[row["source_path"]] = row
    return rows


def _previous_rows(layout: StoreLayout, force: bool) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The published build's sequence rows (by source path) and manifest file entries; empty with --force."""
    if force or layout.current() is None:
        return {}, {}
    try:
        store = Store(layout.path)
        table = store.sequences()
    except (AmassArrowError, OSError, pa.ArrowException):
        return {}, {}
    return {r["source_path"]: r for r in table.to_pylist()}, dict(store.info.files)


def _clear_other_staging(layout: StoreLayout, keep: Path) -> None:
    for d in layout.side.glob("staging-*"):
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)


def _finish(layout, staging, cfg, joint_set, key, rows, rejects, models_used, entries) -> tuple[Manifest, bool]:
    ordered = sorted(rows.values(), key=lambda r: r["seq_id"])
    keep = {r["part"] for r in ordered}
    frames_dir = staging / schema.FRAMES_DIR
    if frames_dir.is_dir():  # drop parts of vanished or changed sources, and temp leftovers
        for p in sorted(frames_dir.rglob("*"), reverse=True):
            rel = p.relative_to(staging).as_posix()
            if p.is_file() and rel not in keep:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()

    seq_table, rej_table, build_id = _tables(ordered, rejects, key)
    files: dict[str, dict[str, Any]] = {}
    for r in ordered:  # entries hashed by the workers or kept from the published build; others now
        e = entries.get(r["part"])
        ok = e is not None and e.get("rows") == int(r["num_frames"]) and e.get("bytes") == (staging / r["part"]).stat().st_size
        files[r["part"]] = e if ok else file_entry(staging / r["part"], int(r["num_frames"]))
    current = layout.current()
    if current is not None and current.name == build_id:
        shutil.rmtree(staging, ignore_errors=True)
        return Store(layout.path).info, False

    write_parquet_atomic(seq_table, staging / schema.SEQUENCES_PATH)
    write_parquet_atomic(rej_table, staging / schema.REJECTS_PATH)
    files[schema.SEQUENCES_PATH] = file_entry(staging / schema.SEQUENCES_PATH, seq_table.num_rows)
    files[schema.REJECTS_PATH] = file_entry(staging / schema.REJECTS_PATH, rej_table.num_rows)
    manifest = _manifest(cfg, joint_set, build_id, ordered, rej_table.num_rows, models_used, files)
    if current is not None and (current / schema.LABELS_DIR).is_dir():  # labels survive a rebuild
        link_tree(current / schema.LABELS_DIR, staging / schema.LABELS_DIR)
        old = Store(layout.path).info
        manifest.labels = old.labels
        manifest.files.update({k: v for k, v in old.files.items() if k.startswith(schema.LABELS_DIR + "/")})
    write_text_atomic(manifest.to_json(), staging / schema.INFO_PATH)
    layout.publish(staging, build_id)
    return manifest, True


def _tables(ordered: list[dict[str, Any]], rejects: list[dict[str, Any]], key: str) -> tuple[pa.Table, pa.Table, str]:
    """(sequences table, rejects table, build id): the id hashes the settings key, the parts and the rejects."""
    seq_table = sequences_table(ordered)
    rej_table = pa.Table.from_pylist(sorted(rejects, key=lambda r: (r["source_path"], r["reason"])), schema=schema.REJECT_SCHEMA)
    h = hashlib.blake2b(digest_size=8)
    h.update(key.encode())
    for r in ordered:
        h.update(r["part"].encode())
    for r in sorted(rejects, key=lambda r: (r["source_path"], r["reason"])):
        h.update(f"{r['source_path']}\0{r['reason']}".encode())
    return seq_table, rej_table, h.hexdigest()


def _manifest(cfg, joint_set: str, build_id: str, ordered: list[dict[str, Any]], num_rejects: int,
              models_used: dict[str, str], files: dict[str, dict[str, Any]]) -> Manifest:
    per_dataset: dict[str, dict[str, float]] = defaultdict(lambda: {"sequences": 0, "frames": 0, "hours": 0.0})
    for r in ordered:
        d = per_dataset[r["dataset"]]
        d["sequences"] += 1
        d["frames"] += int(r["num_frames"])
        d["hours"] += float(r["duration"]) / 3600.0
    m = cfg.motion
    return Manifest(
        format_version=schema.FORMAT_VERSION, build_id=build_id,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        fps=float(m.fps) if m.resample == "interpolate" else None, resample=m.resample,
        joint_set=joint_set, joint_names=list(schema.JOINT_SETS[joint_set]), frame=m.frame,
        contacts={**m.contact_info(), "columns": schema.CONTACT_COLUMNS, "foot_joints": schema.FOOT_JOINTS,
                  "floor": m.floor},
        num_sequences=len(ordered), num_frames=int(sum(int(r["num_frames"]) for r in ordered)),
        num_rejects=num_rejects, datasets={k: dict(v) for k, v in sorted(per_dataset.items())},
        body_models=models_used, config=_public_config(cfg), software=_software(), files=files,
        joint_velocities=m.joint_velocities, quality=quality_manifest(m.quality),
    )


def _finish_objects(layout: ObjectLayout, staging: Tree, cfg, joint_set, key, rows, rejects, models_used,
                    entries) -> tuple[Manifest, bool]:
    """Publish on object storage: tables and manifest under the build's prefix, then the pointer (see objectstore)."""
    ordered = sorted(rows.values(), key=lambda r: r["seq_id"])
    seq_table, rej_table, build_id = _tables(ordered, rejects, key)
    pointer = layout.pointer()
    if pointer is not None and pointer.get("build_id") == build_id:
        return Manifest.from_dict(pointer["info"], f"{layout.url}/_current.json"), False
    sizes = staging.files(schema.FRAMES_DIR)
    files: dict[str, dict[str, Any]] = {}
    for r in ordered:  # entries hashed by the workers or kept from the published build; others now
        e = entries.get(r["part"])
        ok = e is not None and e.get("rows") == int(r["num_frames"]) and e.get("bytes") == sizes.get(r["part"])
        files[r["part"]] = e if ok else staging.file_entry(r["part"], int(r["num_frames"]))
    files[schema.SEQUENCES_PATH] = staging.write_parquet(seq_table, schema.SEQUENCES_PATH)
    files[schema.REJECTS_PATH] = staging.write_parquet(rej_table, schema.REJECTS_PATH)
    manifest = _manifest(cfg, joint_set, build_id, ordered, rej_table.num_rows, models_used, files)
    current = layout.current()
    if pointer is not None and pointer["info"].get("labels"):  # labels survive a rebuild
        old = Manifest.from_dict(pointer["info"])
        for rel in (k for k in old.files if k.startswith(schema.LABELS_DIR + "/")):
            if current.url != staging.url:
                staging.copy_in(current, rel)
            manifest.files[rel] = old.files[rel]
        manifest.labels = old.labels
    info = manifest.to_json()
    staging.write_bytes(schema.INFO_PATH, info.encode())
    keep = set(manifest.files) | (set(entries) if current is not None and current.url == staging.url else set())
    layout.publish(staging, info, keep=keep, previous=current)
    return manifest, True


def sequences_table(rows: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema.SEQUENCE_SCHEMA}
    return pa.Table.from_pydict(cols, schema=schema.SEQUENCE_SCHEMA)


def _public_config(cfg: BuildConfig) -> dict[str, Any]:
    d = asdict(cfg)
    for k in ("force", "workers", "executor", "address"):  # how it ran, not what it made: the same manifest however run
        d.pop(k, None)
    return d


def _software() -> dict[str, str]:
    return {"amass_arrow": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "pyarrow": pa.__version__}
