"""`make bench`'s HumanML3D row: `export --kind humanml3d --recipe official` on a synthetic clone of HumanML3D's size.

HumanML3D's index.csv has 14,616 rows (29,232 clips with the mirrors): 13,425 AMASS clips adding up to 27.54 h at
20 fps (~148 frames each) and 1,191 HumanAct12 clips (1.05 h). The synthetic stand-in (no real data):
  sources      SOURCES SMPL+H files of SOURCE_SECONDS at 120 fps (stride 6), in five dataset folders (two of them
               head-trimmed), built with `--resample none` (setup, not timed; cached by generator code and size)
  index.csv    13,425 windows over them, lengths 40..255 frames at 20 fps (mean ~148, as theirs), HumanML3D's names
  humanact12   1,191 joint files (T, 24, 3) of ~63 frames
  texts/       one caption per id, split lists
The timed step is the user's command in a subprocess: wall seconds for all clips. `scale` < 1 shrinks every count
(tests); the ratio `humanml3d_minutes` is projected linearly to the full size.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.schema import SKELETONS
from amass_arrow.tools.bench.archive import generator_hash
from amass_arrow.tools.synthetic import KINDS, make_body_models, make_motion

AMASS_ROWS, HUMANACT12_ROWS = 13_425, 1_191
CLIPS = 2 * (AMASS_ROWS + HUMANACT12_ROWS)  # 29,232
SOURCES, SOURCE_SECONDS, SOURCE_FPS = 500, 60.0, 120.0
FOLDERS = ("KIT", "CMU", "BMLmovi", "HDM05", "Eyes_Japan_Dataset")  # HDM05 = MPI_HDM05 today; two trimmed 60 frames
TRIMS = {"HDM05": 60, "Eyes_Japan_Dataset": 60}
LENGTHS = (40, 256)  # 20 fps frames per clip, uniform: mean 147.5 (theirs: 27.54 h / 13,425 = 147.7)
ACT_FRAMES = (50, 77)  # HumanAct12 joint files: mean 63 frames (1.05 h / 1,191)


def _stamp(scale: float, seed: int) -> str:
    return f"humanml3d {scale} {seed} {SOURCES} {SOURCE_SECONDS} {generator_hash()}"


def make_world(d: Path, scale: float = 1.0, seed: int = 0, log: Callable[[str], None] = print) -> dict[str, Path]:
    """The synthetic sources, their store (--resample none), a HumanML3D clone and HumanAct12 files under `d`."""

    paths = {k: d / k for k in ("amass", "store", "clone", "humanact12")}
    paths["body_models"] = d / "body_models"
    done = d / ".done"
    if done.is_file() and done.read_text().strip() == _stamp(scale, seed):
        log(f"reusing HumanML3D bench world {d}")
        return paths
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    bm_dir = make_body_models(paths["body_models"], seed=seed, models=("smplh",), genders=("male", "female"),
                              formats=("npz",))
    reg = BodyModelRegistry(bm_dir)
    n_src = max(2, round(SOURCES * scale))
    log(f"synthesizing {n_src} SMPL+H sources of {SOURCE_SECONDS:g} s at {SOURCE_FPS:g} fps into {d} …")
    sources = []
    for i in range(n_src):
        folder = FOLDERS[i % len(FOLDERS)]
        gender = ("male", "female")[i % 2]
        betas = rng.normal(0.0, 1.0, 16)
        m = make_motion(KINDS[i % len(KINDS)], reg.get("smplh", gender), betas, fps=SOURCE_FPS, seconds=SOURCE_SECONDS,
                        seed=seed * 1_000_003 + i)
        T = m.num_frames
        rel = f"{folder}/s{i % 7}/take_{i:05d}_poses.npz"
        p = paths["amass"] / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        np.savez(p, poses=np.concatenate([m.root_orient, m.pose_body, np.zeros((T, 90))], 1), trans=m.trans,
                 betas=betas, gender=np.array(gender), mocap_framerate=np.array(SOURCE_FPS))
        sources.append((rel, folder, T // int(SOURCE_FPS / 20)))
    log("building the store with --resample none …")
    build(load_build_config(None, amass_root=str(paths["amass"]), body_models=str(bm_dir), out=str(paths["store"]),
                            workers=min(2, os.cpu_count() or 1), motion_resample="none"), progress=False)
    # HumanAct12 stand-ins: FK joints of a synthetic motion, SMPL's 24 (two hand joints past the wrists)
    act = paths["humanact12"]
    act.mkdir()
    bm = reg.get("smplh", "male")
    m = make_motion("walk", bm, np.zeros(10), fps=20.0, seconds=8.0, seed=seed)
    pose = np.concatenate([m.root_orient, m.pose_body], 1).reshape(-1, 22, 3).astype(np.float64)
    j = forward_kinematics(pose, bm.rest_joints(np.zeros(10))[:22], SKELETONS["smpl"][1][:22], m.trans.astype(np.float64))
    j = np.concatenate([j, j[:, 20:22] + 0.05], 1)[..., [0, 2, 1]].astype(np.float32)
    n_act = max(1, round(HUMANACT12_ROWS * scale))
    act_names = []
    for i in range(n_act):
        n = int(rng.integers(*ACT_FRAMES))
        a = int(rng.integers(0, len(j) - n))
        name = f"P{i % 12 + 1:02d}G01R01F{i:04d}T{i + n:04d}A0101.npy"
        np.save(act / name, j[a:a + n])
        act_names.append(name)
    # the clone: index.csv (HumanML3D's folder names), texts/, split lists
    legacy = {"HDM05": "MPI_HDM05"}
    rows = []
    for i in range(max(1, round(AMASS_ROWS * scale))):
        rel, folder, n = sources[i % len(sources)]
        length = int(rng.integers(*LENGTHS))
        room = n - TRIMS.get(folder, 0) - length
        a = int(rng.integers(0, max(1, room)))
        rows.append((f"./pose_data/{legacy.get(folder, folder)}/{rel.split('/', 1)[1][:-4]}.npy", a, a + length))
    rows += [(f"./pose_data/humanact12/humanact12/{name}", 0, -1) for name in act_names]
    order = rng.permutation(len(rows))
    texts = paths["clone"] / "HumanML3D" / "texts"
    texts.mkdir(parents=True)
    ids = []
    with open(paths["clone"] / "index.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_path", "start_frame", "end_frame", "new_name"])
        for k, r in enumerate(order):
            src, a, b = rows[r]
            w.writerow([src, a, b, f"{k:06d}.npy"])
            ids.append(f"{k:06d}")
    for i in ids:
        for cid in (i, "M" + i):
            (texts / f"{cid}.txt").write_text("a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n")
    every = ids + ["M" + i for i in ids]
    for name, part in (("train", every[0::4] + every[1::4]), ("val", every[2::4]), ("test", every[3::4]), ("all", every)):
        (paths["clone"] / "HumanML3D" / f"{name}.txt").write_text("\n".join(part) + "\n")
    done.write_text(_stamp(scale, seed))
    os.sync()  # the archive's bytes on disk before anything is timed
    return paths


def run_humanml3d(out: Path, scale: float = 1.0, seed: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Time `amass-arrow export STORE --kind humanml3d --recipe official ...` on the bench world (a subprocess)."""
    w = make_world(Path(out) / f"humanml3d-{scale:g}", scale, seed, log)
    target = Path(out) / f"humanml3d-{scale:g}-export"
    shutil.rmtree(target, ignore_errors=True)
    cmd = [sys.executable, "-m", "amass_arrow", "export", str(w["store"]), "--kind", "humanml3d", "--recipe", "official",
           "--humanml3d-dir", str(w["clone"]), "--humanact12", str(w["humanact12"]), "--out", str(target), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"humanml3d export failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    with open(target / "reconciliation.csv", newline="") as fh:
        rep = list(csv.DictReader(fh))
    written = [r for r in rep if r["status"] in ("written", "no texts", "source differs from HumanML3D's")]
    res = {"scale": scale, "clips": len(rep), "written": len(written), "seconds": wall,
           "clip_frames": sum(int(r["frames"]) for r in written), "clips_per_s": len(written) / wall,
           "summary": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""}
    log(f"  humanml3d official export: {res['written']:,} of {res['clips']:,} clips in {wall:.1f} s")
    return res



def format_row(r: dict[str, Any]) -> str:
    """One line for `amass-arrow bench --humanml3d-only`."""
    return (f"humanml3d official export: {r['written']:,} of {r['clips']:,} clips ({r['clip_frames']:,} frames at 20 fps) "
            f"in {r['seconds']:.1f} s; {r['seconds'] / 60 / r['scale']:.2f} min projected to {CLIPS:,} clips (target <= 5)")
