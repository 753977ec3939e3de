"""Render-In-Between (azuxmioy/Render-In-Between): SMPL+H joints per take in their `AMASS_3D_joints.h5` layout.

`OUT/<split>/AMASS_3D_joints.h5`, one file per split (their loader takes one file as `root` and a list of dataset
groups per phase: point `root` at a split's file and list its groups, the file attribute `datasets`):

    /<dataset>/<subject>_<file name>/joints   (N, 52, 3) float64, metres, the archive's Z-up frame
                                              (the dataset's SMPL+H folder name: canonical_dataset; the file name
                                              keeps its extension, e.g. CMU/01_01_01_poses.npz)

Their rules (Human_Motion_Modelling/AMASS/gen_amass_h5.py, read, not copied), kept by the default `--recipe rib`:
- frames [int(0.1 N), int(0.9 N)) of the row's N frames (its central 80%; a row is a whole take unless the split
  SQL slices it, and a take twice in one split is refused); a row left with no frame is skipped (attribute
  `skipped_empty`);
- the male SMPL+H model for every take, whatever its gender, with betas[:10]; joints = the model's 52 posed joints
  (body 22 + both hands 30; SMPL-X takes too, SMPL takes with their hands at rest) plus `trans`, in the file's
  coordinates (the store's floor shift is added back; a y_up store is refused).
Their frames are the file's own (the source rate): build the store with `--resample none` for those; on a resampled
store the rule applies to the store's frames at the export rate (the file attribute `fps` says which).
Deliberate difference: their BodyModel also adds the DMPL soft-tissue blend shapes to the joints; the store keeps no
DMPLs, so they are not applied (attribute `dmpls`). `--recipe own` poses each take with its own body model (gender,
all betas; SMPL-X: its 52 body and hand joints, jaw and eyes left out); the file attribute `recipe` says which.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amass_arrow.motion.kinematics import forward_kinematics

from ..errors import ConfigError, require
from ..schema import FRM, SEQ
from .posing import Models, require_z_up, sequences_of_rows
from .registry import Exporter, register
from .units import SLICE_UNIT

RECIPES = ("rib", "own")
FILE_NAME = "AMASS_3D_joints.h5"
#: their body model for every take, and how many betas it uses
RIB_MODEL = ("smplh", "male")
RIB_BETAS = 10
#: SMPL-X joints kept for the 52 SMPL+H joints: body 0..21, then the hands after jaw (22) and eyes (23, 24)
SMPLX_TO_SMPLH = list(range(22)) + list(range(25, 55))


def central_frames(n: int) -> range:
    """Their clip of a take of `n` frames: frames [int(0.1 n), int(0.9 n)) (empty when that is empty)."""
    return range(int(0.1 * n), int(0.9 * n))


def motion_key(subject: str, source_path: str) -> str:
    """Their motion group name: '{subject}_{file name}' with the file's extension."""
    return f"{subject}_{posixpath.basename(source_path)}"


@dataclass
class Options:
    recipe: str = field(default="", metadata={"help": "rib: rib (theirs: male SMPL+H, betas[:10]; default) | own "
                                                      "(each take's body model); motion272: sql | official"})
    body_models: str = field(default="", metadata={"help": "body model root for bodies the store lacks "
                                                           "(default: the paths in the store's info.json)"})

    def validate(self, where: str) -> None:
        if self.recipe not in ("",) + RECIPES:
            raise ConfigError(f"{where}.recipe must be one of {', '.join(RECIPES)}; got {self.recipe!r}")


def body_pose(feats: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Store frame columns (Z-up) -> (pose (T, 52, 3) axis-angle, SMPL+H order, trans (T, 3) m), float64."""
    T = len(feats[FRM.trans])
    pose = np.zeros((T, 52, 3))
    pose[:, 0] = feats[FRM.root_orient]
    pose[:, 1:22] = feats[FRM.pose_body].reshape(T, 21, 3)
    pose[:, 22:52] = feats[FRM.pose_hand].reshape(T, 30, 3)
    return pose, feats[FRM.trans].astype(np.float64)


def posed_joints(pose: np.ndarray, trans: np.ndarray, model, betas: np.ndarray) -> np.ndarray:
    """(T, 52, 3) float64 joints of `model` for SMPL+H-order `pose`, `trans` (see body_pose) and `betas`."""
    rest = np.asarray(model.rest_joints(np.asarray(betas, np.float64)), np.float64)
    parents = [int(p) for p in model.parents]
    if model.surface_model == "smplx":
        full = np.zeros((len(pose), len(parents), 3))
        full[:, SMPLX_TO_SMPLH] = pose
        j = forward_kinematics(full, rest, parents, out_dtype=np.float64, jit=False)[:, SMPLX_TO_SMPLH]
    else:
        j = forward_kinematics(pose, rest, parents, out_dtype=np.float64, jit=False)
    return j + trans[:, None, :]


@register
class RibExporter(Exporter):
    name = "rib"
    units = (SLICE_UNIT,)
    columns = (FRM.root_orient, FRM.pose_body, FRM.pose_hand, FRM.trans)
    Options = Options
    summary = "Render-In-Between <split>/AMASS_3D_joints.h5: /<dataset>/<subject>_<file>/joints (N, 52, 3) float64"
    load = "h5py.File('OUT/<definition>/rib/train/AMASS_3D_joints.h5')['CMU']['01_01_01_poses.npz']['joints'][:]"

    def export(self, ctx, out: Path) -> Path:
        h5py = require("h5py", "rib")
        opts: Options = ctx.options
        recipe = opts.recipe or "rib"
        models = Models(ctx.store, opts.body_models, "rib")
        require_z_up(ctx.store, "rib")
        seqs = sequences_of_rows(ctx.con, (SEQ.canonical_dataset, SEQ.subject, SEQ.source_path, SEQ.surface_model,
                                           SEQ.model_gender, SEQ.betas, SEQ.floor_height, SEQ.store_fps))
        for split in ctx.split_names():
            d = out / split
            d.mkdir(parents=True, exist_ok=True)
            skipped: list[str] = []
            with h5py.File(d / FILE_NAME, "w") as f:
                for s in ctx.slices(split):
                    q = seqs[s.seq_id]
                    group, key = q[SEQ.canonical_dataset], motion_key(q[SEQ.subject], q[SEQ.source_path])
                    if f"{group}/{key}" in f:
                        raise ConfigError(f"rib: take {s.seq_id} has two rows in split {split!r}; their layout holds one "
                                          f"clip per take: export a split without slices or windows")
                    keep = central_frames(len(s))
                    if not len(keep):
                        skipped.append(s.seq_id)
                        continue
                    feats = {c: v[keep.start:keep.stop] for c, v in s.feats.items()}
                    if recipe == "rib":
                        model, betas = models.get(*RIB_MODEL), np.asarray(q[SEQ.betas], np.float64)[:RIB_BETAS]
                    else:
                        if q[SEQ.surface_model] == "smpl":
                            raise ConfigError(f"rib --recipe own: {s.seq_id} is an SMPL sequence (no hand joints); leave "
                                              "SMPL sequences out in the split SQL or use --recipe rib")
                        model = models.get(q[SEQ.surface_model], q[SEQ.model_gender])
                        betas = np.asarray(q[SEQ.betas], np.float64)
                    pose, trans = body_pose(feats)
                    joints = posed_joints(pose, trans, model, betas)
                    joints[..., 2] += float(q[SEQ.floor_height])  # the file's own height (the store moved the floor to 0)
                    g = f.require_group(group).create_group(key)
                    g.create_dataset("joints", data=joints, dtype=np.float64)
                    g.attrs.update({"seq_id": s.seq_id, "first_frame": int(s.frame[keep.start]),
                                    "fps": float(ctx.fps or q[SEQ.store_fps])})
                f.attrs.update(_file_attrs(ctx, recipe, sorted(f.keys()), skipped))
        return out


def _file_attrs(ctx, recipe: str, datasets: list[str], skipped: list[str]) -> dict[str, Any]:
    p = ctx.provenance
    return {
        "recipe": recipe,
        "body_model": "smplh/male, betas[:10] (their rule)" if recipe == "rib" else "each take's own model and betas",
        "dmpls": "not applied (the store keeps no DMPLs)", "frames": "central 80%: [int(0.1 N), int(0.9 N))",
        "fps": float(ctx.fps) if ctx.fps else "per take (attribute fps)", "frame": "z_up", "units": "metres",
        "datasets": datasets, "skipped_empty": skipped, "build_id": p["build_id"], "definition": p["definition"],
    }


__all__ = ["FILE_NAME", "Options", "RibExporter", "body_pose", "central_frames", "motion_key", "posed_joints"]
