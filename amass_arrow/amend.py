"""Publish a new build of a local store equal to the current one plus or minus a few files (label imports).

The published build stays immutable: unchanged files are hard links into the new build, whose id
names its content (`Manifest.content_id`, as a build's), and which is published like any other (layout.StoreLayout.publish) under the one-writer lock.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import schema
from .atomic import file_entry, link_tree, write_parquet_atomic, write_text_atomic
from .errors import StoreError
from .layout import StoreLayout, WriteLock


def amend(path: str | Path, add: dict[str, pa.Table], *, labels: dict[str, dict[str, Any]] | None = None,
          remove: set[str] = frozenset()) -> Path:
    """Publish a new build equal to the current one plus `add` (rel path -> table) minus `remove`.

    Used by label imports: the published build stays immutable; unchanged files are hard links.
    `labels` entries are merged into the manifest's `labels` field.
    """
    from .store import Store  # store re-exports amend: imported here, not at the top, to avoid a cycle

    if isinstance(path, str) and "://" in path:
        raise StoreError(f"{path}: label imports into a store on object storage are not supported yet; "
                         f"import into a local store and build it to the bucket, or copy the labels/ files by hand")
    layout = StoreLayout(path)
    with WriteLock(layout):
        store = Store(path, lease=False)
        if not layout.path.is_symlink():
            raise StoreError(f"{layout.path} is a plain copy of a store; amend the original (a symlinked store)")
        staging = layout.staging(f"amend-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            link_tree(store.root, staging, skip=set(add) | set(remove) | {schema.INFO_PATH})
            info = store.info
            for rel in remove:
                info.files.pop(rel, None)
            for rel in sorted(add):
                write_parquet_atomic(add[rel], staging / rel)
                info.files[rel] = file_entry(staging / rel, add[rel].num_rows)
            info.labels.update(labels or {})
            info.build_id = info.content_id()
            write_text_atomic(info.to_json(), staging / schema.INFO_PATH)
            return layout.publish(staging, info.build_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
