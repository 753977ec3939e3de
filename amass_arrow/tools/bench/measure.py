"""`make bench`'s measurements, one function each: read floor, builds (with a /proc RSS sampler), smplx baseline,
stage profile, export, loading, sizes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from amass_arrow.build.convert import Settings, convert_task
from amass_arrow.build.executor import make_executor
from amass_arrow.config import BuildConfig, MotionConfig
from amass_arrow.errors import require
from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits, load_splits_config
from amass_arrow.export.units import FRAME_UNIT
from amass_arrow.loader import FrameLoader
from amass_arrow.motion import pipeline as motion
from amass_arrow.query.splits import Definition
from amass_arrow.resources import shipped
from amass_arrow.schema import NPZ, SEQ
from amass_arrow.source.discover import discover
from amass_arrow.store.open import open_store
from amass_arrow.tools.bench.targets import BATCH, BUILD_RUNS, HF_BATCHES, SMPLX_SECONDS, SMPLX_SEQUENCES


# ---------------------------------------------------------------- measurements
def read_floor(amass_root: Path) -> dict[str, float]:
    """Seconds to np.load every .npz under `amass_root` and read each numeric array (object arrays skipped)."""
    files = sorted(Path(amass_root).rglob("*.npz"))
    t0 = time.perf_counter()
    nbytes = 0
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            for k in z.files:
                try:
                    nbytes += z[k].nbytes
                except ValueError:  # object (pickled) arrays: not numeric, never unpickled
                    pass
    return {"seconds": time.perf_counter() - t0, "files": len(files), "array_bytes": nbytes}


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle or iowait) since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class TreeRSS:
    """Samples /proc every `interval` s: `peak` = max summed RSS of `pid` and its descendants;
    `cpu_seconds` = their CPU time (each process's last sampled utime + stime)."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak, self.samples = pid, interval, 0, 0
        self._ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self.samples += 1
            self._stop.wait(self.interval)

    def sample(self) -> int:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat", "rb") as fh:
                    st = fh.read()
            except OSError:
                continue
            ppid = int(st[st.rindex(b")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d))
        total, todo = 0, [self.pid]
        while todo:
            p = todo.pop()
            todo.extend(children.get(p, []))
            try:
                with open(f"/proc/{p}/statm", "rb") as fh:
                    total += int(fh.read().split()[1]) * self._page
                with open(f"/proc/{p}/stat", "rb") as fh:
                    st = fh.read()
                fields = st[st.rindex(b")") + 2:].split()
                self._ticks[p] = max(self._ticks.get(p, 0), int(fields[11]) + int(fields[12]))  # utime + stime
            except (OSError, ValueError, IndexError):
                pass
        return total


def run_build(amass_root: Path, body_models: Path, store: Path, workers: int, executor: str = "local") -> dict[str, Any]:
    """`python -m amass_arrow build ... --fps 30 --force` in a subprocess; wall time and memory.

    executor 'ray': the same build on a local Ray of `workers` CPUs that the build starts and stops (included).
    """
    import resource

    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(store.parent / f".{store.name}.amass-arrow", ignore_errors=True)
    cmd = [sys.executable, "-m", "amass_arrow", "build", str(amass_root), "--body-models", str(body_models),
           "--out", str(store), "--workers", str(workers), "--fps", "30", "--force", "--quiet", "--executor", executor]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    load_before = os.getloadavg()[0]
    busy0 = busy_cpu_seconds()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeRSS(proc.pid) as rss:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    # CPU the rest of the machine used meanwhile (busy CPU minus the build tree's): skews parallel timings
    other_cpu = max(0.0, busy_cpu_seconds() - busy0 - rss.cpu_seconds)
    if proc.returncode != 0:
        raise RuntimeError(f"build failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    seqs = open_store(store).sequences()
    return {"workers": workers, "executor": executor, "seconds": wall, "peak_rss_tree": rss.peak, "loadavg_before": load_before, "rss_samples": rss.samples,
            "cpu_seconds_tree": rss.cpu_seconds, "other_cpu_share": other_cpu / (wall * (os.cpu_count() or 1)),
            # ru_maxrss (KiB) is the max over all waited-for children so far: meaningful when it grew
            "max_rss_process": after * 1024 if after > before else None,
            "source_frames": int(sum(seqs[SEQ.source_frames].to_pylist())),
            "store_frames": int(sum(seqs[SEQ.num_frames].to_pylist())),
            "sequences": seqs.num_rows}


def best_build(amass_root: Path, body_models: Path, store: Path, workers: int, runs: int = BUILD_RUNS) -> dict[str, Any]:
    """run_build `runs` times: the fastest run's figures, with every run's seconds (`runs`) and the
    largest peak RSS of all of them (memory is reported at its worst)."""
    done = [run_build(amass_root, body_models, store, workers) for _ in range(max(1, runs))]
    best = dict(min(done, key=lambda b: b["seconds"]))
    best["runs"] = [b["seconds"] for b in done]
    best["peak_rss_tree"] = max(b["peak_rss_tree"] for b in done)
    best["source_fps"] = best["source_frames"] / best["seconds"]
    return best


def smplx_baseline(amass_root: Path, body_models: Path, max_sequences: int = SMPLX_SEQUENCES, max_seconds: float = SMPLX_SECONDS,
                   fps: float = 30.0) -> dict[str, Any]:
    """Per sequence: np.load, every k-th frame (~fps), smplx SMPL+H forward pass -> joints; a bounded sample."""

    smplx = require("smplx", "smplx")
    torch = require("torch", "torch")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    files = sorted(p for p in Path(amass_root).rglob("*_poses.npz"))
    smplh = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            if NPZ.poses in z.files and z[NPZ.poses].shape[1] == 156:
                g = z[NPZ.gender].reshape(-1)[0].item()
                smplh.append((f, (g.decode() if isinstance(g, bytes) else str(g)).strip().lower()))
    if not smplh:
        raise RuntimeError("no SMPL+H files for the smplx baseline")
    step = max(1, len(smplh) // max_sequences)
    sample = smplh[::step][:max_sequences]
    models = {}
    t_total, frames, done = 0.0, 0, 0
    for path, gender in sample:
        if gender not in models:  # model creation once per gender: not timed
            mp = Path(body_models) / "smplh" / f"SMPLH_{gender.upper()}.npz"
            with np.load(mp, allow_pickle=False) as z:
                S = int(z["shapedirs"].shape[-1])
            cls = type("SMPLH_AMASS", (smplx.SMPLH,), {"SHAPE_SPACE_DIM": S})
            models[gender] = (cls(model_path=str(mp), ext="npz", num_betas=S, use_pca=False, flat_hand_mean=True), S)
            with torch.no_grad():  # and its first forward pass (allocator, kernels): not timed either
                z = torch.zeros(2, 156)
                models[gender][0](betas=torch.zeros(2, S), global_orient=z[:, :3], body_pose=z[:, 3:66],
                                  left_hand_pose=z[:, 66:111], right_hand_pose=z[:, 111:156], transl=z[:, :3])
        model, S = models[gender]
        t0 = time.perf_counter()
        with np.load(path, allow_pickle=False) as z:
            poses, trans, betas = z[NPZ.poses], z[NPZ.trans], z[NPZ.betas]
            src_fps = float(z[NPZ.mocap_framerate])
        k = max(1, int(round(src_fps / fps)))
        p = torch.as_tensor(poses[::k], dtype=torch.float32)
        n = p.shape[0]
        b = torch.zeros(n, S)
        b[:, : min(S, betas.size)] = torch.as_tensor(betas[:S], dtype=torch.float32)
        with torch.no_grad():
            out = model(betas=b, global_orient=p[:, :3], body_pose=p[:, 3:66], left_hand_pose=p[:, 66:111],
                        right_hand_pose=p[:, 111:156], transl=torch.as_tensor(trans[::k], dtype=torch.float32))
            out.joints[:, :52].numpy()  # what a user keeps: the skeleton joints as numpy
        t_total += time.perf_counter() - t0
        frames += poses.shape[0]
        done += 1
        if t_total > max_seconds:
            break
    return {"sequences": done, "of_smplh_sequences": len(smplh), "source_frames": frames, "seconds": t_total,
            "source_fps": frames / t_total, "fps": fps}


def stage_profile(amass_root: Path, body_models: Path, max_files: int | None = None, fps: float = 30.0,
                  warm_files: int = 24) -> dict[str, Any]:
    """CPU seconds per stage of the per-file path, in this process: the workers' own task
    (convert.convert_task) over every file (or `max_files` spread over the archive).

    Stages (motion.STAGE_SECONDS): read (zip + CRC + float32 + checks), motion.process's (body model,
    orientation, resample, fk, contacts, quality, table), row (the sequences row and part name) and
    write (Parquet encode + fsync + hash); `other` is the task's CPU outside them. The clock starts
    after an untimed pass over `warm_files` files, so once-per-process costs (body models, the
    compiled kernels) are left out, as in a pool worker; the build rows' wall times include them.
    """
    import tempfile

    files = sorted(discover(amass_root).files, key=lambda f: -f.size)
    if max_files:
        files = files[:: max(1, len(files) // max_files)][:max_files]
    cfg = BuildConfig(amass_root=str(amass_root), body_models=str(body_models), out="unused",
                      motion=MotionConfig(fps=fps))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cfg, cfg.motion.joints, "stage-profile", Path(tmp))
        for f in files[:: max(1, len(files) // warm_files)]:  # models, their soles, the kernels
            convert_task(f, settings)
        motion.STAGE_SECONDS.clear()
        frames = 0
        t0 = time.process_time()
        for f in files:
            r = convert_task(f, settings)
            frames += r["row"]["source_frames"] if "row" in r else 0
        total = time.process_time() - t0
    secs = dict(motion.STAGE_SECONDS)
    secs["other"] = max(0.0, total - sum(secs.values()))
    return {"files": len(files), "source_frames": frames, "cpu_seconds": secs, "total": total,
            "per_million": {k: v / frames * 1e6 for k, v in secs.items()},
            "contacts_quality_share": (secs.get("contacts", 0.0) + secs.get("quality", 0.0)) / total if total else None}


def in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a local pool worker: the environment a build's conversions run in (one BLAS
    thread, pipeline and kernels preloaded by the fork server), not this process's."""
    ex = make_executor("local", 2)
    try:
        [(_, result)] = list(ex.map(_call, [(fn, args)]))
    finally:
        ex.close()
    return result


def _call(item: tuple[Callable[..., Any], tuple]) -> Any:
    fn, args = item
    return fn(*args)


def run_export(store: Path, out: Path) -> dict[str, Any]:
    """build_splits of the official split (configs/splits.yaml's definition) to a HF DatasetDict (unit frame)."""

    cfg_path = shipped("configs/splits.yaml")
    defs = [d for d in load_splits_config(cfg_path).definitions if d.name == "official"] if cfg_path.is_file() else []
    cfg = SplitsConfig(definitions=defs or [Definition()], exports=[ExportSpec(kind="hf", unit=FRAME_UNIT)])
    shutil.rmtree(out, ignore_errors=True)
    try:
        import datasets

        datasets.disable_progress_bars()  # save_to_disk's bars would interleave with the table
    except ImportError:
        pass
    t0 = time.perf_counter()
    res = build_splits(store, cfg, out, base=cfg_path.parent, progress=False, log=lambda *a, **k: None)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "path": str(res.outputs[0][2])}


def run_loading(hf_path: Path, split: str = "train", hf_batches: int = HF_BATCHES, epochs: int = 3, seed: int = 0) -> dict[str, Any]:
    """Frames/s of shuffled batches: FrameLoader (full epochs) vs DataLoader over with_format('torch') (bounded)."""
    import datasets
    import torch

    t0 = time.perf_counter()
    loader = FrameLoader(hf_path, split, batch_size=BATCH, seed=seed)
    t_open = time.perf_counter() - t0
    n = loader.num_rows
    for _ in loader.batches(0):  # warm-up pass: page in the matrix, allocator
        break
    t0 = time.perf_counter()
    rows = 0
    for e in range(epochs):
        for b in loader.batches(e):
            rows += next(iter(b.values())).shape[0]
    t_iter = time.perf_counter() - t0
    assert rows == n * epochs

    ds = datasets.load_from_disk(str(hf_path))[split].with_format("torch", columns=list(loader.slices))
    dl = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed))
    it = iter(dl)
    next(it)  # first batch: warm-up
    t0 = time.perf_counter()
    got = 0
    for _k in range(hf_batches):
        try:
            b = next(it)
        except StopIteration:
            break
        got += next(iter(b.values())).shape[0]
    t_hf = time.perf_counter() - t0
    return {"rows": n, "features": int(loader.matrix.shape[1]), "columns": list(loader.slices),
            "open_seconds": t_open, "epochs": epochs, "iter_seconds": t_iter, "loader_fps": rows / t_iter,
            "loader_fps_incl_open": rows / (t_iter + t_open),
            "hf_batches": hf_batches, "hf_rows": got, "hf_seconds": t_hf, "hf_fps": got / t_hf if t_hf else float("nan")}


def store_bytes(store: Path) -> int:
    root = open_store(store).root
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def input_bytes(amass_root: Path) -> int:
    return sum(p.stat().st_size for p in Path(amass_root).rglob("*.npz"))
