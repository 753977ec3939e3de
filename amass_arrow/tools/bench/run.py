"""`make bench`'s run: every measurement at N source frames (and 2N), one dict written to OUT/bench.json."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from amass_arrow.tools.bench.archive import cached_archive
from amass_arrow.tools.bench.humanml3d import run_humanml3d
from amass_arrow.tools.bench.measure import (
    best_build,
    in_worker,
    input_bytes,
    read_floor,
    run_build,
    run_export,
    run_loading,
    smplx_baseline,
    stage_profile,
    store_bytes,
)
from amass_arrow.tools.bench.targets import (
    BATCH,
    DEFAULT_FRAMES,
    DEFAULT_WORKERS,
    HF_BATCHES,
    SMPLX_SECONDS,
    SMPLX_SEQUENCES,
    check_targets,
    ratios,
)


def measure_size(out: Path, frames: int, *, workers: tuple[int, ...] = DEFAULT_WORKERS, seed: int = 0, full: bool = True,
                 smplx_sequences: int = SMPLX_SEQUENCES, smplx_seconds: float = SMPLX_SECONDS, hf_batches: int = HF_BATCHES,
                 ray: bool = True,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every measurement on one archive of ~`frames` source frames (`full=False`: read floor, build, size only)."""
    root, bm, t_synth = cached_archive(out, frames, seed, log)
    r: dict[str, Any] = {"target_frames": frames, "synth_seconds": t_synth, "input_bytes": input_bytes(root),
                         "input_files": sum(1 for _ in root.rglob("*.npz"))}
    read_floor(root)  # warm the page cache like a second run would; then the best of two
    r["read_floor"] = min((read_floor(root) for _ in range(2)), key=lambda x: x["seconds"])
    log(f"  read floor {r['read_floor']['seconds']:.2f} s")
    store = out / f"store-{frames}"
    r["builds"] = {}
    for w in workers:
        b = best_build(root, bm, store, w)
        r["builds"][str(w)] = b
        log(f"  build {w} worker(s) {b['seconds']:.1f} s (of {', '.join(f'{t:.1f}' for t in b['runs'])}), "
            f"peak RSS {b['peak_rss_tree'] / 1e9:.2f} GB")
    r["source_frames"] = r["builds"][str(workers[-1])]["source_frames"]
    r["store_frames"] = r["builds"][str(workers[-1])]["store_frames"]
    r["store_bytes"] = store_bytes(store)
    if full and ray and ray_available():
        w = max(workers)
        b = run_build(root, bm, out / f"store-{frames}-ray", w, executor="ray")
        b["source_fps"] = b["source_frames"] / b["seconds"]
        r["ray_build"] = b
        log(f"  build {w} Ray workers {b['seconds']:.1f} s")
    if full:
        r["stages"] = in_worker(stage_profile, root, bm)
        log("  stage profile (CPU s per 1M source frames): " + ", ".join(
            f"{k} {v:.2f}" for k, v in r["stages"]["per_million"].items()))
        r["smplx"] = smplx_baseline(root, bm, smplx_sequences, smplx_seconds)
        log(f"  smplx baseline {r['smplx']['source_fps']:,.0f} source frames/s ({r['smplx']['sequences']} sequences)")
        r["export"] = run_export(store, out / f"splits-{frames}")
        log(f"  export {r['export']['seconds']:.1f} s")
        r["loading"] = run_loading(Path(r["export"]["path"]), hf_batches=hf_batches, seed=seed)
        log(f"  loader {r['loading']['loader_fps'] / 1e6:.2f} M frames/s, with_format('torch') {r['loading']['hf_fps']:,.0f} frames/s")
    return r


def run(out: str | Path = "bench-out", frames: int = DEFAULT_FRAMES, *, scaling: bool = True, seed: int = 0,
        workers: tuple[int, ...] = DEFAULT_WORKERS, smplx_sequences: int = SMPLX_SEQUENCES,
        smplx_seconds: float = SMPLX_SECONDS, hf_batches: int = HF_BATCHES, ray: bool = True, humanml3d: float = 1.0,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole benchmark; writes OUT/bench.json and returns the same dict (figures, ratios, targets).

    humanml3d: size of the HumanML3D row's synthetic clone as a fraction of HumanML3D's (0: skip the row)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sizes = [measure_size(out, frames, workers=workers, seed=seed, smplx_sequences=smplx_sequences,
                          smplx_seconds=smplx_seconds, hf_batches=hf_batches, ray=ray, log=log)]
    if scaling:
        sizes.append(measure_size(out, 2 * frames, workers=workers, seed=seed, full=False, log=log))
    res = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(), "sizes": sizes,
           "workers": list(workers), "batch_size": BATCH}
    if humanml3d > 0:
        res["humanml3d"] = run_humanml3d(out, humanml3d, seed, log)
    res["ratios"] = ratios(res)
    res["targets"] = check_targets(res["ratios"])
    res["total_seconds"] = time.perf_counter() - t0
    (out / "bench.json").write_text(json.dumps(res, indent=1, default=str))
    return res


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def machine() -> dict[str, Any]:
    import pyarrow

    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "pyarrow": pyarrow.__version__}
    try:
        with open("/proc/meminfo") as fh:
            info["mem_gb"] = round(int(fh.readline().split()[1]) / 1e6, 1)
    except OSError:
        pass
    return info
