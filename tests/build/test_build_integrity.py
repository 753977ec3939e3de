"""Builds that convert nothing, or hit a bug, do not pass for a success; a wrong archive root is caught (issue 20, 10-11)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from amass_arrow.build.orchestrate import build
from amass_arrow.cli import main
from amass_arrow.config import load_build_config
from amass_arrow.errors import BuildError, ConfigError
from amass_arrow.motion import kernels
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.source.discover import discover, misplaced_root, seq_id_for


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), **kw)


def _copy(synthetic_root, dst: Path, datasets) -> Path:
    for ds in datasets:
        shutil.copytree(Path(synthetic_root.amass_root) / ds, dst / ds)
    return dst


def _ids(store) -> set[str]:
    return set(pq.read_table(Path(store) / "sequences.parquet")["seq_id"].to_pylist())


def _archive_ids(src: Path) -> set[str]:
    return {seq_id_for(p.relative_to(src).as_posix()) for p in src.rglob("*.npz") if p.name != "shape.npz"}


@pytest.fixture
def broken_kernels(monkeypatch):
    """numba that cannot load its kernels (its cache unwritable: read-only install, unwritable HOME), as it raises."""
    if not kernels.ENABLED:
        pytest.skip("numba is not installed or switched off: the numpy path runs anyway")

    def no_locator():
        raise RuntimeError("cannot cache function 'fk_loop': no locator available for file '/usr/lib/amass_arrow/jitloops.py'")

    monkeypatch.setattr(kernels, "_loops", no_locator)
    monkeypatch.setattr(kernels, "_CHECKED", False, raising=False)
    monkeypatch.setattr(kernels, "ENABLED", True)


def test_kernels_that_cannot_load_fall_back_to_numpy_with_one_warning(broken_kernels):
    rng = np.random.default_rng(0)
    pose, rest, parents = rng.normal(size=(5, 3, 3)), rng.normal(size=(3, 3)), [-1, 0, 1]
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        a = forward_kinematics(pose, rest, parents)
        b = forward_kinematics(pose, rest, parents)
    np.testing.assert_array_equal(a, forward_kinematics(pose, rest, parents, jit=False))
    np.testing.assert_array_equal(b, a)
    msgs = [str(w.message) for w in got if issubclass(w.category, kernels.KernelWarning)]
    assert len(msgs) == 1 and "no locator available" in msgs[0] and "NUMBA_CACHE_DIR" in msgs[0]
    assert kernels.ENABLED is False


def test_a_build_with_unloadable_kernels_converts_every_file(broken_kernels, synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU"])
    out = tmp_path / "store"
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        res = build(_cfg(src, synthetic_root.body_models, out, workers=1), progress=False)  # converts in this process
    assert [r["reason"] for r in res.rejects] == []
    assert _ids(out) == _archive_ids(src) and res.converted == len(_archive_ids(src))
    assert sum(issubclass(w.category, kernels.KernelWarning) for w in got) == 1
    assert res.failure() is None


def test_a_build_that_converts_nothing_fails_and_publishes_nothing(synthetic_root, tmp_path, capsys):
    src = tmp_path / "src" / "CMU" / "01"
    src.mkdir(parents=True)
    (src / "01_01_poses.npz").write_bytes(b"not a zip archive")
    (src / "01_02_poses.npz").write_bytes(b"PK\x03\x04 truncated")
    out = tmp_path / "store"
    args = ["build", str(tmp_path / "src"), "--body-models", str(synthetic_root.body_models), "--out", str(out),
            "--workers", "1", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no file converted: all 2 rejected" in err[0] and "CMU/01/01_01_poses.npz" in err[0]
    assert not out.exists() and not out.is_symlink()
    with pytest.raises(BuildError, match="nothing was published"):
        build(_cfg(tmp_path / "src", synthetic_root.body_models, out, workers=1), progress=False)


def test_internal_errors_publish_the_rest_then_exit_non_zero_naming_count_and_place(synthetic_root, tmp_path,
                                                                                    monkeypatch, capsys):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU"])
    victims = sorted(_archive_ids(src))[:2]
    import amass_arrow.motion.pipeline as motion

    real = motion.process

    def flaky(seq, *a, **kw):
        if seq.seq_id in victims:
            raise KeyError("an odd layout nobody foresaw")
        return real(seq, *a, **kw)

    monkeypatch.setattr(motion, "process", flaky)  # --workers 1 converts in this process
    out = tmp_path / "store"
    assert main(["build", str(src), "--body-models", str(synthetic_root.body_models), "--out", str(out),
                 "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 file(s) failed with internal_error" in err[0]
    first = min(victims)
    assert f"{first}_poses.npz" in err[0] and "KeyError" in err[0] and "test_build_integrity.py:" in err[0]
    assert "in flaky" in err[0]  # the place: file, line and function where it was raised
    assert _ids(out) == _archive_ids(src) - set(victims)  # the rest is published


def _one_level_up(synthetic_root, up: Path) -> Path:
    (up / "smplh2").mkdir(parents=True)
    shutil.copytree(Path(synthetic_root.amass_root) / "ACCAD", up / "smplh2" / "ACCAD")
    return up


def test_an_archive_root_one_level_too_high_is_refused_with_the_layout(synthetic_root, tmp_path, capsys):
    up = _one_level_up(synthetic_root, tmp_path / "amass")
    out = tmp_path / "store"
    assert main(["build", str(up), "--body-models", str(synthetic_root.body_models), "--out", str(out),
                 "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "smplh2" in err[0] and "ACCAD" in err[0] and "ROOT/<dataset>/<subject>/<name>_poses.npz" in err[0]
    assert f"{up}/smplh2" in err[0]
    assert not out.exists() and not out.is_symlink()
    with pytest.raises(ConfigError, match="folder above the AMASS root"):
        build(_cfg(up, synthetic_root.body_models, out, workers=1), progress=False)
    # --force builds it as it is, with the same words as a warning
    with pytest.warns(UserWarning, match="folder above the AMASS root"):
        res = build(_cfg(up, synthetic_root.body_models, out, workers=1, force=True), progress=False)
    assert set(res.per_dataset) == {"smplh2"}


def test_a_right_root_and_unknown_datasets_are_not_flagged(synthetic_root, tmp_path):
    assert misplaced_root(synthetic_root.amass_root, discover(synthetic_root.amass_root)) is None
    lab = tmp_path / "root" / "MyLab" / "s1"
    lab.mkdir(parents=True)
    shutil.copy(next((Path(synthetic_root.amass_root) / "CMU").rglob("*_poses.npz")), lab / "walk_poses.npz")
    assert misplaced_root(tmp_path / "root", discover(tmp_path / "root")) is None
