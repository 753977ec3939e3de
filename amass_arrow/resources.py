"""The shipped `sql/` and `configs/` files, found the same way in a checkout, an editable install and a wheel.

The files live at the top of the repository (`sql/`, `configs/`: what a user of the checkout sees and
edits). The package reaches them through `amass_arrow/data/`, whose `sql` and `configs` entries are
links to those folders in a checkout; building a wheel copies the linked files in (package data), so
after a plain `pip install` they sit inside the installed package. `shipped_root()` is that folder.

A relative path such as `sql/splits/amass_official.sql` or `configs/splits.yaml` resolves against the
current folder first (a user's own copy wins), then the caller's extra bases, then the shipped files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import ConfigError

PACKAGE_DATA = "data"  # folder inside the package holding sql/ and configs/
SHIPPED_FOLDERS = ("sql", "configs")


def shipped_root() -> Path:
    """Folder holding the shipped `sql/` and `configs/` (inside the installed package)."""
    return Path(str(resources.files("amass_arrow") / PACKAGE_DATA))


def shipped(rel: str | Path) -> Path:
    """Path of a shipped file, e.g. `shipped('configs/splits.yaml')` (it may not exist)."""
    return shipped_root() / Path(rel)


def find(path: str | Path, bases: list[Path] | tuple[Path, ...] = (), what: str = "file") -> Path:
    """An existing file: `path` if absolute, else the first of cwd/path, base/path for each base, shipped/path.

    Raises ConfigError naming every folder looked in.
    """
    p = Path(path)
    if p.is_absolute():
        if p.is_file():
            return p
        raise ConfigError(f"{what} not found: {p}")
    roots = [Path.cwd(), *bases, shipped_root()]
    for root in roots:
        if (root / p).is_file():
            return root / p
    raise ConfigError(f"{what} not found: {path} (looked in {', '.join(str(r) for r in roots)})")
