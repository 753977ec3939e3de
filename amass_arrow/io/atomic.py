"""How a local store's files reach the disk: atomic writes (temp name + fsync + rename), content hashes
for the manifest, and hard links that share immutable files between builds.

A reader never sees half a file: every write goes to `.tmp-<pid>-<name>` in the target folder and is
renamed into place; folder renames are made durable with `fsync_dir`.

`fault(point)` is the writers' fault-injection seam: named points (FAULT_POINTS) where a test makes the
process die (SIGKILL), stop (SIGSTOP) or run out of disk (ENOSPC), chosen by one environment variable.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
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
    """Hard-link `src` to `dst` (published files are immutable, so sharing is safe); copy across filesystems.

    A file already at `dst` (a failed run's leftover, possibly the same inode) is replaced."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
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


# ---------------------------------------------------------------- fault injection (tests)
#: the environment variable that arms one fault point: AMASS_ARROW_FAULT="<point>=<kill|stop|enospc>"
FAULT_ENV = "AMASS_ARROW_FAULT"
#: every fault point of a build, in the order a build passes them (`write:<rel>` for each meta file)
FAULT_POINTS = ("convert", "write:sequences.parquet", "write:rejects.parquet", "write:meta/info.json",
                "publish:before", "publish:after")


def fault(point: str) -> None:
    """A named point of a writer where a test injects a fault; a no-op unless FAULT_ENV names `point`.

    Actions: `kill` (SIGKILL this process), `stop` (SIGSTOP it: a paused writer), `enospc` (raise
    OSError ENOSPC, as a full disk would).
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    want, _, action = spec.rpartition("=")
    if want != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, "No space left on device (injected)", point)
    else:
        raise ValueError(f"{FAULT_ENV}={spec!r}: the action must be kill, stop or enospc")


def content_id(files: dict[str, dict[str, Any]], *salt: str) -> str:
    """A build id that names content: blake2b-64 over `salt` and every file's (path, rows, bytes, blake2b)."""
    h = hashlib.blake2b(digest_size=8)
    for s in salt:
        h.update(s.encode() + b"\0")
    for rel in sorted(files):
        e = files[rel]
        h.update(f"{rel}\0{e.get('rows')}\0{e.get('bytes')}\0{e.get('blake2b')}\n".encode())
    return h.hexdigest()


def pid_alive(pid: Any) -> bool:
    """True while process `pid` on this host exists (a lock's, lease's or partial folder's owner); False for a
    pid that is not a number. A process of another user counts as alive."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
