"""The CLI: every command is documented with an example; commands call the library and fail cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from amass_arrow import cli

EXPECTED = {"synth", "build", "info", "inventory", "render", "verify", "query", "build-splits", "export", "labels", "bench",
            "import-motion-yaml", "report", "metrics"}


def _commands():
    cli._load_plugins()
    return cli.COMMANDS


def test_every_command_is_registered_and_documented_with_an_example():
    cmds = _commands()
    assert set(cmds) == EXPECTED
    for name, (help_, epilog, _add, _run) in cmds.items():
        assert len(help_) > 20, name
        assert "example" in epilog.lower() and "amass-arrow " in epilog, f"{name}: --help needs an example"


def test_help_runs_for_every_command_through_python_m():
    for name in sorted(EXPECTED):
        out = subprocess.run([sys.executable, "-m", "amass_arrow", name, "--help"], capture_output=True, text=True)
        assert out.returncode == 0, (name, out.stderr)
        assert f"usage: amass-arrow {name}" in out.stdout


def test_synth_build_info_inventory_render(tmp_path, capsys):
    assert cli.main(["synth", str(tmp_path / "s")]) == 0
    assert "synthetic sequences" in capsys.readouterr().out
    assert cli.main(["inventory", str(tmp_path / "s/amass")]) == 0
    inv = capsys.readouterr().out
    assert "CMU" in inv and "SFU" in inv
    store = tmp_path / "store"
    args = ["build", str(tmp_path / "s/amass"), "--body-models", str(tmp_path / "s/body_models"), "--out", str(store),
            "--quiet", "--datasets", "CMU", "SFU", "--fps", "20", "--frame", "y_up"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "total" in out and "converted" in out
    assert cli.main(["info", str(store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["fps"], info["frame"], set(info["datasets"])) == (20.0, "y_up", {"CMU", "SFU"})
    assert cli.main(["info", str(store)]) == 0
    out = capsys.readouterr().out
    assert "20.0 fps" in out
    assert "quality      flags " in out and "foot_skating > 0.5" in out and "joint_speed_spike (peak_joint_speed > 20.0)" in out
    assert "lying_down (upright_fraction < 0.5)" in out
    png = tmp_path / "walk.png"
    assert cli.main(["render", str(store), "CMU/01/01_01", "-o", str(png), "--end", "1.5"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_library_errors_become_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["info", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("amass-arrow info: error: no amass-arrow store at") and err.count("\n") == 1
    assert cli.main(["build", str(tmp_path), "--body-models", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--joints", "nonsense"]) == 2
    assert "motion.joints must be one of" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["--version"]])
def test_top_level(argv, capsys):
    if argv:
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 0 and "amass-arrow 0." in capsys.readouterr().out
    else:
        assert cli.main(argv) == 1 and "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("argv, starts", [
    (["build", "root", "--workers", "2"], True),
    (["build", "root"], True),  # workers auto
    (["build", "root", "--workers=4", "--executor", "local"], True),
    (["build", "root", "--workers", "1"], False),
    (["build", "root", "--executor", "ray"], False),
    (["build", "--help"], False),
    (["query", "store", "SELECT 1"], False),
])
def test_build_starts_the_pool_fork_server_before_its_imports(monkeypatch, argv, starts):
    """`amass-arrow build` on a local pool starts the fork server first thing (its warm-up overlaps the CLI's imports)."""
    from amass_arrow import cli
    from amass_arrow.build import warmstart

    calls = []
    monkeypatch.setattr(warmstart, "start_fork_server", lambda: calls.append(True))
    cli._prestart_pool(argv)
    assert bool(calls) is starts


def test_build_runs_one_blas_thread_when_it_sets_up_first():
    """`amass-arrow build` (even with one worker) sets one BLAS thread before numpy is imported."""
    import subprocess
    import sys

    code = ("import os; [os.environ.pop(k, None) for k in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')]; "
            "from amass_arrow import cli; cli._prestart_pool(['build', 'root', '--workers', '1']); "
            "print(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('OMP_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["1", "1"]


def test_the_command_line_loads_no_optional_extra():
    """Every command module imports its library at the top, but no optional extra (those load inside the
    functions that need them, behind their guard), so `amass-arrow --help` works on a base install."""
    code = ("import sys; from amass_arrow import cli; cli._load_plugins(); cli.parser(); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'datasets', 'ray', 'numba', 'boto3', 'h5py', 'smplx', "
            "'huggingface_hub') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
