"""Synthetic AMASS archives and synthetic body-model files for demos and tests: never real SMPL data.

`synth(out)` writes `out/body_models/` (synthetic SMPL / SMPL+H / SMPL-X files in smplx's layout, plus
AMASS's `smplh/<gender>/model.npz`) and `out/amass/` (motion files of every AMASS variant), and returns
the ground truth of every motion it wrote. `feet.make_take` scripts mocap-like feet (heel strike, toe
roll, jitter, drift, stairs) with per-joint ground truth; `mocap.make_mocap_archive` poses them on a body
and writes them as AMASS files (some Y-up).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .archive import DATASETS, VARIANTS, SyntheticFile, make_archive
from .bodymodels import NOTICE, make_body_model_arrays, make_body_models
from .feet import FootTake, make_take
from .mocap import MocapFile, make_mocap_archive
from .motion import KINDS, SyntheticMotion, make_motion

__all__ = [
    "DATASETS", "KINDS", "NOTICE", "VARIANTS", "FootTake", "MocapFile", "SynthResult", "SyntheticFile",
    "SyntheticMotion", "make_archive", "make_body_model_arrays", "make_body_models", "make_mocap_archive",
    "make_motion", "make_take", "synth",
]


@dataclass
class SynthResult:
    """Where `synth` wrote things, and the ground truth of each motion file."""

    root: Path
    amass_root: Path
    body_models: Path
    files: list[SyntheticFile] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def num_frames(self) -> int:
        return sum(f.num_frames for f in self.files)


def synth(out: str | Path, seed: int = 0, *, scale: float = 1.0, target_frames: int | None = None,
          keep_arrays: bool | None = None, annotations: bool = False) -> SynthResult:
    """Write synthetic body models to `out/body_models` and an archive to `out/amass`; deterministic per seed.

    annotations: also write BABEL / HumanML3D-format files for the archive to `out/annotations/{babel,humanml3d}/`.
    """
    start = time.perf_counter()
    root = Path(out)
    models = make_body_models(root / "body_models", seed=seed)
    files = make_archive(root / "amass", seed=seed, scale=scale, target_frames=target_frames,
                         body_models_dir=models, keep_arrays=keep_arrays)
    if annotations:
        from .annotations import make_annotations

        make_annotations(root / "annotations", files, seed=seed)
    return SynthResult(root, root / "amass", models, files, time.perf_counter() - start)
