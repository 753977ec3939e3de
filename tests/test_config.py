"""config: YAML holds every option, CLI flags override it, nonsense is rejected with the key named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from amass_arrow.config import BuildConfig, MotionConfig, load_build_config
from amass_arrow.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_shipped_build_yaml_matches_the_defaults():
    cfg = load_build_config(REPO / "configs/build.yaml", amass_root="a", body_models="b", out="c")
    assert cfg.motion == MotionConfig()  # the file documents the defaults, it does not change them
    assert dataclasses.replace(cfg, amass_root=None, body_models=None, out=None) == BuildConfig()


def test_shipped_build_yaml_lists_every_option():
    """configs/build.yaml documents every key of the typed config (the paths as comments), so none is hidden."""
    data = yaml.safe_load((REPO / "configs/build.yaml").read_text())
    text = (REPO / "configs/build.yaml").read_text()
    for f in dataclasses.fields(BuildConfig):
        if f.name in ("amass_root", "body_models", "out"):
            assert f"# {f.name}:" in text, f.name
        else:
            assert f.name in data, f"configs/build.yaml lacks {f.name}"
    assert set(data["motion"]) == {f.name for f in dataclasses.fields(MotionConfig)}


def test_yaml_holds_every_option_and_flags_override(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text(
        "build:\n  amass_root: /data/amass\n  body_models: /data/bm\n  out: /data/store\n  workers: 3\n"
        "  executor: ray\n  address: auto\n  datasets: [CMU, HDM05]\n  fps_overrides: {CMU/01/01_01: 60.0}\n"
        "  motion: {fps: 60, resample: decimate, joints: smplh52, frame: y_up, contact_speed: 0.2,"
        " contact_height: 0.05, floor: none, joint_velocities: true}\n"
    )
    cfg = load_build_config(f)
    assert (cfg.amass_root, cfg.body_models, cfg.out, cfg.workers) == ("/data/amass", "/data/bm", "/data/store", 3)
    assert (cfg.executor, cfg.address) == ("ray", "auto")
    assert cfg.datasets == ["CMU", "HDM05"] and cfg.fps_overrides == {"CMU/01/01_01": 60.0}
    assert cfg.motion == MotionConfig(fps=60, resample="decimate", joints="smplh52", frame="y_up", contact_speed=0.2,
                                      contact_height=0.05, floor="none", joint_velocities=True)
    over = load_build_config(f, workers=1, out="/elsewhere", motion_fps=30.0, motion_frame=None)
    assert (over.workers, over.out, over.motion.fps, over.motion.frame) == (1, "/elsewhere", 30.0, "y_up")


@pytest.mark.parametrize(
    "text, message",
    [
        ("workers: 2\nwrokers: 3\n", "unknown key(s) wrokers"),
        ("motion: {fsp: 30}\n", "motion: unknown key(s) fsp"),
        ("motion: {joints: body23}\n", "motion.joints must be one of"),
        ("motion: {fps: 0}\n", "motion.fps must be > 0"),
        ("motion: {frame: x_up}\n", "motion.frame must be one of"),
        ("workers: 0\n", "workers must be >= 1"),
        ("executor: dask\n", "executor must be one of local, ray"),
        ("address: auto\n", "address 'auto' is for executor 'ray'"),
        ("- a list\n", "expected a mapping"),
        ("motion: [1\n", "invalid YAML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_build_config(f, amass_root="a", body_models="b", out="c")
    assert message in str(e.value)


def test_missing_paths_and_files_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="build needs 'amass_root'"):
        load_build_config(None)
    with pytest.raises(ConfigError, match="config file not found"):
        load_build_config(tmp_path / "nope.yaml")
    assert isinstance(load_build_config(None, amass_root="a", body_models="b", out="c"), BuildConfig)


def test_workers_auto_is_the_default_and_counts_usable_cpus(tmp_path):
    import os

    from amass_arrow.config import parse_workers

    cpus = len(os.sched_getaffinity(0))
    assert BuildConfig().workers == "auto"
    cfg = load_build_config(None, amass_root="a", body_models="b", out="c")
    assert cfg.worker_count() == cpus
    assert load_build_config(None, amass_root="a", body_models="b", out="c", workers=3).worker_count() == 3
    assert parse_workers("2") == 2
    for bad in ("many", 0, "0", 1.5):
        with pytest.raises(ConfigError, match="workers"):
            parse_workers(bad)


def test_cli_workers_flag_takes_auto_or_a_number():
    from amass_arrow.cli.store import _workers_arg

    assert _workers_arg("auto") == "auto" and _workers_arg("4") == 4
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="workers"):
        _workers_arg("lots")
