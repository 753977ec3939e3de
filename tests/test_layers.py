"""The house (issue 22): stage folders that follow the data walk, checked as a contract.

- import-linter's contracts in pyproject.toml hold: no stage imports a stage above it, no import cycles;
- at most 8 modules at the top of amass_arrow/, at least 6 stage folders;
- the extension recipes of docs/architecture.md hold: each plugin is one module that its registry finds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "amass_arrow"


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    out = subprocess.run([exe, "--no-cache", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_few_modules_at_the_top_and_a_folder_per_stage():
    top = sorted(p.name for p in PKG.glob("*.py"))
    folders = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file())
    assert len(top) <= 8, top
    assert {"source", "motion", "store", "build", "query", "export", "labels", "tools", "cli"} <= set(folders)


def test_a_contact_method_is_one_module_its_registry_finds():
    from amass_arrow import config
    from amass_arrow.motion import contacts

    files = sorted(p.stem for p in (PKG / "motion" / "contact_methods").glob("*.py") if not p.stem.startswith("_"))
    assert tuple(sorted(config.CONTACT_METHODS)) == tuple(files)
    assert config.CONTACT_METHODS[0] == config.MotionConfig().contacts  # the default leads (CLI help order)
    for name in files:
        fn = contacts.method(name)
        assert fn.__module__ == f"amass_arrow.motion.contact_methods.{name}"
    with pytest.raises(ValueError, match="unknown contact method 'nope'"):
        contacts.method("nope")


def test_an_executor_is_one_module_its_registry_finds():
    from amass_arrow import config
    from amass_arrow.build import executor
    from amass_arrow.errors import ConfigError

    files = sorted(p.stem for p in (PKG / "build" / "executor").glob("*.py") if not p.stem.startswith("_"))
    assert tuple(sorted(config.EXECUTORS)) == tuple(files)
    ex = executor.make_executor("local", 1)
    try:
        assert type(ex).__module__ == "amass_arrow.build.executor.local"
        assert ex.workers == 1
    finally:
        ex.close()
    with pytest.raises(ConfigError, match="executor must be one of local, ray"):
        executor.make_executor("nope", 1)


def test_an_exporter_is_one_module_its_registry_finds():
    from amass_arrow.export import registry

    registry.load_all()
    modules = {registry.get(n).__module__ for n in registry.names()}
    for name in registry.names():
        mod = registry.get(name).__module__
        assert mod.startswith("amass_arrow.export."), mod
        assert (PKG / "export" / (mod.rsplit(".", 1)[1] + ".py")).is_file()
    assert len(modules) == len(registry.names())  # one format, one module


def test_a_label_source_is_one_module_in_the_registry():
    from amass_arrow.labels import SOURCES

    for name, source in SOURCES.items():
        assert (PKG / "labels" / f"{name}.py").is_file(), name
        assert source.name == name


def test_architecture_doc_names_every_folder():
    text = (REPO / "docs" / "architecture.md").read_text()
    for p in sorted(PKG.iterdir()):
        if (p / "__init__.py").is_file():
            assert f"{p.name}/" in text, f"docs/architecture.md does not show {p.name}/"


def test_every_test_folder_is_collected():
    """No test folder matches pytest's norecursedirs (its default skips `build`, the name of a stage)."""
    import fnmatch

    import tomllib

    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    skip = cfg.get("norecursedirs")
    assert skip is not None and "build" not in skip
    folders = [p.name for p in (REPO / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))]
    assert "build" in folders
    assert not [f for f in folders if any(fnmatch.fnmatch(f, pat) for pat in skip)]
