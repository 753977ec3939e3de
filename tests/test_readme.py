"""The README's real-data commands, as written in README.md, run on a synthetic archive outside the checkout.

The ```bash blocks under '## Real data' are read from the README (so the test fails when they drift),
their /data/... paths are moved under a temporary folder, the archive and body models are placed where
the commands expect them, and every command must succeed and leave the store holding exactly that
archive. `make` runs with this interpreter (PY=) and never installs (-o the venv stamp).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from amass_arrow.store.reader import Store

REPO = Path(__file__).resolve().parent.parent
DATASETS = ("CMU", "HumanEva", "Transitions_mocap", "GRAB")  # train / validation / test of the official split


def real_data_commands(readme: Path = REPO / "README.md") -> list[str]:
    """Each command line of the ```bash blocks in the README's '## Real data' section (continuations joined)."""
    text = readme.read_text()
    section = re.search(r"^## Real data\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "README.md has no '## Real data' section"
    blocks = re.findall(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M)
    assert blocks, "the README's '## Real data' section has no ```bash block"
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [" ".join(ln.split(" #")[0].split()) for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _value(cmds: list[list[str]], flag: str) -> str:
    """The value of VAR=... (make) or of `--flag value` (CLI) in the first command that has it."""
    for argv in cmds:
        for i, a in enumerate(argv):
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
            if a == flag and i + 1 < len(argv):
                return argv[i + 1]
    raise AssertionError(f"no command in the README's real-data section sets {flag}")


def _seq_ids(store: str) -> set[str]:
    return set(pq.read_table(Path(store) / "sequences.parquet")["seq_id"].to_pylist())


def test_readme_real_data_commands_build_exactly_the_given_archive(synthetic_root, tmp_path):
    data = tmp_path / "data"
    raw = real_data_commands()
    assert any(c.startswith("make build ") for c in raw) and any(c.startswith("amass-arrow build ") for c in raw)
    cmds = [shlex.split(c.replace("/data/", f"{data}/")) for c in raw]
    unknown = [c for c in cmds if c[0] not in ("make", "amass-arrow")]
    assert not unknown, f"README real-data commands this test cannot run: {unknown}"

    make_cmds = [c for c in cmds if c[0] == "make"]
    cli_cmds = [c for c in cmds if c[0] == "amass-arrow"]
    archive, models = Path(_value(make_cmds, "AMASS_ROOT")), Path(_value(make_cmds, "BODY_MODELS"))
    assert Path(_value(cli_cmds, "build")) == archive and Path(_value(cli_cmds, "--body-models")) == models
    assert REPO not in archive.parents and data in archive.parents  # outside the checkout
    for ds in DATASETS:
        shutil.copytree(Path(synthetic_root.amass_root) / ds, archive / ds)
    shutil.copytree(synthetic_root.body_models, models)
    expected = {f.seq_id for f in synthetic_root.files if f.dataset in DATASETS}
    assert expected

    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
    demo_before = sorted((REPO / "demo").rglob("*")) if (REPO / "demo").exists() else []

    def run(argv: list[str]) -> str:
        if argv[0] == "make":
            argv = ["make", "-o", ".venv/.installed", f"PY={sys.executable}", *argv[1:]]
            cwd = REPO
        else:
            argv = [sys.executable, "-m", "amass_arrow", *argv[1:]]
            cwd = tmp_path
        r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
        assert r.returncode == 0, f"{shlex.join(argv)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    # make: build, then the reading targets; the store holds exactly the archive
    make_store = _value(make_cmds, "STORE")
    for argv in make_cmds:
        run(argv)
    assert _seq_ids(make_store) == expected
    assert Store(make_store).info.source["root"] == str(archive.resolve())
    out = Path(_value(make_cmds, "OUT"))
    assert (out / "official" / "split_rows.parquet").is_file()
    rows = pq.read_table(out / "official" / "split_rows.parquet")["seq_id"].to_pylist()
    assert set(rows) <= expected and rows

    # the CLI, in order, on the same paths
    cli_store = _value(cli_cmds, "--out")
    printed = {argv[1]: run(argv) for argv in cli_cmds}
    if "info" in printed:  # `info` names the archive the store was built from
        assert f"source       {archive.resolve()} ({len(expected)} files" in printed["info"]
    assert _seq_ids(cli_store) == expected and not pq.read_table(Path(cli_store) / "rejects.parquet").num_rows
    # nothing under the checkout's demo folder was made or changed by the real-data commands
    assert (sorted((REPO / "demo").rglob("*")) if (REPO / "demo").exists() else []) == demo_before


def test_readme_extraction_sees_every_command(tmp_path):
    """The extractor reads exactly the bash blocks of that section (not other sections, not prose)."""
    f = tmp_path / "README.md"
    f.write_text("# x\n\n## Real data\n\ntext `make nope`\n\n```bash\nmake build A=1 \\\n  B=2\n# a comment\n```\n\n"
                 "```python\nimport x\n```\n\n```bash\namass-arrow info S\n```\n\n## Next\n\n```bash\nmake other\n```\n")
    assert real_data_commands(f) == ["make build A=1 B=2", "amass-arrow info S"]
