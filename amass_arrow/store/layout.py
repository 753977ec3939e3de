"""Where a local store lives on disk, how a build is published atomically, and the one-writer lock.

A store path `P` is a symbolic link to an immutable build directory::

    P -> .P.amass-arrow/builds/<build_id>/{meta/info.json, sequences.parquet, frames/..., rejects.parquet}
         .P.amass-arrow/lock                 flock-held by the one running writer
         .P.amass-arrow/staging-<key>/       an unfinished build (its parts are resumed by the next run)
         .P.amass-arrow/readers/<pid>@<host>@<build>   a reader's lease on the build it opened

A build writes everything into staging, renames it into `builds/`, then swaps the link with
`os.replace` — atomic, so readers (and crashes) see the old store or the new one, never a mix.
After a publish the current and previous builds are kept, and every build a live reader holds: each
`Store` (so each `sql.connect()`) leaves a lease file naming its process; a lease whose process is
gone (same host) or that is older than LEASE_DAYS (another host) is stale and pruned with its build.
(Stores on object storage: `store.remote.ObjectLayout`.)
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import os
import shutil
import socket
import time
from pathlib import Path

from amass_arrow import schema
from amass_arrow.errors import StoreError, StoreLockedError
from amass_arrow.io.atomic import fault, fsync_dir, pid_alive

SIDE_SUFFIX = ".amass-arrow"
STAGING_PREFIX = "staging-"
READERS = "readers"
#: a lease from another host is trusted this long (its process cannot be checked from here)
LEASE_DAYS = 7.0


class StoreLayout:
    """Where a store's link, builds, staging and lock live."""

    def __init__(self, path: str | Path):
        self.path = Path(os.path.abspath(path))
        self.side = self.path.parent / f".{self.path.name}{SIDE_SUFFIX}"
        self.builds = self.side / "builds"
        self.lock_path = self.side / "lock"
        self.readers = self.side / READERS

    def lock(self) -> WriteLock:
        """The one-writer lock of this store (`with layout.lock():`), as ObjectLayout.lock is on object storage."""
        return WriteLock(self)

    def staging(self, key: str) -> Path:
        """The staging folder of a build with settings key `key` (or of an amend: `amend-<pid>`)."""
        return self.side / f"{STAGING_PREFIX}{key}"

    def stagings(self) -> list[Path]:
        """Every staging folder in the side folder (a killed build's, or one of other settings)."""
        return sorted(self.side.glob(f"{STAGING_PREFIX}*"))

    def current(self) -> Path | None:
        """The published build directory, or None if nothing is published yet."""
        if self.path.is_symlink():
            target = self.path.resolve()
            return target if target.is_dir() else None
        if self.path.is_dir() and (self.path / schema.INFO_PATH).is_file():
            return self.path  # a plain copied store (cp -rL): readable, not writable in place
        return None

    def hold(self, build: Path) -> bool:
        """Lease `build` for this process's life (readers pin a build: it is not pruned while we run).

        False when the lease cannot be written (a read-only store: nothing is published there either)."""
        if build.parent != self.builds.resolve():
            return False  # a plain copied store: no builds to prune
        lease = self.readers / f"{os.getpid()}@{socket.gethostname()}@{build.name}"
        try:
            if not lease.exists():
                self.readers.mkdir(parents=True, exist_ok=True)
                lease.touch()
        except OSError:
            return False
        return True

    def held(self) -> set[str]:
        """Names of the builds live readers hold; stale leases are removed on the way."""
        out: set[str] = set()
        if not self.readers.is_dir():
            return out
        host, now = socket.gethostname(), time.time()
        for lease in self.readers.iterdir():
            pid, _, rest = lease.name.partition("@")
            lhost, _, build = rest.partition("@")
            try:
                age = now - lease.stat().st_mtime
            except FileNotFoundError:
                continue
            live = pid_alive(pid) if lhost == host else age < LEASE_DAYS * 86400
            if live and (self.builds / build).is_dir():
                out.add(build)
            else:
                try:
                    lease.unlink(missing_ok=True)
                except OSError:  # another user's lease in a shared store: theirs to remove; not held by us
                    pass
        return out

    def clear_staging(self, staged: Path) -> None:
        """Remove everything in a staging folder but its parts (frames/): a failed publish's tables, manifest
        and label links are never trusted by the next run; the converted parts are resumed."""
        if not staged.is_dir():
            return
        for p in staged.iterdir():
            if p.name == schema.FRAMES_DIR:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def check_writable_target(self) -> None:
        """Up front, before any work: the store path is ours to write and its folder is writable."""
        p = self.path
        if p.is_symlink() and Path(os.path.realpath(p)).parent != Path(os.path.realpath(self.builds)):
            raise StoreError(
                f"{p} is a symlink to {os.readlink(p)}, not an amass-arrow store link; choose another --out or "
                f"remove the link (a store path is a symlink to {self.side.name}/builds/<id>)"
            )
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

    def publish(self, staged: Path, build_id: str, *, replace: bool = False) -> Path:
        """Move a finished staging dir into builds/ and atomically point the store link at it.

        The folder is `builds/<build_id>`; a build id already published is a no-op unless `replace` (a
        repaired or forced build of the same content), which publishes into a fresh `<build_id>-<n>`
        folder: a published folder is never written to or removed while it is current or held.
        """
        self.builds.mkdir(parents=True, exist_ok=True)
        final = self.builds / build_id
        previous = self.current()
        if final.exists():
            if not replace and previous is not None and previous == final.resolve():
                shutil.rmtree(staged, ignore_errors=True)
                return final  # identical build already published
            n = 1
            while (self.builds / f"{build_id}-{n}").exists():
                n += 1
            final = self.builds / f"{build_id}-{n}"
        fault("publish:before")
        os.replace(staged, final)
        fsync_dir(self.builds)
        p = self.path
        if p.is_dir() and not p.is_symlink():
            p.rmdir()  # an empty directory the user created for us
        tmp_link = self.side / f"link-{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(os.path.relpath(final, p.parent), tmp_link)
        os.replace(tmp_link, p)
        # Published. What follows is housekeeping: a failure there (a full disk at the fsync) is reported as what it
        # is, never as a failed publish with the previous store intact (the new build is live).
        try:
            fsync_dir(p.parent)
            fault("publish:after")
            self._prune(keep={final.name, previous.name if previous else ""})
        except OSError as exc:
            raise StoreError(f"{p}: published build {final.name}, but the cleanup after it failed: "
                             f"{exc.strerror or exc}; the store is readable, the next build cleans up") from None
        return final

    def _prune(self, keep: set[str]) -> None:
        """Remove the builds that are neither in `keep` (current, previous) nor held by a live reader."""
        keep = keep | self.held()
        for d in self.builds.iterdir():
            if d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)




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
