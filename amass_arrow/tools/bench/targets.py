"""`make bench`'s claims: the settings a run uses, the targets it checks, and the ratios they are checked on."""

from __future__ import annotations

from typing import Any

DEFAULT_FRAMES = 1_000_000


# the other knobs of `run` (and `amass-arrow bench`'s flags), defined once
DEFAULT_WORKERS = (1, 2)  # worker counts the build is timed with


SMPLX_SEQUENCES = 12  # most sequences in the smplx baseline sample


SMPLX_SECONDS = 20.0  # the smplx baseline stops after this much timed work


HF_BATCHES = 20  # batches timed for with_format('torch')


AMASS_SMPLH_G_FRAMES = 26_000_000  # source frames in all of AMASS SMPL+H G (about; for the projection line)


BATCH = 1024


#: (key, label, ratio key, comparison, threshold): the claims `make bench` checks
TARGETS = [
    ("smplx_speedup", "build throughput vs smplx baseline", ">=", 100.0),
    ("build_vs_read_floor", "build wall (2 workers) / read floor", "<=", 3.0),
    ("build_vs_read_floor_2x", "same, doubled archive", "<=", 3.0),
    ("worker_speedup", "2 workers vs 1 worker speedup", ">=", 1.7),
    ("contacts_quality_share", "contacts + quality metrics / build CPU", "<=", 0.10),
    ("peak_rss_gb", "peak RSS of the build tree (GB)", "<=", 2.0),
    ("rss_growth", "peak RSS growth when the archive doubles", "<=", 0.20),
    ("loader_mfps", "loader throughput (M frames/s)", ">=", 5.0),
    ("loader_vs_hf", "loader vs with_format('torch') iteration", ">=", 10.0),
    ("size_ratio", "store bytes / input .npz bytes", "<=", 0.5),
    ("humanml3d_minutes", "HumanML3D official, 29,232 clips (minutes)", "<=", 5.0),
]


BUSY_SHARE = 0.10  # other processes using more than this share of the CPUs during a build: say so


BUILD_RUNS = 2  # each build row is the faster of this many runs (identical builds vary ~15% run to run here)


def ratios(res: dict[str, Any]) -> dict[str, float | None]:
    """Every claimed ratio, computed from the figures in `res['sizes']`."""
    s = res["sizes"][0]
    ws = sorted(s["builds"], key=int)
    b1, bn = s["builds"][ws[0]], s["builds"][ws[-1]]
    r: dict[str, float | None] = {
        "build_source_fps": bn["source_fps"],
        "smplx_speedup": bn["source_fps"] / s["smplx"]["source_fps"] if "smplx" in s else None,
        "build_vs_read_floor": bn["seconds"] / s["read_floor"]["seconds"],
        "build1_vs_read_floor": b1["seconds"] / s["read_floor"]["seconds"],
        "worker_speedup": b1["seconds"] / bn["seconds"] if len(ws) > 1 else None,
        "peak_rss_gb": max(b["peak_rss_tree"] for b in s["builds"].values()) / 1e9,
        "size_ratio": s["store_bytes"] / s["input_bytes"],
        "loader_mfps": s["loading"]["loader_fps"] / 1e6 if "loading" in s else None,
        "loader_vs_hf": s["loading"]["loader_fps"] / s["loading"]["hf_fps"] if "loading" in s else None,
        "rss_growth": None, "time_growth": None, "build_vs_read_floor_2x": None,
        "contacts_quality_share": s["stages"]["contacts_quality_share"] if "stages" in s else None,
        # the same build on Ray (local, same CPUs, its start and stop included) / on the local pool
        "ray_overhead": s["ray_build"]["seconds"] / bn["seconds"] if "ray_build" in s else None,
    }
    if len(res["sizes"]) > 1:
        d = res["sizes"][1]
        peak = lambda x: max(b["peak_rss_tree"] for b in x["builds"].values())  # noqa: E731
        r["peak_rss_gb"] = max(r["peak_rss_gb"], peak(d) / 1e9)
        r["rss_growth"] = abs(peak(d) / peak(s) - 1.0)
        r["time_growth"] = d["builds"][ws[-1]]["seconds"] / bn["seconds"]
        r["worker_speedup_2x"] = d["builds"][ws[0]]["seconds"] / d["builds"][ws[-1]]["seconds"] if len(ws) > 1 else None
        r["frames_growth"] = d["source_frames"] / s["source_frames"]
        r["build_vs_read_floor_2x"] = d["builds"][ws[-1]]["seconds"] / d["read_floor"]["seconds"]
    # all of AMASS SMPL+H G at the largest archive's throughput (N workers, this machine)
    # the HumanML3D row (tools/bench/humanml3d.py), projected linearly to the full 29,232 clips when scaled down
    hml = res.get("humanml3d")
    r["humanml3d_minutes"] = hml["seconds"] / 60.0 / hml["scale"] if hml else None
    big = res["sizes"][-1]["builds"][ws[-1]]
    r["amass_projected_seconds"] = AMASS_SMPLH_G_FRAMES / big["source_fps"]
    return r


def check_targets(r: dict[str, float | None]) -> list[dict[str, Any]]:
    out = []
    for key, label, op, thr in TARGETS:
        v = r.get(key)
        ok = None if v is None else (v >= thr if op == ">=" else v <= thr)
        out.append({"key": key, "label": label, "value": v, "op": op, "target": thr, "pass": ok})
    return out
