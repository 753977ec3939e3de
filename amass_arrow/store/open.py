"""The one way to open a store: `open_store(path)` to read a published one, `open_layout(path)` to write one;
a local folder or an object-store URL, decided here."""

from __future__ import annotations

from pathlib import Path

from amass_arrow.io.remote import is_url

from .layout import StoreLayout
from .reader import Store
from .remote import ObjectLayout, ObjectStore


def open_store(path: str | Path, *, lease: bool = True) -> Store:
    """The store at `path`, pinned to its current build: a `Store`, or an `ObjectStore` (same methods, paths
    are URLs) for `s3://...`. `lease=False`: a writer's own look at the current build (no reader lease)."""
    return ObjectStore(str(path), lease=lease) if is_url(str(path)) else Store(path, lease=lease)


def open_layout(path: str | Path) -> StoreLayout | ObjectLayout:
    """Where a writer puts a store at `path` (builds, staging, lock, publish): on disk or on object storage."""
    return ObjectLayout(str(path)) if is_url(str(path)) else StoreLayout(path)
