"""The one way to open a published store: `open_store(path)` for a local folder or an object-store URL."""

from __future__ import annotations

from pathlib import Path

from amass_arrow.io.remote import is_url

from .reader import Store
from .remote import ObjectStore


def open_store(path: str | Path, *, lease: bool = True) -> Store:
    """The store at `path`, pinned to its current build: a `Store`, or an `ObjectStore` (same methods, paths
    are URLs) for `s3://...`. `lease=False`: a writer's own look at the current build (no reader lease)."""
    return ObjectStore(str(path), lease=lease) if is_url(str(path)) else Store(path, lease=lease)
