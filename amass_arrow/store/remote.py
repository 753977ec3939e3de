"""Object storage (`s3://bucket/prefix`): archives read and stores written without rename or symlinks.

URLs go through pyarrow filesystems (`pyarrow.fs.FileSystem.from_uri`); credentials, region and
endpoint come from the usual AWS environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for S3-compatible servers). A store URL `S` holds::

    S/builds/<settings key>.<token>/frames/dataset=D/subject=S/part-*.parquet   parts of one build
    S/builds/<settings key>.<token>/{sequences.parquet, rejects.parquet, meta/info.json}
    S/_current.json        the pointer: {"root": "builds/<key>.<token>", "build_id", "info": <manifest>, "previous"}
    S/_lock                the one writer (created with If-None-Match: *; a lease refreshed while held)

Builds are immutable, as on disk: a build writes only under a prefix no pointer references (a fresh
`<key>.<token>`, or the unpublished one a killed build of the same settings left, which it resumes),
copies the parts it reuses from the published build server-side, writes the tables and the manifest,
and then swaps the pointer: one PUT, conditional on the pointer the writer started from (If-Match),
after the writer confirmed it still holds the lock. Readers take the manifest from the pointer and read
only the files it lists. The pointer's build and the previous one are kept; older prefixes are pruned
(a reader open across two publishes on object storage loses its build: there are no reader leases).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import threading
import time
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from amass_arrow import schema
from amass_arrow.errors import ConfigError, StoreError, StoreLockedError
from amass_arrow.io.atomic import fault, pid_alive
from amass_arrow.io.remote import Tree, resolve
from amass_arrow.schema import FRM, SEQ

from .manifest import Manifest
from .reader import Store

POINTER = "_current.json"


LOCK = "_lock"


BUILDS = "builds"


class ObjectLayout:
    """Where an object-store store keeps its builds, pointer and lock (the StoreLayout of a URL)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.path = self.url  # what messages and BuildResult show
        self.tree = Tree(self.url)
        self.held: ObjectLock | None = None  # the lock this process holds (set by ObjectLock)
        self.started_from: str | None = None  # the pointer's ETag when the lock was taken (None: no pointer)

    def staging(self, key: str) -> Tree:
        """The prefix a build of settings `key` writes: one no pointer references (never the published build's).

        An unpublished prefix of the same settings (a killed build's, without a manifest) is resumed; else a fresh one."""
        p = self.pointer() or {}
        live = {p.get("root"), p.get("previous")}
        mine = sorted((b for b in self._builds() if b.startswith(key + ".") and f"{BUILDS}/{b}" not in live), reverse=True)
        for b in mine:  # one with a manifest may have been published (a kill before pruning): never reused
            tree = Tree(f"{self.url}/{BUILDS}/{b}")
            if tree.size(schema.INFO_PATH) is None:
                return tree
        return Tree(f"{self.url}/{BUILDS}/{key}.{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(3).hex()}")

    def _builds(self) -> set[str]:
        return {rel.split("/", 2)[1] for rel in self.tree.files(BUILDS)}

    def pointer(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.tree.read_bytes(POINTER))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.url}/{POINTER}: cannot read the store pointer: {exc}") from None

    def current(self) -> Tree | None:
        p = self.pointer()
        return None if p is None else Tree(f"{self.url}/{p['root']}")

    def check_writable_target(self) -> None:
        if self.pointer() is not None:
            return
        other = [r for r in self.tree.files() if not r.startswith((BUILDS + "/", LOCK))]
        if other:
            raise StoreError(f"{self.url} holds objects that are not an amass-arrow store ({other[0]}, …); choose another --out")

    def lock(self, ttl: float | None = None) -> ObjectLock:
        """The one-writer lock; `ttl` seconds of lease (default: AMASS_ARROW_LOCK_TTL or 60)."""
        return ObjectLock(self, float(os.environ.get("AMASS_ARROW_LOCK_TTL", 60)) if ttl is None else ttl)

    def check_lock(self) -> None:
        """Raise StoreLockedError when this process's lock was lost (its lease could not be renewed)."""
        if self.held is not None:
            self.held.check()

    def publish(self, staged: Tree, info_json: str, keep: set[str], previous: Tree | None) -> None:
        """Swap the pointer to `staged` (the commit point), then drop what neither this build nor the previous one uses.

        Fenced: the lock is confirmed first, and the pointer PUT is conditional on the pointer this writer
        started from, so a writer that lost its lock publishes nothing (StoreLockedError)."""
        info = json.loads(info_json)
        root = staged.url[len(self.url) + 1:]
        prev_root = previous.url[len(self.url) + 1:] if previous is not None else None
        pointer = {"root": root, "build_id": info["build_id"], "info": info, "previous": prev_root}
        body = json.dumps(pointer, indent=1, sort_keys=True).encode()
        fault("publish:before")
        if self.held is not None:
            try:
                self.held.confirm()
                self.held.put_pointer(body, self.started_from)
            except StoreLockedError:  # certainly not published: without its manifest the next build resumes its parts
                staged.delete(schema.INFO_PATH)
                raise
        else:
            self.tree.write_bytes(POINTER, body)
        fault("publish:after")
        for rel in staged.files(schema.FRAMES_DIR):
            if rel not in keep:
                staged.delete(rel)
        live = {root, prev_root}
        for b in sorted(self._builds()):
            if f"{BUILDS}/{b}" not in live:
                Tree(f"{self.url}/{BUILDS}/{b}").delete_all()


class ObjectLock:
    """One writer per store on object storage: a lock object created with a conditional PUT.

    The holder refreshes a lease in it every ttl/4 s (If-Match on its own last ETag); a failed refresh
    marks the lock lost and the writer stops at its next check (`check`, `confirm`: nothing is
    published). A later writer takes over a lock whose lease ran out, or one left on this host by a
    process that is gone (a killed build), with a PUT conditional on the stale object's ETag, so two
    takers cannot both win. Only the owner deletes the lock (a delete conditional on its ETag).
    """

    def __init__(self, layout: ObjectLayout, ttl: float = 60.0):
        self.layout, self.ttl = layout, float(ttl)
        fs, path = resolve(layout.url + "/" + LOCK)
        self.bucket, self.key = path.split("/", 1)
        self.pointer_key = self.key[: -len(LOCK)] + POINTER
        self.etag: str | None = None
        self.lost: str | None = None
        self.mutex = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _client(self):
        try:
            import boto3
        except ImportError:
            raise ConfigError("writing a store on S3 needs boto3 (for the conditional-write lock): pip install 'amass-arrow[s3]'") from None
        return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)

    def _body(self) -> bytes:
        return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "expires": time.time() + self.ttl,
                           "since": _dt.datetime.now().isoformat(timespec="seconds")}).encode()

    def __enter__(self) -> ObjectLock:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client = c = self._client()
        try:
            self.etag = c.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), IfNoneMatch="*")["ETag"]
        except (ClientError, BotoCoreError) as exc:  # BotoCoreError: no credentials, no endpoint, ...
            if _code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise StoreError(f"{self.layout.url}: cannot create the lock object: {exc}") from None
            self._take_over_stale()
        try:
            self.layout.started_from = c.head_object(Bucket=self.bucket, Key=self.pointer_key)["ETag"]
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) not in ("404", "NoSuchKey", "NotFound"):
                self._release()
                raise StoreError(f"{self.layout.url}/{POINTER}: cannot read the store pointer: {exc}") from None
            self.layout.started_from = None
        self.layout.held = self
        self.thread = threading.Thread(target=self._renew, daemon=True)
        self.thread.start()
        return self

    def _take_over_stale(self) -> None:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
            holder, etag = json.loads(got["Body"].read()), got["ETag"]
        except (ClientError, ValueError) as exc:
            if isinstance(exc, ClientError) and _code(exc) in ("404", "NoSuchKey", "NotFound"):
                try:  # released between our failed create and this read: create it again, once
                    self.etag = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(),
                                                       IfNoneMatch="*")["ETag"]
                    return
                except ClientError:
                    pass
            holder, etag = {}, None
        stale = holder.get("expires", 0) < time.time() or (holder.get("host") == socket.gethostname() and not pid_alive(holder.get("pid")))
        if etag and stale:
            try:
                self.etag = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), IfMatch=etag)["ETag"]
                return
            except ClientError:
                pass  # someone else took it first
        who = f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}" if holder else "another writer"
        raise StoreLockedError(f"{self.layout.url} is being written by {who}; wait for it to finish (only one build per store at a time)")

    def _refresh(self) -> None:
        """Renew the lease (If-Match our last ETag); a failure marks the lock lost."""
        with self.mutex:
            if self.lost:
                return
            try:
                self.etag = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), IfMatch=self.etag)["ETag"]
            except Exception as exc:  # noqa: BLE001 - any failure to renew means we may no longer own the store
                self.lost = f"{type(exc).__name__}: {exc}"

    def _renew(self) -> None:
        while not self.stop.wait(self.ttl / 4):
            self._refresh()
            if self.lost:
                return

    def check(self) -> None:
        if self.lost:
            raise StoreLockedError(
                f"{self.layout.url}: this build lost its write lock (its lease could not be renewed: {self.lost}); "
                f"another writer may own the store now. Nothing was published; re-run the build"
            )

    def confirm(self) -> None:
        """Renew now and raise if the lock is no longer ours (the fence before publishing)."""
        self._refresh()
        self.check()

    def put_pointer(self, body: bytes, started_from: str | None) -> None:
        """PUT the pointer if it is still the one this writer started from (If-Match; If-None-Match * for none)."""
        from botocore.exceptions import BotoCoreError, ClientError

        cond = {"IfMatch": started_from} if started_from else {"IfNoneMatch": "*"}
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.pointer_key, Body=body, **cond)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "404"):
                raise StoreLockedError(
                    f"{self.layout.url}: another writer published since this build started; nothing was published "
                    f"by this build. Re-run it to build on top of the new store"
                ) from None
            raise StoreError(f"{self.layout.url}/{POINTER}: cannot publish the store pointer ({exc}); nothing was "
                             f"published by this build, and the store is as it was. Re-run it") from None

    def _release(self) -> None:
        """Delete the lock only if it is still ours (conditional on our ETag); a lock left behind expires by its lease."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except Exception:  # noqa: BLE001 - not ours any more, or unreachable: nothing to release
            pass

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.layout.held is self:
            self.layout.held = None
        if not self.lost:
            self._release()


def _code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError; None for other errors (no credentials, no endpoint, ...)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None




class ObjectStore(Store):
    """A published store on object storage, pinned to the build its pointer named when opened."""

    remote = True

    def __init__(self, url: str, lease: bool = True):
        self.layout = ObjectLayout(url)
        p = self.layout.pointer()
        if p is None:
            raise StoreError(f"no amass-arrow store at {self.layout.url}; build one with: amass-arrow build AMASS_ROOT --out {url}")
        self.root = Tree(f"{self.layout.url}/{p['root']}")
        self.info = Manifest.from_dict(p["info"], f"{self.layout.url}/{POINTER}", self.layout.url)

    @property
    def fs(self) -> pafs.FileSystem:
        return self.root.fs

    @property
    def location(self) -> str:
        return self.layout.url

    def file(self, rel: str) -> str:
        return self.root / rel

    def file_size(self, rel: str) -> int | None:
        return self.root.size(rel)

    def file_hash(self, rel: str) -> str:
        return self.root.content_hash(rel)

    def parquet_file(self, rel: str) -> pq.ParquetFile:
        return pq.ParquetFile(self.fs.open_input_file(self.root.path(rel)))

    def unlisted_frame_files(self) -> list[str]:
        """None by construction: a build's prefix holds only what its manifest lists (readers never list a prefix)."""
        return []

    def sequences(self) -> pa.Table:
        return self.root.read_table(schema.SEQUENCES_PATH)

    def rejects(self) -> pa.Table:
        return self.root.read_table(schema.REJECTS_PATH)

    def listed(self, under: str) -> list[str]:
        """Rel paths of the manifest's files under `under` (the build's files; never a prefix listing)."""
        return sorted(r for r in self.info.files if r.startswith(under + "/"))

    def frame_files(self) -> list[str]:
        return [self.root / r for r in self.listed(schema.FRAMES_DIR)]

    def frames_dataset(self):
        """A pyarrow dataset over the listed frames files with string hive keys (filters on them prune files)."""
        import pyarrow.dataset as ds

        keys = pa.schema([(k, pa.string()) for k in schema.HIVE_KEYS])
        full = pa.schema(list(schema.frame_schema(self.info.num_joints, self.info.joint_velocities)) + list(keys))
        # the schema is known: opening the dataset reads no object (pyarrow would otherwise inspect the first part)
        return ds.dataset([self.root.path(r) for r in self.listed(schema.FRAMES_DIR)], schema=full, filesystem=self.fs,
                          format="parquet", partitioning=ds.partitioning(keys, flavor="hive"),
                          partition_base_dir=self.root.path(schema.FRAMES_DIR))

    def labels_table(self) -> pa.Table | None:
        """Every labels/*.parquet file, unioned by column name (small tables); None without labels."""
        files = [r for r in self.listed(schema.LABELS_DIR) if r.endswith(".parquet")]
        if not files:
            return None
        return pa.concat_tables([self.root.read_table(r) for r in files], promote_options="permissive")

    def read_sequence_frames(self, seq_id: str, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        hit = self.sequences().filter(pc.equal(self.sequences()[SEQ.seq_id], seq_id))
        if hit.num_rows == 0:
            raise StoreError(f"{self.layout.url}: no sequence {seq_id!r}")
        cols = columns and list(dict.fromkeys([schema.SEQ_ID, schema.FRAME] + columns))
        flt = ((ds.field(FRM.dataset) == hit[SEQ.dataset][0].as_py()) & (ds.field(FRM.subject) == hit[SEQ.subject][0].as_py())
               & (ds.field(schema.SEQ_ID) == seq_id))
        t = self.frames_dataset().to_table(columns=cols, filter=flt)
        if cols is None:  # as the local store reads it: the part files' columns, no hive keys
            t = t.drop_columns([k for k in schema.HIVE_KEYS if k in t.column_names])
        return t.sort_by(schema.FRAME)
