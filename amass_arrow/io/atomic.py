"""How a local store's files reach the disk: atomic writes (temp name + fsync + rename), content hashes
for the manifest, and hard links that share immutable files between builds.

A reader never sees half a file: every write goes to `.tmp-<pid>-<name>` in the target folder and is
renamed into place; folder renames are made durable with `fsync_dir`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


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


def fsync_dir(path: Path) -> None:
    """Make a rename inside the folder `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
