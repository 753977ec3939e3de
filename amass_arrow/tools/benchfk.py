"""FK benchmark: our numpy forward kinematics vs smplx's forward pass on the same frames (CPU).

    python -m amass_arrow.tools.benchfk [--frames 2000] [--repeats 3]

Uses a synthetic SMPL+H model (16 betas) written to a temporary folder, random betas and poses
with hands. Prints frames/s of each and the ratio, plus the max joint difference (m) as a check.
Needs the `smplx` extra for the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from amass_arrow.errors import require
from amass_arrow.motion.kinematics import forward_kinematics


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(frames: int = 2000, repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """Time both on `frames` frames; returns {ours_fps, ours32_fps, smplx_fps, ratio, max_diff_m}."""
    smplx = require("smplx", "smplx")
    torch = require("torch", "torch")
    from amass_arrow.motion.bodymodel import load_body_model
    from amass_arrow.tools.synthetic.bodymodels import make_body_models

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        make_body_models(Path(tmp), models=("smplh",), genders=("male",), formats=("npz",))
        path = Path(tmp) / "smplh" / "SMPLH_MALE.npz"
        model = load_body_model(path, "smplh", "male")
        S = model.num_shape_betas
        cls = type("SMPLH16", (smplx.SMPLH,), {"SHAPE_SPACE_DIM": S})
        ref = cls(model_path=str(path), ext="npz", num_betas=S, use_pca=False, flat_hand_mean=True, batch_size=frames)

    rng = np.random.default_rng(seed)
    betas = rng.normal(size=S)
    pose = (rng.normal(size=(frames, 52, 3)) * 0.4).astype(np.float32)
    trans = rng.normal(size=(frames, 3)).astype(np.float32)

    def ours():
        # per-sequence work: rest joints once, then FK of every frame
        return forward_kinematics(pose.astype(np.float64), model.rest_joints(betas), model.parents, trans.astype(np.float64))

    def ours32():
        return forward_kinematics(pose, model.rest_joints(betas).astype(np.float32), model.parents, trans)

    tt = lambda a: torch.as_tensor(np.ascontiguousarray(a))  # noqa: E731
    kw = dict(
        betas=tt(np.repeat(betas[None], frames, 0).astype(np.float32)), global_orient=tt(pose[:, 0]),
        body_pose=tt(pose[:, 1:22].reshape(frames, -1)), left_hand_pose=tt(pose[:, 22:37].reshape(frames, -1)),
        right_hand_pose=tt(pose[:, 37:52].reshape(frames, -1)), transl=tt(trans),
    )

    def base():
        with torch.no_grad():
            return ref(**kw).joints[:, :52].numpy()

    diff = float(np.abs(ours() - base()).max())
    t_ours, t_ours32, t_base = _best(ours, repeats), _best(ours32, repeats), _best(base, repeats)
    return {
        "ours_fps": frames / t_ours, "ours32_fps": frames / t_ours32, "smplx_fps": frames / t_base,
        "ratio": t_base / t_ours, "max_diff_m": diff,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m amass_arrow.tools.benchfk", description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    r = run(args.frames, args.repeats)
    print(f"FK benchmark: synthetic SMPL+H (52 joints, 16 betas), {args.frames} frames, CPU, best of {args.repeats}")
    print(f"{'implementation':<34}{'frames/s':>12}{'vs smplx':>10}")
    print(f"{'smplx forward (torch, no_grad)':<34}{r['smplx_fps']:>12,.0f}{1.0:>9.1f}x")
    print(f"{'amass_arrow FK (numpy, float64)':<34}{r['ours_fps']:>12,.0f}{r['ratio']:>9.1f}x")
    print(f"{'amass_arrow FK (numpy, float32)':<34}{r['ours32_fps']:>12,.0f}{r['ours32_fps'] / r['smplx_fps']:>9.1f}x")
    print(f"max |joints difference| = {r['max_diff_m']:.2e} m")


if __name__ == "__main__":
    main()
