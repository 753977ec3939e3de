"""Rebuilding a store of another format version (the command its refusal prints) keeps the replacement guard and
never drops its labels silently: nothing of the old build is reused, a build from another archive that would remove
its sequences is refused without --replace, and a store holding labels is refused with the re-import to do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.errors import StoreError
from amass_arrow.labels import SOURCES, write_labels
from amass_arrow.store.reader import Store
from amass_arrow.store.verify import verify


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), workers=1, **kw)


def _archive(synthetic_root, dst: Path, datasets) -> Path:
    for ds in datasets:
        shutil.copytree(Path(synthetic_root.amass_root) / ds, dst / ds)
    return dst


def _as_version_1(store: Path) -> None:
    """Make the published build look like one written before the format bump."""
    info = store / "meta" / "info.json"
    data = json.loads(info.read_text())
    data["format_version"] = 1
    os.chmod(info, 0o644)
    info.unlink()  # a hard link shared with other builds: write a new file
    info.write_text(json.dumps(data))


def test_rebuilding_another_version_reuses_nothing_and_publishes_this_version(synthetic_root, tmp_path):
    src = _archive(synthetic_root, tmp_path / "amass", ["CMU"])
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    _as_version_1(out)
    with pytest.raises(StoreError, match="format version 1"):
        Store(out)
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert res.reused == 0 and res.converted > 0  # nothing of the old format is reused
    assert Store(out).info.format_version != 1 and verify(out).ok


def test_another_version_from_another_archive_is_still_guarded(synthetic_root, tmp_path):
    src = _archive(synthetic_root, tmp_path / "amass", ["CMU"])
    other = _archive(synthetic_root, tmp_path / "other", ["SFU"])
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    _as_version_1(out)
    with pytest.raises(StoreError, match="refusing to replace the store"):
        build(_cfg(other, synthetic_root.body_models, out), progress=False)
    assert json.loads((out / "meta" / "info.json").read_text())["format_version"] == 1  # untouched
    build(_cfg(other, synthetic_root.body_models, out, replace=True), progress=False)
    assert verify(out).ok


def test_another_version_with_labels_is_refused_naming_them_until_replace(synthetic_root, tmp_path):
    src = _archive(synthetic_root, tmp_path / "amass", ["CMU"])
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    write_labels(out, SOURCES["filename"].run(out))
    assert (out / "labels" / "filename.parquet").is_file()
    _as_version_1(out)
    with pytest.raises(StoreError, match=r"holds labels \(filename\).*--replace.*labels import"):
        build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert (out / "labels" / "filename.parquet").is_file()  # the old build is still the published one
    build(_cfg(src, synthetic_root.body_models, out, replace=True), progress=False)
    assert not (out / "labels").exists() and verify(out).ok
