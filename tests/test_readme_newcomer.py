"""The README as a newcomer reads it (issue 21 items 13-15): in a copy of the checkout, a shell that has
never seen the venv runs the 'Start here' block literally (its `make` targets, then the activation line),
then, in that shell, the README's Python snippets and its loader lines; and the README's claims about what
`make labels`, `connect()` and the export folders do are checked against what they did.

`make test` (in the same block) is not re-run from inside the test suite. The copy shares this checkout's
`.venv/` (a link: nothing is installed), and `make` runs with `-o .venv/.installed`, as in test_readme.py.
The MotionLib and Text2MotionDataset lines need those projects, which the README says; they are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
VENV = Path(sys.prefix)
NEEDS_OTHER_PROJECTS = ("MotionLib(", "Text2MotionDataset(")


def section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}.*?\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def _newcomer_env() -> dict[str, str]:
    """A login shell's environment: no venv on PATH, nothing of this test run's Python or make."""
    bin_dirs = {str(VENV / "bin"), str(Path(sys.executable).parent)}
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in bin_dirs)
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PATH": path}


def _snippet_script(code: str) -> str:
    """A Python block as a script that also prints the value of its last line (a REPL would show it)."""
    lines = code.rstrip().splitlines()
    last = lines[-1].split("  #")[0].rstrip()
    if re.match(r"^[\w.\[\]\"'()]+$", last) and "=" not in last:
        lines[-1] = f"print(repr({last}))"
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """(clone, run): a copy of the checkout where the 'Start here' block has run; run(script) runs bash lines
    in a shell that did exactly that block (activation included), returning stdout."""
    if not (VENV / "bin" / "activate").is_file():
        pytest.skip(f"the tests do not run in a venv with bin/activate ({VENV}); the README's activation line needs one")
    clone = tmp_path_factory.mktemp("newcomer") / "amass_arrow"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        if (REPO / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, clone / rel, follow_symlinks=False)
    for link in ("amass_arrow/data/sql", "amass_arrow/data/configs"):  # package-data links, as git stores them
        if (REPO / link).is_symlink() and not (clone / link).exists():
            (clone / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(REPO / link), clone / link)
    (clone / ".venv").symlink_to(VENV)

    start = [ln for b in blocks(section("Start here"), "bash") for ln in b.splitlines()]
    start = [ln.split(" #")[0].strip() for ln in start]
    start = [ln for ln in start if ln and not ln.startswith("#")]
    assert ". .venv/bin/activate" in start or "source .venv/bin/activate" in start, \
        "the 'Start here' block never activates .venv, so the CLI and the Python snippets fail for a newcomer"
    start = [ln for ln in start if ln != "make test"]
    start = [f"make -o .venv/.installed {ln[len('make '):]}" if ln.startswith("make ") else ln for ln in start]
    env = _newcomer_env()
    # what a newcomer's shell says before activating (the README tells them why)
    r = subprocess.run(["bash", "-c", "command -v amass-arrow || echo none"], cwd=clone, env=env, capture_output=True,
                       text=True)
    assert r.stdout.strip() == "none" or not r.stdout.startswith(str(VENV)), r.stdout

    def run(script: str) -> str:
        full = "set -euo pipefail\n" + "\n".join(start) + "\n" + script
        r = subprocess.run(["bash", "-c", full], cwd=clone, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"{script!r} after the 'Start here' block failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    out = run("command -v amass-arrow\n")  # the block itself (make build-splits) and the CLI on PATH after it
    assert out.strip().splitlines()[-1].startswith(str(VENV))
    start = [ln for ln in start if not ln.startswith("make ")]  # built once; later scripts only activate
    return clone, run


def test_start_here_snippet_runs_and_prints_what_its_comment_says(newcomer, tmp_path):
    clone, run = newcomer
    code = blocks(section("Start here"), "python")[0]
    claimed = re.search(r"#\s*(torch\.Size\(\[\d+\]\))", code).group(1)
    (tmp_path / "start.py").write_text(_snippet_script(code))
    out = run(f"python {tmp_path / 'start.py'}\n")
    assert out.strip().splitlines()[-1] == claimed
    assert (clone / "demo" / "splits" / "official" / "hf_frame" / "dataset_dict.json").is_file()


def test_sql_snippet_runs_and_its_views_are_the_ones_its_comment_lists(newcomer, tmp_path):
    clone, run = newcomer
    code = blocks(section("SQL, splits and exports"), "python")[0]
    (tmp_path / "sql.py").write_text(code)
    run(f"python {tmp_path / 'sql.py'}\n")
    comment = re.search(r"connect\(.*?#\s*DuckDB;\s*(.*)$", code, re.M).group(1)
    views = set(re.findall(r"\w+", re.search(r"views ([\w, ]+)", comment).group(1)))
    tables = set(re.findall(r"\w+", re.search(r"table ([\w, ]+)", comment).group(1)))
    probe = tmp_path / "probe.py"
    probe.write_text("import amass_arrow\ncon = amass_arrow.connect('demo/store')\n"
                     "print(sorted(r[0] for r in con.execute(\"SELECT view_name FROM duckdb_views() WHERE NOT internal\").fetchall()))\n"
                     "print(sorted(r[0] for r in con.execute('SELECT table_name FROM duckdb_tables()').fetchall()))\n")
    got_views, got_tables = run(f"python {probe}\n").strip().splitlines()[-2:]
    assert eval(got_views) == sorted(views) and eval(got_tables) == sorted(tables)  # noqa: S307 - our own print
    assert "labels" not in views and "labels" in comment  # (+ labels only after an import: see the labels test)


def test_loader_lines_and_frame_loader_snippet_run_on_the_demo_exports(newcomer, tmp_path):
    clone, run = newcomer
    sql = section("SQL, splits and exports")
    rows = [ln for ln in sql.splitlines() if ln.startswith("| `") and ln.count("|") >= 4 and "OUT/" in ln]
    lines = [re.findall(r"`([^`]*OUT/[^`]*)`", r.split("|")[-2])[0] for r in rows]
    assert len(lines) >= 5
    runnable = [ln for ln in lines if not ln.startswith(NEEDS_OTHER_PROJECTS)]
    assert len(lines) - len(runnable) == 2
    assert "installed" in sql and all(k in sql for k in ("MotionLib", "Text2MotionDataset"))
    # OUT = --out of build-splits: demo/splits for the demo
    script = "import datasets, h5py, numpy as np, torch\n" + "".join(f"print(type({ln.replace('OUT/', 'demo/splits/')}).__name__)\n"
                                                   for ln in runnable)
    (tmp_path / "loaders.py").write_text(script)
    assert len(run(f"python {tmp_path / 'loaders.py'}\n").strip().splitlines()) == len(runnable)
    for ln in set(lines) - set(runnable):  # the paths of the lines not run exist too
        for p in re.findall(r'"(OUT/[^"]+)"', ln):
            assert (clone / p.replace("OUT/", "demo/splits/")).exists(), p
    loader = [b for b in blocks(sql, "python") if "FrameLoader" in b]
    assert loader, "README has no FrameLoader line"
    (tmp_path / "fl.py").write_text(loader[0] + "print({k: tuple(v.shape) for k, v in batch.items()})\n")
    shapes = eval(run(f"python {tmp_path / 'fl.py'}\n").strip().splitlines()[-1])  # noqa: S307 - our own print
    assert shapes["pose_body"][1] == 63 and shapes["joints"][1] == 66


def test_export_folders_hold_what_the_readme_says(newcomer):
    clone, _ = newcomer
    from amass_arrow.export.registry import names

    sql = section("SQL, splits and exports")
    para = sql[sql.index("one folder per exporter"):]
    para = para[:para.index("\n\n")]
    stats_sentence = re.search(r"([^;]*)`stats\.json`", para).group(1)
    claimed_stats = set(re.findall(r"`(\w+)`", stats_sentence)) & set(names())
    folders = [d for d in (clone / "demo" / "splits").glob("*/*") if d.is_dir()]
    kinds = {d: next(k for k in sorted(names(), key=len, reverse=True) if d.name.startswith(k)) for d in folders}
    assert set(kinds.values()) == {"hf", "torch", "protomotions", "vposer", "humanml3d", "motion272", "rib", "hub"}
    for d, kind in kinds.items():
        assert (d / "provenance.json").is_file(), d
        assert (d / "stats.json").is_file() == (kind in claimed_stats), (d, claimed_stats)
        for name in ("humanml3d.json", "bodies.txt", "Mean.npy", "Std.npy"):
            if (d / name).is_file():
                assert f"`{name}`" in para, f"{d.relative_to(clone)}/{name} is not described in the README"
    for split in ("train", "validation", "test"):  # every split written, empty or not
        assert (clone / "demo" / "splits" / "official" / "torch_frame" / f"{split}.pt").is_file()


def test_make_labels_with_store_publishes_a_new_build_as_the_readme_says(newcomer, tmp_path):
    clone, run = newcomer
    real = section("Real data")
    m = re.search(r"`make labels STORE=…`([^.]*)", real)
    assert m and "only read" not in m.group(0) and "publishes" in m.group(1)
    store = clone / "demo" / "store"
    before = os.readlink(store)
    out = run(f"make -o .venv/.installed labels STORE={store}\n"
              "python -c \"import amass_arrow; print(sorted(r[0] for r in amass_arrow.connect('demo/store')"
              ".execute('SELECT view_name FROM duckdb_views() WHERE NOT internal').fetchall()))\"\n")
    assert os.readlink(store) != before  # a new build of the same store
    assert "labels" in eval(out.strip().splitlines()[-1])  # noqa: S307 - our own print; the view after an import


def test_make_export_writes_where_the_readme_says(newcomer, tmp_path):
    clone, run = newcomer
    sql = section("SQL, splits and exports")
    m = re.search(r"`make export … KIND=k OUT=X` writes\s+`X/k/([\w/]+)/…`", sql)
    assert m, "README does not say where make export writes"
    run(f"make -o .venv/.installed export STORE=demo/store KIND=torch OUT={tmp_path}\n")
    assert (tmp_path / "torch" / m.group(1) / "torch_frame" / "train.pt").is_file()
