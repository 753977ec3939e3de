"""executor: the same per-file task under the local pool and Ray gives the same store, row for row."""

from __future__ import annotations

import json
import os

import pytest

from amass_arrow.build.executor import make_executor
from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.errors import ConfigError
from amass_arrow.store.reader import Store

DATASETS = ("BioMotionLab_NTroje", "CMU", "GRAB")  # SMPL+H and SMPL-X files


def _square_plus(x: int, k: int) -> int:
    return x * x + k


def test_local_executor_runs_every_item_once_in_batches():
    ex = make_executor("local", 2)
    try:
        got = dict(ex.map(_square_plus, range(10), 3, batch=4))
    finally:
        ex.close()
    assert got == {x: x * x + 3 for x in range(10)}


def _loaded(_item) -> tuple[bool, bool, int]:
    import os
    import sys

    return "amass_arrow.motion.pipeline" in sys.modules, "amass_arrow.motion.jitloops" in sys.modules, os.getpid()


def test_local_workers_start_with_the_pipeline_and_kernels_loaded():
    """The fork server imports the pipeline and loads the kernels once (build/preload.py); workers inherit them."""
    from amass_arrow.motion import kernels

    ex = make_executor("local", 2)
    try:
        got = [r for _, r in ex.map(_loaded, range(4))]  # batch 1: always on the workers
    finally:
        ex.close()
    assert all(motion for motion, _, _ in got)
    assert all(jit == kernels.ENABLED for _, jit, _ in got)
    assert os.getpid() not in {pid for _, _, pid in got}


def test_unknown_executor_and_misplaced_address_are_named():
    with pytest.raises(ConfigError, match="executor must be one of local, ray"):
        make_executor("dask", 2)
    with pytest.raises(ConfigError, match="--address is for --executor ray"):
        make_executor("local", 2, "auto")


def _snapshot(path):
    s = Store(path)
    frames = s.frames_dataset().to_table().sort_by([("seq_id", "ascending"), ("frame", "ascending")])
    info = json.loads((s.root / "meta/info.json").read_text())
    info.pop("created")
    info["config"].pop("out")  # where, not what
    return s.sequences(), s.rejects(), frames, info, sorted(p.relative_to(s.root).as_posix() for p in s.frame_files())


def test_ray_build_equals_local_build_row_for_row(synthetic_root, tmp_path):
    """Ray (2 CPUs) and the local pool (2 workers; both one BLAS thread per worker) give the same files, byte for byte.

    (The 1-worker in-process build keeps the caller's BLAS threads, which can move float64 metrics such as
    `jitter` in the last bit, so the comparison is pool against Ray.)
    """
    import ray  # the ray extra, in dev

    kw = dict(amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models), workers=2,
              datasets=list(DATASETS))
    build(load_build_config(None, out=str(tmp_path / "local"), **kw), progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        res = build(load_build_config(None, out=str(tmp_path / "store"), executor="ray", **kw), progress=False)
        assert ray.is_initialized()  # a Ray the caller started is left running
    finally:
        ray.shutdown()
    assert res.converted > 0 and res.reused == 0
    seqs, rejects, frames, info, parts = _snapshot(tmp_path / "store")
    seqs0, rejects0, frames0, info0, parts0 = _snapshot(tmp_path / "local")
    assert parts == parts0 and len(parts) == seqs.num_rows  # the same part names
    assert seqs.equals(seqs0) and rejects.equals(rejects0)
    assert frames.num_rows == frames0.num_rows > 0 and frames.equals(frames0)
    differ = sorted(k for k in set(info["files"]) | set(info0["files"]) if info["files"].get(k) != info0["files"].get(k))
    assert differ == []  # every file the same, byte for byte (hashes in the manifest)
    assert info == info0  # the same manifest apart from the creation time
    assert {r["surface_model"] for r in seqs.to_pylist()} == {"smplh", "smplx"}


def test_fork_server_start_imports_nothing_heavy():
    """warmstart (what `amass-arrow build` imports first) pulls in neither numpy nor pyarrow."""
    import subprocess
    import sys

    code = "import sys, amass_arrow.build.warmstart; print(sorted({'numpy', 'pyarrow', 'numba'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
