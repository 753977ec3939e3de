"""A plain (non-editable) install ships sql/ and configs/: build the wheel, install it into a fresh venv,
and run `amass-arrow build-splits` from a folder that is not the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ["sql/splits/amass_official.sql", "sql/splits/random_sequences.sql", "sql/slices/trim_heads.sql",
           "configs/splits.yaml", "configs/build.yaml"]


def _run(cmd, cwd, env=None, timeout=300):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, amass-arrow script) of a fresh venv holding only the built wheel; the test venv's
    site-packages (numpy, duckdb, datasets, ...) is visible through a .pth line, its editable
    `amass_arrow` is not (.pth files of a .pth-added folder are not run)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so the build writes no build/ or egg-info into the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("amass_arrow", "sql", "configs"):
        shutil.copytree(REPO / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, src], tmp)
    (wheel,) = dist.glob("amass_arrow-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (purelib / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel], tmp)
    return wheel, py, env_dir / "bin" / "amass-arrow"


def test_wheel_holds_sql_and_configs(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in SHIPPED:
        assert f"amass_arrow/data/{rel}" in names, rel
    # every file of the checkout's sql/ and configs/ is shipped, byte for byte
    checkout = sorted(p.relative_to(REPO).as_posix() for d in ("sql", "configs") for p in (REPO / d).rglob("*") if p.is_file())
    assert set(SHIPPED) <= set(checkout)
    with zipfile.ZipFile(wheel) as z:
        for rel in checkout:
            assert z.read(f"amass_arrow/data/{rel}") == (REPO / rel).read_bytes(), rel


def test_build_splits_from_another_folder(installed, demo_store, tmp_path):
    _, py, script = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    # default definition (sql/splits/amass_official.sql), no --config
    out = elsewhere / "out"
    _run([script, "build-splits", demo_store, "--out", out, "--quiet"], elsewhere, env)
    assert (out / "official" / "split_rows.parquet").is_file() and (out / "official" / "hf_frame").is_dir()
    where = _run([py, "-c", "import amass_arrow, amass_arrow.resources as r; print(amass_arrow.__file__); print(r.shipped_root())"],
                 elsewhere, env).stdout.split()
    assert Path(where[0]).is_relative_to(script.parent.parent) and not Path(where[0]).is_relative_to(REPO)
    assert (Path(where[1]) / "sql/splits/amass_official.sql").is_file()
    # a user's config naming shipped SQL files by relative path (no copy in this folder); no exports
    cfg = elsewhere / "defs.yaml"
    cfg.write_text("definitions:\n  - {name: official, sql: sql/splits/amass_official.sql, "
                   "slices: [sql/slices/trim_heads.sql, sql/slices/min_duration.sql]}\n"
                   "  - {name: random, sql: sql/splits/random_sequences.sql, params: {seed: 1}}\nexports: []\n")
    out2 = elsewhere / "out2"
    _run([script, "build-splits", demo_store, "--config", cfg, "--out", out2, "--quiet"], elsewhere, env)
    assert {p.name for p in out2.iterdir()} == {"official", "random"}
    # the shipped configs/splits.yaml by its relative name
    res = _run([py, "-c", "from amass_arrow.export.splits import load_splits_config as f; "
                          "print(sorted(d.name for d in f('configs/splits.yaml').definitions))"], elsewhere, env)
    assert res.stdout.strip() == "['cross_subject', 'official', 'random']"
