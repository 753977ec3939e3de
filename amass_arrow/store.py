"""The on-disk store: manifest, atomic publish, the one-writer lock, and reading it back.

A store path `P` is a symbolic link to an immutable build directory::

    P -> .P.amass-arrow/builds/<build_id>/{meta/info.json, sequences.parquet, frames/..., rejects.parquet}
         .P.amass-arrow/lock                 flock-held by the one running writer
         .P.amass-arrow/staging-<key>/       an unfinished build (resumed by the next run)

A build writes everything into staging, renames it into `builds/`, then swaps the link with
`os.replace` — atomic, so readers (and crashes) see the old store or the new one, never a mix.
The previous build is kept one generation so queries already running on it can finish.
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from .errors import StoreError, StoreLockedError

SIDE_SUFFIX = ".amass-arrow"


@dataclass
class Manifest:
    """`meta/info.json`: what this store holds and how it was made. Validated by `from_dict`."""

    format_version: int
    build_id: str
    created: str
    fps: float | None  # store fps for resample='interpolate'; None otherwise (see sequences.store_fps)
    resample: str
    joint_set: str
    joint_names: list[str]
    frame: str  # z_up | y_up
    contacts: dict[str, Any]  # thresholds, columns, foot joints
    num_sequences: int
    num_frames: int
    num_rejects: int
    datasets: dict[str, dict[str, float]]  # dataset -> {sequences, frames, hours}
    body_models: dict[str, str]  # "smplh/male" -> path used
    config: dict[str, Any]
    software: dict[str, str]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel path -> {rows, bytes}
    joint_velocities: bool = False
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> {file, rows, imported}
    #: where the build read from: {"root": absolute AMASS root, "fingerprint": blake2b over the sorted
    #: (source_path, content_hash) of the converted files, "files": their count}; {} in older stores
    source: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)  # {metrics: {column: unit/meaning}, flags: {flag: rule}, thresholds}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "info.json") -> Manifest:
        if not isinstance(data, dict):
            raise StoreError(f"{where}: not a JSON object")
        version = data.get("format_version")
        if version != schema.FORMAT_VERSION:
            raise StoreError(
                f"{where}: store format version {version!r}, this amass-arrow reads version {schema.FORMAT_VERSION}; "
                f"rebuild it with: amass-arrow build AMASS_ROOT --body-models DIR --out STORE --force"
            )
        names = {f for f in cls.__dataclass_fields__}
        missing = sorted(n for n in names if n not in data and cls.__dataclass_fields__[n].default is _MISSING
                         and cls.__dataclass_fields__[n].default_factory is _MISSING)
        if missing:
            raise StoreError(f"{where}: missing field(s) {', '.join(missing)}")
        m = cls(**{k: v for k, v in data.items() if k in names})
        if m.joint_set not in schema.JOINT_SETS or len(m.joint_names) != len(schema.JOINT_SETS[m.joint_set]):
            raise StoreError(f"{where}: unknown joint set {m.joint_set!r} or wrong joint_names")
        if m.frame not in ("z_up", "y_up"):
            raise StoreError(f"{where}: frame must be z_up or y_up, got {m.frame!r}")
        if m.num_sequences < 0 or m.num_frames < 0:
            raise StoreError(f"{where}: negative counts")
        return m

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


_MISSING = __import__("dataclasses").MISSING


# ---------------------------------------------------------------- layout
class StoreLayout:
    """Where a store's link, builds, staging and lock live."""

    def __init__(self, path: str | Path):
        self.path = Path(os.path.abspath(path))
        self.side = self.path.parent / f".{self.path.name}{SIDE_SUFFIX}"
        self.builds = self.side / "builds"
        self.lock_path = self.side / "lock"

    def staging(self, key: str) -> Path:
        return self.side / f"staging-{key}"

    def current(self) -> Path | None:
        """The published build directory, or None if nothing is published yet."""
        if self.path.is_symlink():
            target = self.path.resolve()
            return target if target.is_dir() else None
        if self.path.is_dir() and (self.path / schema.INFO_PATH).is_file():
            return self.path  # a plain copied store (cp -rL): readable, not writable in place
        return None

    def check_writable_target(self) -> None:
        """Up front, before any work: the store path is ours to write and its folder is writable."""
        p = self.path
        if not (p.is_symlink() or not p.exists() or (p.is_dir() and not any(p.iterdir()))):
            raise StoreError(
                f"{p} exists and is not an amass-arrow store link; choose another --out or remove it "
                f"(a store path is a symlink to {self.side.name}/builds/<id>)"
            )
        probe = self.side / f".write-test-{os.getpid()}"
        try:
            self.side.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"cannot write the store at {p}: {exc.strerror or exc} ({exc.filename or self.side}); "
                f"choose a writable --out"
            ) from None

    def publish(self, staged: Path, build_id: str) -> Path:
        """Move a finished staging dir into builds/ and atomically point the store link at it."""
        self.builds.mkdir(parents=True, exist_ok=True)
        final = self.builds / build_id
        previous = self.current()
        if final.exists():
            if previous is not None and previous == final.resolve():
                shutil.rmtree(staged, ignore_errors=True)
                return final  # identical build already published
            shutil.rmtree(final)
        os.replace(staged, final)
        _fsync_dir(self.builds)
        p = self.path
        if p.is_dir() and not p.is_symlink():
            p.rmdir()  # an empty directory the user created for us
        tmp_link = self.side / f"link-{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(os.path.relpath(final, p.parent), tmp_link)
        os.replace(tmp_link, p)
        _fsync_dir(p.parent)
        self._prune(keep={final.name, previous.name if previous else ""})
        return final

    def _prune(self, keep: set[str]) -> None:
        for d in self.builds.iterdir():
            if d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteLock:
    """One writer per store: an flock on the side folder's lock file (released by the OS if the holder dies)."""

    def __init__(self, layout: StoreLayout):
        self.layout = layout
        self.fh = None

    def __enter__(self) -> WriteLock:
        self.layout.side.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.layout.lock_path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise StoreLockedError(
                f"{self.layout.path} is being written by {holder}; wait for it to finish (only one build per store at a time)"
            ) from None
        # The lock file's text is informational; a stale text from a dead holder is simply overwritten.
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} since {_dt.datetime.now().isoformat(timespec='seconds')}\n")
        self.fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self.fh:
            self.fh.seek(0)
            self.fh.truncate()
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


# ---------------------------------------------------------------- writing files
def write_parquet_atomic(table: pa.Table, path: Path, **kw) -> int:
    """Write `table` to `path` via a temporary name in the same folder; returns the file size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        pq.write_table(table, tmp, compression=kw.pop("compression", "zstd"), **kw)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """blake2b-128 hex digest of a file's bytes (source files and store files alike)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path, rows: int) -> dict[str, Any]:
    """The manifest's record of one file: rows, bytes and blake2b-128 of its content."""
    return {"rows": int(rows), "bytes": path.stat().st_size, "blake2b": content_hash(path)}


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link `src` to `dst` (published files are immutable, so sharing is safe); copy across filesystems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_tree(src: Path, dst: Path, skip: set[str] = frozenset()) -> None:
    """Recreate `src`'s files under `dst` as hard links (copies across filesystems); `skip` = rel paths."""
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src).as_posix()
        if p.is_dir() or rel in skip:
            continue
        link_or_copy(p, dst / rel)


def amend(path: str | Path, add: dict[str, pa.Table], *, labels: dict[str, dict[str, Any]] | None = None,
          remove: set[str] = frozenset()) -> Path:
    """Publish a new build equal to the current one plus `add` (rel path -> table) minus `remove`.

    Used by label imports: the published build stays immutable; unchanged files are hard links.
    `labels` entries are merged into the manifest's `labels` field.
    """
    import hashlib

    if isinstance(path, str) and "://" in path:
        raise StoreError(f"{path}: label imports into a store on object storage are not supported yet; "
                         f"import into a local store and build it to the bucket, or copy the labels/ files by hand")
    layout = StoreLayout(path)
    with WriteLock(layout):
        store = Store(path)
        if not layout.path.is_symlink():
            raise StoreError(f"{layout.path} is a plain copy of a store; amend the original (a symlinked store)")
        staging = layout.side / f"staging-amend-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            link_tree(store.root, staging, skip=set(add) | set(remove) | {schema.INFO_PATH})
            info = store.info
            for rel in remove:
                info.files.pop(rel, None)
            h = hashlib.blake2b(info.build_id.encode(), digest_size=8)
            for rel in sorted(add):
                write_parquet_atomic(add[rel], staging / rel)
                info.files[rel] = file_entry(staging / rel, add[rel].num_rows)
                h.update(rel.encode())
                h.update((staging / rel).read_bytes())
            for rel in sorted(remove):
                h.update(b"-" + rel.encode())
            info.labels.update(labels or {})
            info.build_id = h.hexdigest()
            write_text_atomic(info.to_json(), staging / schema.INFO_PATH)
            return layout.publish(staging, info.build_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


# ---------------------------------------------------------------- reading
class Store:
    """A published store, pinned to one build directory for its whole life.

    `Store("s3://bucket/store")` gives an `objectstore.ObjectStore` (same methods, paths are URLs).
    """

    remote = False  # True for a store on object storage

    def __new__(cls, path: str | Path = ""):
        if cls is Store and isinstance(path, str) and "://" in path:
            from .objectstore import ObjectStore

            return super().__new__(ObjectStore)
        return super().__new__(cls)

    def __init__(self, path: str | Path):
        self.layout = StoreLayout(path)
        root = self.layout.current()
        if root is None:
            raise StoreError(f"no amass-arrow store at {self.layout.path}; build one with: amass-arrow build AMASS_ROOT --out {path}")
        self.root = root
        info = root / schema.INFO_PATH
        try:
            data = json.loads(info.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"{info}: cannot read manifest: {exc}") from None
        self.info = Manifest.from_dict(data, str(info))

    def file(self, rel: str) -> Path:
        return self.root / rel

    def sequences(self) -> pa.Table:
        return pq.read_table(self.file(schema.SEQUENCES_PATH))

    def rejects(self) -> pa.Table:
        return pq.read_table(self.file(schema.REJECTS_PATH))

    def frame_files(self) -> list[Path]:
        return sorted((self.root / schema.FRAMES_DIR).rglob("*.parquet"))

    def frames_dataset(self):
        """A pyarrow dataset over the frames with string hive keys."""
        import pyarrow.dataset as ds

        part = ds.partitioning(pa.schema([(k, pa.string()) for k in schema.HIVE_KEYS]), flavor="hive")
        return ds.dataset(self.root / schema.FRAMES_DIR, format="parquet", partitioning=part)

    def read_sequence_frames(self, seq_id: str, columns: list[str] | None = None) -> pa.Table:
        """All frame rows of one sequence, ordered by frame (reads only its partition)."""
        import pyarrow.compute as pc

        seqs = self.sequences()
        mask = pc.equal(seqs["seq_id"], seq_id)
        hit = seqs.filter(mask)
        if hit.num_rows == 0:
            raise StoreError(f"{self.layout.path}: no sequence {seq_id!r}; list them with: amass-arrow query STORE \"SELECT seq_id FROM sequences\"")
        d, s = hit["dataset"][0].as_py(), hit["subject"][0].as_py()
        files = sorted((self.root / schema.partition_dir(d, s)).glob("*.parquet"))
        t = pa.concat_tables([pq.read_table(f, columns=columns and list(dict.fromkeys([schema.SEQ_ID, schema.FRAME] + columns))) for f in files])
        t = t.filter(pc.equal(t[schema.SEQ_ID], seq_id))
        return t.sort_by(schema.FRAME)
