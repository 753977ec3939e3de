"""The 272-dim motion representation (Li-xingXiao/272-dim-Motion-Representation; MotionStreamer, Go to Zero).

30 fps, 22 SMPL body joints, Y-up, metres. Their pipeline, stage by stage (read, not copied; each stage is a pure
function here, tested against a transcription of their rules):

    to_smpl85   (N, >=66) poses, (N, 3) trans, betas -> (N, 85): 22 joints' axis-angle (66), 6 zero wrist values,
                trans (3), betas[:10]; then their canonical transform: root rotation R -> C @ R with
                C = [[1,0,0],[0,0,1],[0,-1,0]], trans (x, y, z) -> (x, z, -y)          (amass_process.py)
    mirror85    their left/right swap of the 85: pairs (1,2) (4,5) (7,8) (10,11) (13,14) (16,17) (18,19) (20,21),
                axis-angle y and z negated on every joint, trans x negated                (amass_process.py)
    face_z      the first frame's heading (the root's +Z axis projected on XZ, angle atan2(x, z)) removed from
                every root rotation and translation, a rotation about +Y               (face_z_transform.py)
    joints      FK of the 85 with the SMPL-X neutral model, betas[:10], first 22 joints (infer_get_joints.py)
    features    (T, 22, 3) positions + (T, 22, 3) axis-angle -> (T, 272)              (representation_272.py):
                [0:2]     root XZ velocity, heading removed (frame t holds t-1 -> t, frame 0 zero)
                [2:8]     heading change t-1 -> t as a Y rotation's 6D (first two matrix rows; frame 0 identity)
                [8:74]    joint positions, heading removed, root on the XZ origin, floor (lowest joint of the clip) at 0
                [74:140]  their frame-to-frame differences (frame 0 zero)
                [140:272] joint rotations as 6D (first two matrix rows), the root's heading removed
    Mean / Std  over every frame of every clip (mirrors included), population std averaged per feature group
                (cal_mean_std.py); clips with NaN are left out of it.

Export (`--kind motion272`), laid out like their release: `motion_data/<id>.npy` (T, 272) float64,
`mean_std/Mean.npy`/`Std.npy`, `split/{train,val,test}.txt` (+ `all.txt`), `texts/<id>.txt`, `index.csv`
(id -> seq_id, time range); `--mirror` (default true, as their pipeline) adds `M<id>` clips with left/right swapped
in their captions. Two clip lists:
- default (`--recipe sql`): the split rows at the store's 30 fps frames (a store at another rate: `--fps 30`), ids
  000000.. in split order, captions from the row's text (`caption#tokens#0.0#0.0`, tokens word/OTHER). The store's
  fps resampling and floor shift change nothing their features keep (the floor and frame 0's root XZ are subtracted).
- `--recipe official --humanml3d-dir DIR`: their clip list, DIR/index.csv rows (source_path, start_frame, end_frame,
  new_name) at every int(fps/30)-th frame of the file (fps = the file's own key), then [start_frame:end_frame] with
  Python slicing (end -1 drops the last frame), as amass_process.py; DIR/texts/<name>.txt and DIR/{train,val,test}.txt
  place captions and splits. It needs a store of the files' own frames (`--resample none`); rows it cannot place are
  listed in `skipped.csv`. (HumanML3D's own index.csv counts 20 fps frames after head trims; theirs is a 30 fps
  mapping made with UniMoCap's h3d_to_h3d.py at fps=30: give that one.)
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amass_arrow.motion.kinematics import forward_kinematics, rodrigues
from amass_arrow.motion.resample import aa_to_quat, matrix_to_quat, quat_to_aa

from ..errors import ConfigError
from ..schema import FRM, HML3D_INDEX, SEQ, SPL
from ..source.hml3d_index import read_index, rel_path
from .posing import Models, require_z_up, sequences_of_rows
from .registry import Exporter, register
from .units import SLICE_UNIT

FPS = 30.0
JOINTS = 22
DIM = 8 + 12 * JOINTS  # 272
#: their canonical transform: AMASS Z-up -> Y-up (x, y, z) -> (x, z, -y)
CANONICAL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
#: their left/right joint pairs (body joints; the hands are not in the 85)
FLIP_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21))
#: the feature groups whose std is averaged (cal_mean_std.py): root velocity, heading velocity, positions,
#: velocities, rotations
GROUPS = ((0, 2), (2, 8), (8, 8 + 3 * JOINTS), (8 + 3 * JOINTS, 8 + 6 * JOINTS), (8 + 6 * JOINTS, DIM))
#: their split file names
SPLIT_FILES = {"train": "train", "validation": "val", "test": "test"}
#: the 85's layout
POSE, WRIST, TRANS, BETAS = slice(0, 66), slice(66, 72), slice(72, 75), slice(75, 85)


def _aa(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3), angle in [0, pi]."""
    return quat_to_aa(matrix_to_quat(R))


def _ry(a: np.ndarray) -> np.ndarray:
    """Rotations about +Y by angles a (...,) radians -> (..., 3, 3)."""
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def to_smpl85(poses: np.ndarray, trans: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """(N, >=66) AMASS axis-angle poses (root first), (N, 3) trans (Z-up, m), betas (B,) -> (N, 85) float32 in their
    canonical Y-up frame (see the module docstring); fewer than 10 betas are zero-padded."""
    poses = np.asarray(poses, np.float64)
    n = len(poses)
    out = np.zeros((n, 85))
    out[:, POSE] = poses[:, :66]
    out[:, 0:3] = _aa(CANONICAL @ rodrigues(poses[:, :3]))
    out[:, TRANS] = np.asarray(trans, np.float64) @ CANONICAL.T
    b = np.asarray(betas, np.float64).reshape(-1)[:10]
    out[:, 75:75 + len(b)] = b
    return out.astype(np.float32)


def mirror85(x85: np.ndarray) -> np.ndarray:
    """(N, 85) -> its mirror image (left/right joints swapped, axis-angle y/z negated, trans x negated); a new array."""
    x = np.array(x85, copy=True)
    pose = x[:, :72].reshape(len(x), 24, 3)
    left, right = [a for a, _ in FLIP_PAIRS], [b for _, b in FLIP_PAIRS]
    pose[:, left + right] = pose[:, right + left]
    pose[:, :, 1:3] *= -1
    x[:, :72] = pose.reshape(len(x), 72)
    x[:, 72] *= -1
    return x


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products a * b of (..., 4) (w, x, y, z) quaternions."""
    aw, av, bw, bv = a[..., :1], a[..., 1:], b[..., :1], b[..., 1:]
    return np.concatenate([aw * bw - np.sum(av * bv, -1, keepdims=True), aw * bv + bw * av + np.cross(av, bv)], -1)


def _aa_unflipped(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions -> axis-angle 2 atan2(|v|, w) v/|v|: a negative w gives an angle above pi, as
    their quaternion_to_axis_angle does (the 85 keeps their representation, not only their rotation)."""
    v = q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(n, q[..., :1])
    safe = np.where(n > 1e-12, n, 1.0)
    return np.where(n > 1e-12, v * (angle / safe), 2.0 * v)


def face_z(x85: np.ndarray) -> np.ndarray:
    """(N, 85) -> (N, 85): every root rotation and translation turned about +Y so that frame 0 faces +Z (the root's
    +Z axis at frame 0, projected on XZ, has heading atan2(x, z); the turn is -heading)."""
    x = np.array(x85, copy=True)
    if not len(x):
        return x
    fwd = rodrigues(np.asarray(x[0, 0:3], np.float64)) @ np.array([0.0, 0.0, 1.0])
    h = -np.arctan2(fwd[0], fwd[2])
    turn = np.array([np.cos(h / 2), 0.0, np.sin(h / 2), 0.0])
    x[:, 0:3] = _aa_unflipped(_qmul(turn[None], aa_to_quat(np.asarray(x[:, 0:3], np.float64))))
    x[:, TRANS] = np.asarray(x[:, TRANS], np.float64) @ _ry(np.array(h)).T
    return x


def joints_of(x85: np.ndarray, model) -> np.ndarray:
    """(N, 85) -> (N, 22, 3) joints: FK of the 22 body joints with `model` (theirs: SMPL-X neutral), betas[:10]."""
    n = len(x85)
    rest = np.asarray(model.rest_joints(np.asarray(x85[0, BETAS] if n else np.zeros(10), np.float64)), np.float64)
    parents = [int(p) for p in model.parents[:JOINTS]]
    pose = np.asarray(x85[:, POSE], np.float64).reshape(n, JOINTS, 3)
    return forward_kinematics(pose, rest[:JOINTS], parents, np.asarray(x85[:, TRANS], np.float64),
                              out_dtype=np.float64, jit=False)


def features(positions: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """(T, 22, 3) Y-up joint positions (m) and (T, 22, 3) axis-angle rotations (root global, the rest local)
    -> (T, 272) float64 (layout in the module docstring)."""
    p = np.array(positions, np.float64)
    T = len(p)
    R = rodrigues(np.asarray(rotations, np.float64))  # (T, 22, 3, 3)
    origin = p[0, 0].copy()
    origin[1] = p[..., 1].min()
    p -= origin
    root_vel = p[1:, 0] - p[:-1, 0]
    p[:, :, [0, 2]] -= p[:, :1, [0, 2]]
    heading = -np.arctan2(R[:, 0, 0, 2], R[:, 0, 2, 2])
    H = _ry(heading)
    local = np.einsum("tij,tkj->tki", H, p)
    out = np.zeros((T, DIM))
    out[0, 2] = out[0, 6] = 1.0
    out[1:, 2:8] = _ry(heading[1:] - heading[:-1])[:, :2, :].reshape(-1, 6)
    out[1:, 0:2] = np.einsum("tij,tj->ti", H[:-1], root_vel)[:, [0, 2]]
    out[:, 8:8 + 3 * JOINTS] = local.reshape(T, -1)
    out[1:, 8 + 3 * JOINTS:8 + 6 * JOINTS] = (local[1:] - local[:-1]).reshape(T - 1, -1)
    R[:, 0] = H @ R[:, 0]
    out[:, 8 + 6 * JOINTS:] = R[:, :, :2, :].reshape(T, -1)
    return out


def mean_std(clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Their Mean/Std: over all frames of the clips without NaN; population std averaged within each group."""
    data = np.concatenate([c for c in clips if not np.isnan(c).any()] or [np.zeros((0, DIM))])
    if not len(data):
        return np.zeros(DIM), np.ones(DIM)
    mean, std = data.mean(axis=0), data.std(axis=0)
    for a, b in GROUPS:
        std[a:b] = std[a:b].mean()
    return mean, std


_SIDES = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def _mirror_sides(line: str) -> str:
    """A caption line of a mirrored clip: left and right swapped (words and their tokens)."""
    return re.sub(r"\b(left|right|Left|Right|LEFT|RIGHT)\b", lambda m: _SIDES[m.group(0)], line)


def _caption(text: str) -> str:
    """`caption#tokens#0.0#0.0` (the whole clip), tokens word/OTHER (no POS tagger here)."""
    tokens = " ".join(f"{w}/OTHER" for w in re.findall(r"[A-Za-z0-9']+", text))
    return f"{text}#{tokens}#0.0#0.0"


@dataclass
class Options:
    recipe: str = field(default="", metadata={"help": "rib: rib | own; motion272: sql (default) | official"})
    mirror: bool = field(default=True, metadata={"help": "also write mirrored M<id> clips (true/false)"})
    humanml3d_dir: str = field(default="", metadata={"help": "motion272 --recipe official: HumanML3D folder (index.csv, "
                                                             "texts/, train/val/test.txt)"})
    body_models: str = field(default="", metadata={"help": "body model root for bodies the store lacks "
                                                           "(default: the paths in the store's info.json)"})

    def validate(self, where: str) -> None:
        if self.recipe not in ("", "sql", "official"):
            raise ConfigError(f"{where}.recipe must be sql or official; got {self.recipe!r}")


@register
class Motion272Exporter(Exporter):
    name = "motion272"
    units = (SLICE_UNIT,)
    columns = (FRM.root_orient, FRM.pose_body, FRM.trans)
    Options = Options
    summary = "272-dim motion representation (MotionStreamer): motion_data/<id>.npy (T, 272), mean_std/, split/, texts/"
    load = "np.load('OUT/<definition>/motion272/motion_data/000000.npy')  # their Text2Motion datasets read this folder"

    def export(self, ctx, out: Path) -> Path:
        opts: Options = ctx.options
        require_z_up(ctx.store, "motion272")
        if opts.recipe == "official":
            source = official_clips(ctx, Path(opts.humanml3d_dir) if opts.humanml3d_dir else None)
        else:
            if opts.humanml3d_dir:
                raise ConfigError("motion272: --humanml3d-dir is read by --recipe official only")
            source = row_clips(ctx)
        model = Models(ctx.store, opts.body_models, "motion272").get("smplx", "neutral")
        for d in ("motion_data", "mean_std", "split", "texts"):
            (out / d).mkdir(parents=True, exist_ok=True)
        clips, index, lists = [], [], {}
        for c in source:
            x = to_smpl85(c.poses, c.trans, c.betas)
            for cid, x85, mirrored in [(c.name, x, False)] + ([("M" + c.name, mirror85(x), True)] if opts.mirror else []):
                xf = face_z(x85)
                f = features(joints_of(xf, model), xf[:, POSE].reshape(len(xf), JOINTS, 3))
                np.save(out / "motion_data" / f"{cid}.npy", f)
                clips.append(f)
                if c.texts:
                    lines = [_mirror_sides(t) if mirrored else t for t in c.texts]
                    (out / "texts" / f"{cid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
                if c.split:
                    lists.setdefault(c.split, []).append(cid)
                index.append((cid, c.seq_id, c.split or "", c.start_t, c.end_t, len(f), mirrored))
        for split in ("train", "validation", "test", *sorted(set(lists) - {"train", "validation", "test"})):
            (out / "split" / f"{SPLIT_FILES.get(split, split)}.txt").write_text("".join(f"{i}\n" for i in lists.get(split, [])))
        (out / "split" / "all.txt").write_text("".join(f"{row[0]}\n" for row in index))
        mean, std = mean_std(clips)
        np.save(out / "mean_std" / "Mean.npy", mean)
        np.save(out / "mean_std" / "Std.npy", std)
        with open(out / "index.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", SPL.seq_id, SPL.split, SPL.start_t, SPL.end_t, "frames", "mirrored"])
            w.writerows(index)
        if opts.recipe == "official":
            with open(out / "skipped.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["new_name", "reason", "message"])
                w.writerows(source.skipped)
        return out


@dataclass
class Clip:
    """One clip to write: its id, the store sequence, AMASS parameters (Z-up) and what goes beside it."""

    name: str
    seq_id: str
    poses: np.ndarray  # (T, 66) root + body axis-angle
    trans: np.ndarray  # (T, 3) m
    betas: np.ndarray
    split: str | None
    texts: list[str]
    start_t: float
    end_t: float


def row_clips(ctx):
    """The split rows at the store's 30 fps frames, ids 000000.. in split order (the default recipe)."""
    fps = ctx.fps
    if fps is None or abs(fps - FPS) > 1e-6:
        raise ConfigError(f"motion272 is {FPS:g} fps; this export is at {fps if fps else 'per-sequence rates'}: "
                          f"export with --fps 30 from a store whose rate 30 divides, or build it at --fps 30")
    seqs = sequences_of_rows(ctx.con, (SEQ.betas,))
    k = 0
    for split in ctx.split_names():
        for s in ctx.slices(split):
            r = s.row
            text = r.get(SPL.text)
            yield Clip(f"{k:06d}", s.seq_id, np.concatenate([s.feats[FRM.root_orient], s.feats[FRM.pose_body]], axis=1),
                       s.feats[FRM.trans], np.asarray(seqs[s.seq_id][SEQ.betas]), split,
                       [_caption(text)] if text else [], r[SPL.start_frame] / r[SPL.store_fps],
                       r[SPL.end_frame] / r[SPL.store_fps])
            k += 1


def take_of(rel: str) -> str:
    """'CMU/01/01_01_poses.npy' -> the take 'CMU/01/01_01' (SMPL+H folder names, as HumanML3D's paths use)."""
    stem = re.sub(r"\.(npy|npz)$", "", rel)
    return re.sub(r"_(poses|stageii)$", "", stem)


class official_clips:
    """Their clip list (`--recipe official`): HumanML3D-style `index.csv` rows (source_path, start_frame, end_frame,
    new_name) read from `folder`, each clip = the file's every int(fps/30)-th frame, then [start_frame:end_frame]
    (Python slicing, as amass_process.py), fps = the file's own; `texts/<name>.txt` and `{train,val,test}.txt` from
    the same folder when there. The store must hold the files' own frames (--resample none). Rows that match no
    sequence, HumanAct12 rows and empty clips are skipped (`skipped.csv`)."""

    def __init__(self, ctx, folder: Path | None):
        if folder is None:
            raise ConfigError("motion272 --recipe official needs --humanml3d-dir DIR (its index.csv, texts/, split lists)")
        if ctx.store.info.resample != "none":
            raise ConfigError(f"motion272 --recipe official takes every int(fps/30)-th frame of the file: it needs a store "
                              f"of the files' own frames (build with --resample none); this one is {ctx.store.info.resample!r}")
        if not (folder / "index.csv").is_file():
            raise ConfigError(f"{folder / 'index.csv'}: not found (motion272 --recipe official reads HumanML3D's index.csv)")
        self.ctx, self.folder, self.skipped = ctx, folder, []

    def __iter__(self):
        folder, con = self.folder, self.ctx.con
        splits = {}
        for split, fname in SPLIT_FILES.items():
            p = folder / f"{fname}.txt"
            if p.is_file():
                splits.update({n.strip(): split for n in p.read_text().split() if n.strip()})
        facts, takes = {}, {}
        for sid, take, dataset, canonical, betas, fps_file, fps_used in con.execute(
                f"SELECT seq_id, {SEQ.take}, {SEQ.dataset}, {SEQ.canonical_dataset}, {SEQ.betas}, {SEQ.fps_in_file}, "
                f"{SEQ.source_fps} FROM sequences ORDER BY seq_id").fetchall():
            facts[sid] = (betas, fps_file, fps_used)
            if dataset == canonical or take not in takes:  # the SMPL+H download's copy of a take first
                takes[take] = sid
        for row in read_index(folder / "index.csv"):
            name = row[HML3D_INDEX.new_name].strip()
            name = name[:-4] if name.endswith(".npy") else name
            src = row[HML3D_INDEX.source_path].strip()
            rel = rel_path(src)
            if rel.split("/")[0] == "humanact12":
                self.skipped.append((name, "not_amass", f"{src} is a HumanAct12 clip"))
                continue
            sid = takes.get(take_of(rel))
            if sid is None:
                self.skipped.append((name, "no_sequence", f"no store sequence for {src}"))
                continue
            betas, fps_file, fps_used = facts[sid][0], facts[sid][1], facts[sid][2]
            step = int((fps_file if fps_file is not None else fps_used) / FPS)
            if step < 1:
                self.skipped.append((name, "low_fps", f"{sid}: {fps_file or fps_used} fps is below 30"))
                continue
            frames = con.execute(f"SELECT {FRM.frame}, {FRM.root_orient}, {FRM.pose_body}, {FRM.trans} FROM frames "
                                 f"WHERE seq_id = ? ORDER BY {FRM.frame}", [sid]).fetchall()
            a, b = row[HML3D_INDEX.start_frame], row[HML3D_INDEX.end_frame]
            kept = frames[::step][int(float(a)):int(float(b))]
            if not kept:
                self.skipped.append((name, "empty_clip", f"{sid}: frames [{a}:{b}] of "
                                                         f"{len(frames[::step])} at every {step}-th frame"))
                continue
            text_file = folder / "texts" / f"{name}.txt"
            texts = [ln for ln in text_file.read_text(encoding="utf-8").splitlines() if ln.strip()] if text_file.is_file() else []
            yield Clip(name, sid, np.array([list(f[1]) + list(f[2]) for f in kept], np.float64),
                       np.array([f[3] for f in kept], np.float64), np.asarray(betas), splits.get(name),
                       texts, kept[0][0] / fps_used, (kept[-1][0] + 1) / fps_used)


__all__ = ["DIM", "Motion272Exporter", "Options", "face_z", "features", "joints_of", "mean_std", "mirror85",
           "to_smpl85"]
