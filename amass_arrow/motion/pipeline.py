"""One Sequence -> its frame rows (Arrow) and sequence-row fields: the step between read and write.

    floor + contacts (feet FK at the source rate) -> resample -> FK (model rest joints for the
    sequence's betas) -> floor fix -> coordinate frame -> joint-set selection -> Arrow table

Everything is vectorized over frames; columns are built straight from numpy buffers.

Coordinate frames. Joints, trans and root_orient are stored in `cfg.frame`. For 'y_up' the whole
body is rotated by M = kinematics.Z_UP_TO_Y_UP about the world origin:
joints' = M @ joints, root_orient' = M @ R(root_orient) (as axis-angle), and
trans' = M @ (trans + p0) - p0 where p0 = the pelvis rest position for the sequence's betas,
because FK rotates the body about the pelvis, not the origin. With that choice FK of the *stored*
parameters (root_orient', body pose, trans', betas) reproduces the stored joints in either frame.
(For 'z_up', trans is stored as read, minus the floor height on z.)

The floor fix (cfg.floor == 'lowest_foot', see contacts.floor_height) is applied in AMASS Z-up
before the frame change, to joints and trans alike; the amount is returned as `floor_height`.
The floor is the sole plane: the lowest foot joint's robust minimum minus `toe_offset` (that
joint's rest height above the model's lowest rest vertex for the sequence's betas, ~2 cm), so a
stored body stands on z = 0 (ProtoMotions: "the lowest joint sits at the toe offset").
Contacts and the floor are decided on the *source* frames (FK of the foot chains only, ~9 joints),
by the method `cfg.contacts` names (contacts.detect: the default detector's speed is measured over a
fixed time window, so it does not depend on the source rate; the parity modes downsample as their
peers do); each store frame takes the flags of the source frame nearest in time. They do not depend
on the chosen joint set or frame either.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from amass_arrow import schema
from amass_arrow.config import MotionConfig
from amass_arrow.errors import InputError
from amass_arrow.schema import SEQ
from amass_arrow.source.sequence import Sequence

from . import contacts as _contacts
from . import orientation as _orientation
from . import quality as _quality
from .kinematics import Z_UP_TO_Y_UP, forward_kinematics, rodrigues, to_frame
from .paper_metrics import take_skating_ratio
from .resample import matrix_to_quat, quat_to_aa, resample_sequence

SOURCE_CHUNK = 1 << 13  # frames posed at once (bounds FK temporaries; cache friendly)

#: CPU seconds this process spent in each stage of the per-file path: `process`'s stages, and read,
#: row and write from convert.convert_one (read by `make bench`'s stage profile)
STAGE_SECONDS: defaultdict[str, float] = defaultdict(float)


class Laps:
    """`lap(stage)` adds the CPU time since the previous lap to STAGE_SECONDS[stage]; `lap.skip()` restarts
    the clock without charging a stage (for spans that keep their own laps)."""

    def __init__(self):
        self.t = time.process_time()

    def __call__(self, stage: str) -> None:
        now = time.process_time()
        STAGE_SECONDS[stage] += now - self.t
        self.t = now

    def skip(self) -> None:
        self.t = time.process_time()


@dataclass(frozen=True)
class SequenceFields:
    """What `process` adds to a sequence's `sequences` row (names: schema.SEQUENCE_SCHEMA)."""

    store_fps: float  # Hz
    resample_mode: str  # interpolate | decimate | none
    num_frames: int  # T at store_fps
    duration: float  # s, schema.duration_seconds
    floor_height: float  # m subtracted from z (Z-up, before the frame change)
    orientation: _orientation.Orientation  # -> schema.ORIENTATION_COLUMNS
    metrics: dict[str, float | None]  # schema.QUALITY_COLUMNS and schema.PAPER_METRIC_COLUMNS
    quality_flags: list[str]  # the sequence's own flags included, each once

    def row(self) -> dict[str, Any]:
        """The fields as `sequences` columns."""
        o = self.orientation
        orient = dict(zip(schema.ORIENTATION_COLUMNS, (o.source_frame, o.mode, o.spine_up_z, o.spine_up_y,
                                                        o.upright_fraction, o.reason)))
        return {SEQ.store_fps: self.store_fps, SEQ.resample_mode: self.resample_mode, SEQ.num_frames: self.num_frames,
                SEQ.duration: self.duration, SEQ.floor_height: self.floor_height, **orient, **self.metrics,
                SEQ.quality_flags: list(self.quality_flags)}

    def __getitem__(self, column: str) -> Any:
        """One field by its `sequences` column name (fields["floor_height"])."""
        return self.row()[column]


@dataclass
class Processed:
    """Frame rows of one sequence plus the fields it adds to its `sequences` row."""

    frames: pa.Table  # schema.frame_schema(num_joints, cfg.joint_velocities)
    fields: SequenceFields


def process(seq: Sequence, model, cfg: MotionConfig, joint_set: str) -> Processed:
    """Resample, pose, floor-fix, label contacts and tabulate one sequence.

    model: a bodymodel.BodyModel for the sequence's surface model and gender (`parents` (J,),
    `rest_joints(betas) -> (J, 3)`, `num_shape_betas`, `surface_model`).
    joint_set: a key of schema.JOINT_SETS (the caller resolves 'skeleton').
    Raises InputError(code='joint_set_unavailable' | 'surface_model_mismatch' | 'no_frames').
    """
    idx = _check(seq, model, joint_set)
    lap = Laps()
    flags = list(seq.quality_flags)
    betas, truncated = _fit_betas(seq.betas, int(model.num_shape_betas))
    flags += ["betas_truncated"] if truncated else []
    rest = np.asarray(model.rest_joints(betas), np.float64)
    parents = np.asarray(model.parents)
    lap("body model")

    # orientation: decided from the pose; a Y-up file is stood upright before FK, floor and contacts
    orient = _orientation.decide(_orientation.spine_directions(seq, rest, parents), seq.trans + rest[0],
                                 cfg.source_frame, cfg.quality.min_upright_fraction)
    if orient.source_frame == "y_up":
        seq = _orientation.stand_upright(seq, rest[0])
    lap("orientation")
    rs, fps = resample_sequence(seq, cfg.fps, cfg.resample)
    T = rs.num_frames
    lap("resample")
    foot_idx, toe_off, floor, c4 = _floor_and_contacts(seq, model, betas, rest, parents, cfg, T, fps, lap)

    # FK at the store rate over only the stored joints and their ancestors
    joints = _pose_joints(rs, rest, parents, idx)  # (T, J, 3) Z-up
    trans = rs.trans.astype(np.float64)
    joints[..., 2] -= floor
    trans[:, 2] -= floor
    lap("fk")

    # quality metrics (store rate, Z-up, floor at z = 0)
    metrics = _quality.measure(joints, [idx.index(j) for j in foot_idx], c4, fps, toe_offset=toe_off,
                               airborne_height=cfg.quality.airborne_height, airborne_window=cfg.quality.airborne_window)
    flags = _quality.merge_flags(flags, orient.flags(cfg.quality.min_upright_fraction), _quality.flags(metrics, cfg.quality))
    metrics[SEQ.skating_ratio_gmd] = take_skating_ratio(joints, fps)  # the paper's number, for SQL (never a flag)
    lap("quality")

    root_orient, trans, joints = _to_frame(cfg.frame, rs.root_orient, trans, joints, rest[0])
    table = _frame_table(seq.seq_id, rs, fps, root_orient, trans, joints, c4, cfg.joint_velocities)
    lap("table")
    fields = SequenceFields(store_fps=float(fps), resample_mode=cfg.resample, num_frames=int(T),
                            duration=schema.duration_seconds(T, fps), floor_height=float(floor), orientation=orient,
                            metrics=metrics, quality_flags=flags)
    return Processed(frames=table, fields=fields)


def _floor_and_contacts(seq: Sequence, model, betas: np.ndarray, rest: np.ndarray, parents: np.ndarray,
                        cfg: MotionConfig, T: int, fps: float, lap: Laps) -> tuple[list[int], float, float, np.ndarray]:
    """Floor and contacts, decided on the source frames from the feet only (the chains pelvis -> toes).

    Returns (foot joint indices in FOOT_ORDER, toe offset m, floor height m, (T, 4) contacts at the
    T store frames at `fps`: each takes the flags of the source frame nearest in time).
    """
    names = schema.SKELETONS[model.surface_model][0]
    foot_idx = [names.index(schema.FOOT_JOINTS[k]) for k in _contacts.FOOT_ORDER]
    feet_src = _pose_joints(seq, rest, parents, foot_idx)  # (Ts, 4, 3) Z-up
    lap("fk")
    toe_off = toe_offset(model, betas, foot_idx)
    floor = _contacts.floor_height(feet_src[..., 2], toe_offset=toe_off) if cfg.floor == "lowest_foot" else 0.0
    c_src = _contacts.detect(cfg.contacts, feet_src, seq.fps, 2, cfg.contact_params())
    near = np.clip(np.rint(np.arange(T) / fps * float(seq.fps)).astype(np.int64), 0, seq.num_frames - 1)
    c4 = c_src[near]  # (T, 4) in FOOT_ORDER
    lap("contacts")
    return foot_idx, toe_off, floor, c4


def _check(seq: Sequence, model, joint_set: str) -> list[int]:
    """The joint set's indices in the model's skeleton, or InputError for what cannot be processed."""
    idx = schema.joint_indices(joint_set, model.surface_model) if joint_set in schema.JOINT_SETS else None
    if idx is None:
        have = [k for k in schema.JOINT_SETS if schema.joint_indices(k, model.surface_model) is not None]
        raise InputError(
            seq.source_path,
            "joint_set_unavailable",
            f"joint set {joint_set!r} needs joints a {model.surface_model} body lacks; "
            f"use one of {', '.join(have)} (or 'skeleton')",
        )
    if seq.surface_model != model.surface_model:
        raise InputError(
            seq.source_path,
            "surface_model_mismatch",
            f"sequence is {seq.surface_model} but the body model is {model.surface_model}",
        )
    if seq.num_frames < 1:
        raise InputError(seq.source_path, "no_frames", "the sequence has no frames")
    return idx


def _fit_betas(betas: np.ndarray, num_shape_betas: int) -> tuple[np.ndarray, bool]:
    """(num_shape_betas,) float64 betas: the file's, zero-padded or with the tail dropped (True) to fit the model."""
    b = np.asarray(betas, np.float64).ravel()
    if b.size > num_shape_betas:
        return b[:num_shape_betas], True
    return np.concatenate([b, np.zeros(num_shape_betas - b.size)]), False


def _pose_joints(seq: Sequence, rest: np.ndarray, parents: np.ndarray, wanted: list[int]) -> np.ndarray:
    """(T, len(wanted), 3) float64 world positions (m, the file's frame) of joints `wanted`, by FK of only them
    and their ancestors, in chunks of SOURCE_CHUNK frames (bounds memory on hour-long takes)."""
    chain = _ancestors(parents, wanted)  # sorted, so parents come first
    sub_parents = [chain.index(parents[j]) if parents[j] >= 0 else -1 for j in chain]
    in_chain = [chain.index(j) for j in wanted]
    def pose(rows: slice) -> np.ndarray:  # float32: posed in float32, placed by trans in float64
        return forward_kinematics(seq.joint_pose(chain, rows), rest[chain], sub_parents, seq.trans[rows],
                                  out_dtype=np.float64, select=in_chain)

    if seq.num_frames <= SOURCE_CHUNK:
        return pose(slice(None))
    out = np.empty((seq.num_frames, len(wanted), 3))
    for start in range(0, seq.num_frames, SOURCE_CHUNK):
        rows = slice(start, start + SOURCE_CHUNK)
        out[rows] = pose(rows)
    return out


def _to_frame(frame: str, root_orient: np.ndarray, trans: np.ndarray, joints: np.ndarray, pelvis_rest: np.ndarray):
    """(root_orient, trans, joints) from Z-up into `frame` (see the module docstring for why trans moves about p0)."""
    if frame == "z_up":
        return root_orient, trans, joints
    p0 = pelvis_rest
    root = quat_to_aa(matrix_to_quat(Z_UP_TO_Y_UP @ rodrigues(root_orient.astype(np.float64))), reference=None)
    return root, to_frame(trans + p0, frame) - p0, to_frame(joints, frame)


def _frame_table(seq_id: str, rs: Sequence, fps: float, root_orient: np.ndarray, trans: np.ndarray, joints: np.ndarray,
                 c4: np.ndarray, joint_velocities: bool) -> pa.Table:
    """The frame rows, assembled by column name (schema.frame_table puts them in schema order).

    joints: (T, J, 3) in the store frame; c4: (T, 4) bool contacts in contacts.FOOT_ORDER.
    """
    T, J = joints.shape[:2]
    cols: dict[str, pa.Array] = {
        schema.SEQ_ID: _repeat_string(seq_id, T),
        schema.FRAME: _numeric(np.arange(T, dtype=np.int32)),
        schema.T: _numeric((np.arange(T, dtype=np.float64) / fps).astype(np.float32)),
    }
    blocks = rs.pose_blocks()
    blocks[schema.ROOT_ORIENT_COLUMN] = root_orient
    blocks[schema.TRANS_COLUMN] = trans
    for name, width in schema.POSE_COLUMNS.items():
        if blocks[name] is not None:
            cols[name] = _fsl(blocks[name], width)
    cols[schema.JOINTS] = _fsl(joints, 3 * J)
    if joint_velocities:
        vel = np.gradient(joints, 1.0 / fps, axis=0) if T > 1 else np.zeros_like(joints)
        cols[schema.JOINT_VEL] = _fsl(vel, 3 * J)
    feet = dict(zip(_contacts.FOOT_ORDER, c4.T))
    for foot, flags_t in feet.items():
        cols[schema.CONTACT_COLUMN[foot]] = _bools(flags_t)
    for side, column in schema.FOOT_CONTACT_COLUMN.items():
        cols[column] = _bools(feet[f"{side}_ankle"] | feet[f"{side}_toe"])
    return schema.frame_table(cols, T, J, joint_velocities)


def _ancestors(parents: np.ndarray, joints: list[int]) -> list[int]:
    """Sorted indices of `joints` and all their ancestors."""
    keep: set[int] = set()
    for j in joints:
        while j >= 0 and j not in keep:
            keep.add(int(j))
            j = int(parents[j])
    return sorted(keep)


def toe_offset(model, betas: np.ndarray, foot_idx: list[int]) -> float:
    """Height (m) of the lowest foot joint above the sole in the model's rest pose (Y-up model frame).

    The sole is the lowest rest vertex for these betas; 0 when the model gives no vertices.
    """
    sole_height = getattr(model, "sole_height", None)
    if sole_height is None:
        return 0.0
    sole = sole_height(betas)
    rest_y = np.asarray(model.rest_joints(betas))[foot_idx, 1]
    return max(0.0, float(rest_y.min()) - sole)


def _numeric(a: np.ndarray) -> pa.Array:
    """1-D numeric numpy -> Arrow array over the same buffer (pa.array(ndarray) imports pandas: ~1.7 s a worker)."""
    a = np.ascontiguousarray(a)
    return pa.Array.from_buffers(pa.from_numpy_dtype(a.dtype), len(a), [None, pa.py_buffer(a)])


def _bools(a: np.ndarray) -> pa.BooleanArray:
    """1-D bool numpy -> Arrow booleans (bit-packed, LSB first), no nulls."""
    a = np.asarray(a, bool)
    return pa.Array.from_buffers(pa.bool_(), len(a), [None, pa.py_buffer(np.packbits(a, bitorder="little"))])


def _fsl(a: np.ndarray, width: int) -> pa.FixedSizeListArray:
    """(T, ...) numeric -> schema.fsl(width) (float32, non-null elements) without per-row Python work."""
    flat = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(_numeric(flat), type=schema.fsl(width))


def _repeat_string(value: str, n: int) -> pa.StringArray:
    """A string column of `n` copies of `value`, built from buffers."""
    b = value.encode("utf-8")
    offsets = (np.arange(n + 1, dtype=np.int64) * len(b))
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b * n))
    return pa.array([value] * n, pa.string())
