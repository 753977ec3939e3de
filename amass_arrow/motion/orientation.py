"""Which way is up in a source file, decided from the pose itself, and standing a Y-up file upright.

AMASS is Z-up, but some AMASS-like files in the wild are Y-up exports, and some takes show a body
lying down throughout. The evidence, measured on the file's own coordinates:

- spine direction: on up to SPINE_SAMPLES frames spread over the take, the unit vector pelvis -> neck
  (FK of the spine chain only); `spine_up_z` / `spine_up_y` are the fractions of those frames whose
  spine is within 45 degrees of +Z / +Y;
- vertical travel: the pelvis's travel (5th-95th percentile range, m) along the candidate up axis
  against its travel across it. People walk, run and crawl across the floor, not up into the air, so
  a body whose spine points along +Y but that travels metres along +Y is crawling in a Z-up file.

`decide` (mode 'auto'): z_up when spine_up_z >= min_upright; else y_up when spine_up_y >= min_upright,
spine_up_y > spine_up_z, the mean spine direction itself is within 45 degrees of +Y (a coherent body,
not scattered poses) and the pelvis travels along Y no more than max(1 m, its travel across); else z_up. Modes 'z_up' / 'y_up' force the frame. Whatever the mode, the body's upright fraction in
the decided frame is recorded, and a sequence that stays mostly not upright gets the `lying_down`
flag — so nobody is stored on their back without a flag.

Limit: a Z-up body lying still on its back with its head towards +Y for the whole take is the same
geometry as a standing Y-up export; 'auto' stands it up (decision and evidence are in `sequences`).

`stand_upright` rotates a Y-up sequence into Z-up by A = Z_UP_TO_Y_UP.T about the world origin:
root_orient' = A R(root_orient), trans' = A (trans + p0) - p0 with p0 the pelvis rest position (FK
rotates the body about the pelvis), so every posed joint x becomes exactly A x.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from amass_arrow.source.sequence import Sequence

from .kinematics import Z_UP_TO_Y_UP, forward_kinematics, rodrigues
from .resample import matrix_to_quat, quat_to_aa

MODES = ("auto", "z_up", "y_up")
SPINE_SAMPLES = 256  # frames posed for the spine evidence
SPINE_CHAIN = (0, 3, 6, 9, 12)  # pelvis, spine1, spine2, spine3, neck: the same indices in every SMPL-family skeleton
COS_45 = float(np.cos(np.pi / 4))
MIN_VERTICAL_TRAVEL = 1.0  # m: a Y-up verdict tolerates this much pelvis travel along Y (stairs, jumps)
Y_UP_TO_Z_UP = Z_UP_TO_Y_UP.T


@dataclass(frozen=True)
class Orientation:
    """The decision for one sequence and its evidence (the `sequences` orientation columns)."""

    source_frame: str  # z_up | y_up: how the file was read (y_up files were stood upright)
    mode: str  # auto | z_up | y_up: the configured rule
    spine_up_z: float  # fraction of sampled frames with the spine within 45 deg of the file's +Z
    spine_up_y: float  # ... of the file's +Y
    upright_fraction: float  # the same fraction for the decided up axis
    reason: str  # one line: why

    def flags(self, min_upright: float) -> list[str]:
        return ["lying_down"] if self.upright_fraction < min_upright else []


def spine_directions(seq: Sequence, rest_joints: np.ndarray, parents, samples: int = SPINE_SAMPLES) -> np.ndarray:
    """(N, 3) unit pelvis -> neck vectors in the file's coordinates on N <= `samples` evenly spread frames.

    rest_joints: (J, 3) rest joints for the sequence's betas; parents: (J,) the skeleton's parents.
    """
    T = seq.num_frames
    rows = np.unique(np.linspace(0, T - 1, min(T, samples)).round().astype(np.int64))
    chain = list(SPINE_CHAIN)
    sub_parents = [chain.index(int(parents[j])) if int(parents[j]) >= 0 else -1 for j in chain]
    pose = np.concatenate([seq.root_orient[rows], seq.pose_body[rows]], axis=1).reshape(len(rows), -1, 3)[:, chain]
    fk = forward_kinematics(pose.astype(np.float64), np.asarray(rest_joints, np.float64)[chain], sub_parents)
    v = fk[:, -1] - fk[:, 0]
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _travel(x: np.ndarray) -> np.ndarray:
    """(3,) 5th-95th percentile range (m) of each coordinate of (T, 3) positions (one partition pass)."""
    if not len(x):
        return np.zeros(x.shape[1:])
    lo, hi = np.percentile(x, [5, 95], axis=0)
    return hi - lo


def decide(spine: np.ndarray, pelvis: np.ndarray, mode: str = "auto", min_upright: float = 0.5) -> Orientation:
    """Decide the file's up axis from spine directions (N, 3) and pelvis positions (T, 3) (file coordinates, m)."""
    if mode not in MODES:
        raise ValueError(f"source frame mode must be one of {', '.join(MODES)}; got {mode!r}")
    spine = np.asarray(spine, np.float64)
    up_z = float(np.mean(spine[:, 2] > COS_45)) if len(spine) else 0.0
    up_y = float(np.mean(spine[:, 1] > COS_45)) if len(spine) else 0.0
    pelvis = np.asarray(pelvis, np.float64)
    mean_y = float(spine.mean(axis=0)[1]) if len(spine) else 0.0
    travel = _travel(pelvis)
    along_y = float(travel[1])
    across_y = float(np.hypot(travel[0], travel[2]))
    ev = f"spine +z {up_z:.2f}, +y {up_y:.2f} of frames; pelvis travel along y {along_y:.2f} m, across {across_y:.2f} m"
    if mode != "auto":
        frame, why = mode, f"forced by config ({ev})"
    elif up_z >= min_upright:
        frame, why = "z_up", f"upright along +z ({ev})"
    elif up_y >= min_upright and up_y > up_z and mean_y < COS_45:
        frame, why = "z_up", f"spine scattered around +y (mean direction {mean_y:.2f}): no coherent up axis ({ev})"
    elif up_y >= min_upright and up_y > up_z and along_y <= max(MIN_VERTICAL_TRAVEL, across_y):
        frame, why = "y_up", f"upright along +y: a Y-up export ({ev})"
    elif up_y >= min_upright and up_y > up_z:
        frame, why = "z_up", f"spine along +y but travelling along it: a body moving lying down in Z-up ({ev})"
    else:
        frame, why = "z_up", f"upright along neither axis ({ev})"
    upright = up_y if frame == "y_up" else up_z
    return Orientation(frame, mode, up_z, up_y, upright, why)


def stand_upright(seq: Sequence, pelvis_rest: np.ndarray) -> Sequence:
    """A copy of a Y-up `seq` rotated into Z-up (root_orient and trans; see the module docstring).

    pelvis_rest: (3,) rest position of the pelvis for the sequence's betas (m). Output arrays keep
    the input dtypes.
    """
    A = Y_UP_TO_Z_UP
    R = A @ rodrigues(np.asarray(seq.root_orient, np.float64))
    root = quat_to_aa(matrix_to_quat(R), reference=None)
    p0 = np.asarray(pelvis_rest, np.float64)
    trans = (np.asarray(seq.trans, np.float64) + p0) @ A.T - p0
    return dataclasses.replace(seq, root_orient=root.astype(seq.root_orient.dtype),
                               trans=trans.astype(seq.trans.dtype))
