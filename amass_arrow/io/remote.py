"""URLs (`s3://bucket/prefix`, any pyarrow filesystem URI): filesystems, prefix trees, local copies of sources.

URLs go through pyarrow filesystems (`pyarrow.fs.FileSystem.from_uri`); credentials, region and endpoint come
from the usual AWS environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL for S3-compatible servers). `is_url` is the one test of local vs remote; the store layout on
object storage (pointer, lock, builds) is store/remote.py's.
"""


from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from amass_arrow import schema
from amass_arrow.errors import ConfigError, StoreError


def is_url(path: Any) -> bool:
    """True for `scheme://…` locations (s3://, gs://, …); local paths are everything else."""
    return isinstance(path, str) and "://" in path


def _filesystem(scheme: str, bucket: str) -> pafs.FileSystem:
    if scheme != "s3":
        return _cached(scheme, bucket, None, None)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _cached(scheme, bucket, endpoint, region)


@functools.lru_cache(maxsize=16)
def _cached(scheme: str, bucket: str, endpoint: str | None, region: str | None) -> pafs.FileSystem:
    """One filesystem per (bucket, endpoint, region); S3 settings passed explicitly, not left to the SDK's own lookup."""
    if scheme != "s3":
        return pafs.FileSystem.from_uri(f"{scheme}://{bucket}")[0]
    kw: dict[str, Any] = {}
    if endpoint:
        proto, _, host = endpoint.rpartition("://")
        kw.update(endpoint_override=host.rstrip("/"), scheme=proto or "https")
    if region:
        kw["region"] = region
    return pafs.S3FileSystem(**kw)


def resolve(url: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, 'bucket/key' path) of a URL; one filesystem per bucket per process."""
    scheme, rest = url.split("://", 1)
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise ConfigError(f"{url}: no bucket in the URL (expected {scheme}://bucket/prefix)")
    try:
        fs = _filesystem(scheme, bucket)
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"{url}: cannot open ({exc})") from None
    return fs, rest.rstrip("/")


class Tree:
    """The files under one object-store prefix, by '/'-separated relative path."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.base = resolve(self.url)

    def __str__(self) -> str:
        return self.url

    def __truediv__(self, rel: str) -> str:
        return f"{self.url}/{rel}"

    def path(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def files(self, under: str = "") -> dict[str, int]:
        """rel path -> size of every object under `under`."""
        sel = pafs.FileSelector(self.path(under) if under else self.base, recursive=True, allow_not_found=True)
        cut = len(self.base) + 1
        return {i.path[cut:]: i.size for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File}

    def size(self, rel: str) -> int | None:
        info = self.fs.get_file_info(self.path(rel))
        return info.size if info.type == pafs.FileType.File else None

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.path(rel)) as fh:
            return fh.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        """One PUT: an object appears whole or not at all."""
        with self.fs.open_output_stream(self.path(rel)) as fh:
            fh.write(data)

    def write_parquet(self, table: pa.Table, rel: str, rows: int | None = None, **kw) -> dict[str, Any]:
        """Write a Parquet object; returns its manifest entry {rows, bytes, blake2b} (hashed in memory)."""
        buf = io.BytesIO()
        pq.write_table(table, buf, compression=kw.pop("compression", "zstd"), **kw)
        data = buf.getvalue()
        self.write_bytes(rel, data)
        return {"rows": int(table.num_rows if rows is None else rows), "bytes": len(data),
                "blake2b": hashlib.blake2b(data, digest_size=16).hexdigest()}

    def file_entry(self, rel: str, rows: int) -> dict[str, Any]:
        data = self.read_bytes(rel)
        return {"rows": int(rows), "bytes": len(data), "blake2b": hashlib.blake2b(data, digest_size=16).hexdigest()}

    def content_hash(self, rel: str) -> str:
        h = hashlib.blake2b(digest_size=16)
        with self.fs.open_input_stream(self.path(rel)) as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        return h.hexdigest()

    def delete(self, rel: str) -> None:
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass

    def delete_all(self) -> None:
        try:
            self.fs.delete_dir(self.base)
        except (FileNotFoundError, OSError):
            pass

    def copy_in(self, src: Tree, rel: str) -> None:
        """Server-side copy of `src/rel` to `self/rel` (same filesystem)."""
        self.fs.copy_file(src.path(rel), self.path(rel))

    def read_schema(self, rel: str) -> pa.Schema:
        return pq.read_schema(self.path(rel), filesystem=self.fs)

    def read_table(self, rel: str, **kw) -> pa.Table:
        return pq.read_table(self.path(rel), filesystem=self.fs, **kw)


def storage_env() -> dict[str, str]:
    """The AWS_* variables of this process, for worker processes started before they were set."""
    return {k: v for k, v in os.environ.items() if k.startswith("AWS_")}


def fetched(src, workdir: str):
    """A local copy of an object-store SourceFile (with its subject's shape.npz, if any) under `workdir`."""
    url = str(src.path)
    root_url = url[: -len(src.rel) - 1]
    tree = Tree(root_url)
    local = Path(workdir) / src.rel
    local.parent.mkdir(parents=True, exist_ok=True)
    with tree.fs.open_input_stream(tree.path(src.rel)) as fh, open(local, "wb") as out:
        shutil.copyfileobj(fh, out, 8 << 20)
    shape_rel = src.rel.rsplit("/", 1)[0] + "/" + schema.NPZ_SHAPE_FILE
    if tree.size(shape_rel) is not None:
        with tree.fs.open_input_stream(tree.path(shape_rel)) as fh, open(local.parent / schema.NPZ_SHAPE_FILE, "wb") as out:
            shutil.copyfileobj(fh, out)
    return replace(src, path=local)


class local_copy:
    """`with local_copy(src) as s:` s is `src`, or a temporary local copy of an object-store source."""

    def __init__(self, src):
        self.src, self.tmp = src, None

    def __enter__(self):
        if not is_url(str(self.src.path)):
            return self.src
        self.tmp = tempfile.mkdtemp(prefix="amass-arrow-src-")
        try:
            return fetched(self.src, self.tmp)
        except OSError as exc:  # the bucket, not the file: stop the build (a rerun resumes) instead of rejecting it
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise StoreError(f"{self.src.path}: cannot read from object storage: {exc}") from None

    def __exit__(self, *exc) -> None:
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
