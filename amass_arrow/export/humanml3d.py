"""HumanML3D (EricGuo5513/HumanML3D): its 263-dim motion representation as pure vectorized numpy (`features`,
`recover_joints`, parity with the reference), and the `humanml3d` exporter writing its folder layout (end of file).

Input joints: (T, 22, 3) float, metres, HumanML3D's Y-up frame ((x, y, z)_AMASS -> (-x, z, y)), 20 fps,
SMPL body22 order. `features` returns (T-1, 263) float32 laid out as

    [0]        root angular velocity about Y (half-angle radians per frame, their arcsin(q_y))
    [1:3]      root linear velocity on XZ, in the root's heading frame (metres per frame)
    [3]        root height (metres above the per-sequence floor)
    [4:67]     root-relative positions of joints 1..21 in the heading frame ("ric")
    [67:193]   continuous 6D rotation (first two matrix columns) of joints 1..21 from inverse kinematics
    [193:259]  velocities of all 22 joints (metres per frame), rotated into the previous frame's heading
    [259:263]  foot contacts: left ankle, left foot, right ankle, right foot (1.0 / 0.0)

Steps, as the reference's `process_file` does them (quirks kept on purpose, for parity):
1. Retarget to the t2m target skeleton (`TARGET_OFFSETS`): every bone keeps its direction, takes the
   target's length; the root path is scaled by target / source right-leg length (thigh + shin, joints 5, 8,
   measured on frame 0).
2. Floor: subtract the minimum y of all joints over all frames (per sequence).
3. Move frame 0's root to x = z = 0 and turn the whole motion about Y so frame 0 faces +Z, facing
   taken from (r_hip - l_hip) + (r_shoulder - l_shoulder) of frame 0.
4. Contacts: a foot joint (7, 10 left; 8, 11 right) is in contact when its squared displacement to the
   next frame is < 0.002 m^2 (no height test).
5. Heading per frame from inverse kinematics' facing, which uses (l_hip - r_hip) + (r_shoulder - l_shoulder)
   (the hip pair reversed: the reference unpacks its `face_joint_indx` in a different order there), its
   forward vector Gaussian-smoothed over time (sigma 20 frames, edge values repeated); the heading
   quaternion keeps w >= 0, so the angular velocity flips sign on the one frame where the smoothed
   facing crosses the start's backward direction -- as in the shipped data. Frame 0's heading is the identity
   (their inverse_kinematics_np sets root_quat[0] to it), not its smoothed facing: frame 0's angular velocity,
   ric, local velocities and the chain starts' 6D follow from that (checked on their shipped clip 012314).
6. Joint rotations: the shortest-arc rotation from each bone's rest direction to its posed direction, made
   local to its parent's (joints 1, 2, 3 and the collars 13, 14 are made local to the heading).

`recover_joints` is the reference's `recover_from_ric` (how `new_joints` are made from the features); it
undoes `features` exactly except past a heading wrap (step 5) and, through the smoothing, within 80 frames of it.

Precision: positions in float64; the rotation chain (step 6) in float32, like the reference's float32 helpers
(parity with a float64 transcription of the reference: 1e-6; with its float32 arithmetic: 1e-4, tests/export/test_humanml3d.py).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amass_arrow.motion.contacts import HUMANML3D as HUMANML3D_CONTACTS
from amass_arrow.motion.paper_metrics import at_20fps

from ..errors import ConfigError
from ..schema import FRM, LAB, SKELETONS, SPL
from .frames import EXPORT_ROWS
from .registry import Exporter, register
from .stats import RunningStats
from .units import SLICE_UNIT

NUM_JOINTS = 22
NUM_FEATURES = 263
FPS = HUMANML3D_CONTACTS["fps"]  # their motion rate, 20.0 (one definition: contacts.HUMANML3D)

#: SMPL body22 parents.
PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19])

#: The t2m target skeleton: each joint's offset from its parent (metres, Y-up, rest direction * HumanML3D length).
TARGET_OFFSETS = np.array([
    [0, 0, 0], [0.103074, 0, 0], [-0.109883, 0, 0], [0, 0.131568, 0], [0, -0.393623, 0], [0, -0.390188, 0],
    [0, 0.14319, 0], [0, -0.432433, 0], [0, -0.425643, 0], [0, 0.057365, 0], [0, 0, 0.143382], [0, 0, 0.149419],
    [0, 0.21936, 0], [0.137487, 0, 0], [-0.143383, 0, 0], [0, 0, 0.103039], [0, -0.131614, 0], [0, -0.122984, 0],
    [0, -0.25684, 0], [0, -0.263092, 0], [0, -0.266012, 0], [0, -0.269876, 0],
])
#: Rest direction of each bone (unit axis vectors; the reference's `t2m_raw_offsets`).
REST_DIRECTIONS = np.sign(TARGET_OFFSETS)
TARGET_LENGTHS = np.abs(TARGET_OFFSETS).sum(axis=1)

LEG_JOINTS = (5, 8)  # right knee, right ankle: thigh + shin lengths set the root's scale
FEET_LEFT, FEET_RIGHT = (7, 10), (8, 11)
FACE_JOINTS = (2, 1, 17, 16)  # right hip, left hip, right shoulder, left shoulder
CONTACT_THRESHOLD = HUMANML3D_CONTACTS["sq_displacement"]  # m^2 per 20 fps frame (one definition: contacts.py)
SMOOTH_SIGMA, SMOOTH_TRUNCATE = 20.0, 4.0  # frames; scipy.ndimage.gaussian_filter1d's defaults otherwise
#: Joints whose IK rotation is made local to the heading, not to their parent (first joint of each chain).
_CHAIN_STARTS = (1, 2, 3, 13, 14)
_LOCAL_PARENT = np.array([-1 if j in _CHAIN_STARTS else p for j, p in enumerate(PARENTS)])
#: (22, 21) ancestor matrix: joint j's position = root + sum over the bones on its path (bone k-1 ends at joint k).
_PATH = np.zeros((NUM_JOINTS, NUM_JOINTS - 1))
for _j in range(1, NUM_JOINTS):
    _k = _j
    while _k > 0:
        _PATH[_j, _k - 1] = 1.0
        _k = PARENTS[_k]
#: left <-> right joint swap for mirrored clips.
MIRROR = np.array([0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20])
#: Feature groups whose std is averaged (their Std recipe): (start, stop) columns.
GROUPS = ((0, 1), (1, 3), (3, 4), (4, 67), (67, 193), (193, 259), (259, 263))


# -- helpers ------------------------------------------------------------------------------------------------------

def _yrot(c, s, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about +Y by the angle with cosine c and sine s (broadcast): (x, z) -> (c x + s z, c z - s x)."""
    return c * x + s * z, c * z - s * x


def _to_z(fx, fz):
    """Unit facing (fx, 0, fz) -> the Y rotation turning it to +Z: cosine, sine, and its quaternion's w and y
    (their qbetween(facing, +Z) = (1 + fz, 0, -fx, 0) normalized, so w >= 0)."""
    n = np.sqrt((1.0 + fz) ** 2 + fx * fx)
    return fz, -fx, (1.0 + fz) / n, -fx / n


def _facing(P: np.ndarray, r_hip: int, l_hip: int, r_sdr: int, l_sdr: int) -> tuple[np.ndarray, np.ndarray]:
    """(3, ..., 22) positions -> (fx, fz): Y x unit((P[r_hip] - P[l_hip]) + (P[r_sdr] - P[l_sdr])) (its y is 0)."""
    across = (P[..., r_hip] - P[..., l_hip]) + (P[..., r_sdr] - P[..., l_sdr])
    across = across / np.sqrt((across * across).sum(0))
    return across[2], -across[0]


def _gaussian_kernel() -> np.ndarray:
    r = int(SMOOTH_TRUNCATE * SMOOTH_SIGMA + 0.5)
    w = np.exp(-0.5 * (np.arange(-r, r + 1) / SMOOTH_SIGMA) ** 2)
    return w / w.sum()


_KERNEL = _gaussian_kernel()


def _smooth(x: np.ndarray) -> np.ndarray:
    """Gaussian filter along axis 0 of (T, C), edge values repeated (= scipy's gaussian_filter1d(mode='nearest'))."""
    r = len(_KERNEL) // 2
    padded = np.concatenate([np.repeat(x[:1], r, axis=0), x, np.repeat(x[-1:], r, axis=0)])
    return np.stack([np.convolve(padded[:, c], _KERNEL, mode="valid") for c in range(x.shape[1])], axis=1)


# -- the representation ------------------------------------------------------------------------------------------

def _check(joints) -> np.ndarray:
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3) or len(p) < 2:
        raise ValueError(f"HumanML3D features need joints of shape (T >= 2, 22, 3); got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("HumanML3D features: joints contain NaN or inf")
    return p


def _canonical(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 22, 3) joints -> (3, T, 22) "global positions" and (3, T, 21) unit bone directions (bone k ends at
    joint k + 1): retargeted (directions kept, target lengths, root path scaled by the target / source right-leg
    length of frame 0), floor at y = 0, frame 0's root at x = z = 0, frame 0 facing +Z."""
    P = np.ascontiguousarray(_check(joints).transpose(2, 0, 1))
    bones = P[:, :, 1:] - P[:, :, PARENTS[1:]]
    length = np.sqrt((bones * bones).sum(0))
    dirs = bones / length
    scale = TARGET_LENGTHS[list(LEG_JOINTS)].sum() / length[0, [j - 1 for j in LEG_JOINTS]].sum()
    G = (dirs * TARGET_LENGTHS[1:]) @ _PATH.T
    G += scale * P[:, :, :1]
    G[1] -= G[1].min()
    G[0] -= G[0, 0, 0]
    G[2] -= G[2, 0, 0]
    fx, fz = _facing(G[:, 0], *FACE_JOINTS)
    n = np.hypot(fx, fz)
    c, s, _, _ = _to_z(fx / n, fz / n)
    G[0], G[2] = _yrot(c, s, G[0], G[2])
    dirs[0], dirs[2] = _yrot(c, s, dirs[0], dirs[2])
    return G, dirs


def foot_contacts(g: np.ndarray) -> np.ndarray:
    """(T, 22, 3) global positions -> (T-1, 4) float32 contacts of joints 7, 10, 8, 11 (their rule)."""
    g = np.asarray(g)
    feet = list(FEET_LEFT + FEET_RIGHT)
    d = g[1:, feet] - g[:-1, feet]
    return ((d * d).sum(-1) < CONTACT_THRESHOLD).astype(np.float32)


_NOT_START = np.array([j for j in range(1, NUM_JOINTS) if _LOCAL_PARENT[j] > 0]) - 1  # bone indices
_START = np.array([j for j in range(1, NUM_JOINTS) if _LOCAL_PARENT[j] < 0]) - 1
_PARENT_BONE = _LOCAL_PARENT[_NOT_START + 1] - 1


def features(joints: np.ndarray) -> np.ndarray:
    """HumanML3D's motion representation: (T, 22, 3) joints (metres, Y-up, 20 fps) -> (T-1, 263) float32."""
    G, (vx, vy, vz) = _canonical(joints)
    gx, gy, gz = G
    T = G.shape[1]
    out = np.empty((T - 1, NUM_FEATURES), dtype=np.float32)
    # heading per frame: the IK's facing (hips reversed), Gaussian-smoothed over time
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    fx, fz = _smooth(np.stack(_facing(G, l_hip, r_hip, r_sdr, l_sdr), axis=1)).T
    n = np.hypot(fx, fz)
    c, s, hw, hy = _to_z(fx / n, fz / n)
    # their inverse_kinematics_np sets frame 0's root rotation to identity (common/skeleton.py), and every frame-0
    # column that uses the heading follows it: angular velocity, ric, local velocities, the chain starts' 6D
    c[0], s[0], hw[0], hy[0] = 1.0, 0.0, 1.0, 0.0
    # inverse kinematics: shortest arc (their qbetween) from each bone's rest direction u to its direction v ...
    # (float32 from here to the 6D columns: rotations of unit vectors, ~1e-7, like the reference's float32)
    vx, vy, vz = (v.astype(np.float32) for v in (vx, vy, vz))
    ux, uy, uz = REST_DIRECTIONS[1:].T.astype(np.float32)
    qw = 1.0 + (ux * vx + uy * vy + uz * vz)
    qx, qy, qz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
    inv = 1.0 / np.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    qw, qx, qy, qz = qw * inv, qx * inv, qy * inv, qz * inv
    # ... made local to the parent bone's arc (the heading for each chain's first joint): conj(parent) * arc
    pw, px, py, pz = (np.empty_like(qw) for _ in range(4))
    for p, q in ((pw, qw), (px, qx), (py, qy), (pz, qz)):
        p[:, _NOT_START] = q[:, _PARENT_BONE]
    pw[:, _START], px[:, _START], py[:, _START], pz[:, _START] = hw[:, None], 0, hy[:, None], 0
    w = pw * qw + px * qx + py * qy + pz * qz
    x = pw * qx - px * qw - py * qz + pz * qy
    y = pw * qy + px * qz - py * qw - pz * qx
    z = pw * qz - px * qy + py * qx - pz * qw
    # continuous 6D: the local rotation matrix's first column, then its second
    k = np.float32(2.0) / (w * w + x * x + y * y + z * z)
    xk, yk, zk, wk = x * k, y * k, z * k, w * k
    r6 = out[:, 67:193].reshape(T - 1, NUM_JOINTS - 1, 6)
    for i, v in enumerate((1 - (y * yk + z * zk), x * yk + z * wk, x * zk - y * wk,
                           x * yk - z * wk, 1 - (x * xk + z * zk), y * zk + x * wk)):
        r6[:, :, i] = v[:-1]
    # root: angular velocity (y of r[t+1] * conj(r[t])), linear velocity in the next frame's heading, height
    out[:, 0] = np.arcsin(np.clip(hy[1:] * hw[:-1] - hw[1:] * hy[:-1], -1.0, 1.0))
    out[:, 1], out[:, 2] = _yrot(c[1:], s[1:], gx[1:, 0] - gx[:-1, 0], gz[1:, 0] - gz[:-1, 0])
    out[:, 3] = gy[:-1, 0]
    # root-relative positions in the heading frame
    ric = out[:, 4:67].reshape(T - 1, NUM_JOINTS - 1, 3)
    cc, ss = c[:-1, None], s[:-1, None]
    ric[:, :, 0], ric[:, :, 2] = _yrot(cc, ss, gx[:-1, 1:] - gx[:-1, :1], gz[:-1, 1:] - gz[:-1, :1])
    ric[:, :, 1] = gy[:-1, 1:]
    # joint velocities in the current frame's heading
    vel = out[:, 193:259].reshape(T - 1, NUM_JOINTS, 3)
    vel[:, :, 0], vel[:, :, 2] = _yrot(cc, ss, gx[1:] - gx[:-1], gz[1:] - gz[:-1])
    vel[:, :, 1] = gy[1:] - gy[:-1]
    feet = list(FEET_LEFT + FEET_RIGHT)
    d = G[:, 1:, feet] - G[:, :-1, feet]
    out[:, 259:263] = (d * d).sum(0) < CONTACT_THRESHOLD
    return out


def recover_joints(feats: np.ndarray) -> np.ndarray:
    """(N, 263) features -> (N, 22, 3) float64 joints (their `recover_from_ric`; `new_joints` files are float32: root path integrated from the
    velocities, heading from the integrated angular velocity, joints from the root-relative positions)."""
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != NUM_FEATURES:
        raise ValueError(f"HumanML3D features must have shape (N, 263); got {f.shape}")
    n = len(f)
    ang = np.concatenate([[0.0], np.cumsum(f[:-1, 0])])  # half-angle of the heading quaternion (cos a, 0, sin a, 0)
    c, s = np.cos(2 * ang), -np.sin(2 * ang)  # its inverse, as a rotation about Y
    sx, sz = np.zeros(n), np.zeros(n)
    sx[1:], sz[1:] = f[:-1, 1], f[:-1, 2]
    sx, sz = _yrot(c, s, sx, sz)
    out = np.empty((n, NUM_JOINTS, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = np.cumsum(sx), f[:, 3], np.cumsum(sz)
    ric = f[:, 4:67].reshape(n, NUM_JOINTS - 1, 3)
    x, z = _yrot(c[:, None], s[:, None], ric[:, :, 0], ric[:, :, 2])
    out[:, 1:, 0], out[:, 1:, 1], out[:, 1:, 2] = x + out[:, :1, 0], ric[:, :, 1], z + out[:, :1, 2]
    return out


def mirror(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) Y-up joints -> their mirror image (x negated, left and right joints swapped), for `M` clips."""
    m = np.asarray(joints)[:, MIRROR].copy()
    m[..., 0] *= -1
    return m


def from_amass(joints: np.ndarray) -> np.ndarray:
    """AMASS Z-up joints (..., 3) -> HumanML3D's Y-up frame: (x, y, z) -> (-x, z, y)."""
    j = np.asarray(joints)
    return np.stack([-j[..., 0], j[..., 2], j[..., 1]], axis=-1)


def group_std(std: np.ndarray) -> np.ndarray:
    """(263,) per-feature std -> their Std.npy: each feature group's std replaced by the group's mean."""
    out = np.array(std, dtype=np.float64, copy=True)
    for a, b in GROUPS:
        out[a:b] = out[a:b].mean()
    return out


# -- the exporter: HumanML3D's folder layout for a split definition ------------------------------------------------

#: split name -> HumanML3D's list file stem (others keep their own name)
SPLIT_FILES = {"train": "train", "validation": "val", "val": "val", "test": "test"}
_SIDES = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


RECIPES = ("default", "official")


@dataclass
class Options:
    mirror: bool = field(default=False, metadata={"help": "humanml3d: also write mirrored M<id> clips (true/false)"})
    recipe: str = field(default="default", metadata={"help": "humanml3d: default (the split rows, store frames at 20 fps) "
                        "| official (HumanML3D's own dataset id for id, from --humanml3d-dir; no --sql; needs a store "
                        "built with --resample none)"})
    humanml3d_dir: str = field(default="", metadata={"help": "humanml3d --recipe official: a clone of "
                               "EricGuo5513/HumanML3D (index.csv, HumanML3D/ lists and texts.zip or texts/)"})
    humanact12: str = field(default="", metadata={"help": "humanml3d --recipe official: the extracted "
                            "pose_data/humanact12/ joint files (without it those ids are reported, not written)"})
    with_params: bool = field(default=False, metadata={"help": "humanml3d --recipe official: also write "
                              "HumanML3D/params/<id>.npz (SMPL+H poses, trans, betas, gender, source frames)"})
    body_models: str = field(default="", metadata={"help": "body model root (protomotions: bodies the store lacks; "
                             "humanml3d official: the SMPL+H male/female models); default: the store's info.json"})

    def validate(self, where: str) -> None:
        if self.recipe not in RECIPES:
            raise ConfigError(f"{where}.recipe must be one of {', '.join(RECIPES)}; got {self.recipe!r}")
        if self.recipe == "official" and not self.humanml3d_dir:
            raise ConfigError(f"{where}: --recipe official needs --humanml3d-dir (a clone of EricGuo5513/HumanML3D)")
        extra = [n for n in ("humanml3d_dir", "humanact12", "with_params") if getattr(self, n)]
        if self.recipe != "official" and extra:
            raise ConfigError(f"{where}: {', '.join('--' + n.replace('_', '-') for n in extra)} only go with --recipe official")


@register
class HumanML3DExporter(Exporter):
    """HumanML3D's layout (EricGuo5513/HumanML3D) for every row of a split definition, ids 000000, 000001, ...:

        new_joints/<id>.npy      (T-1, 22, 3) float32  joints recovered from the features (their recover_from_ric)
        new_joint_vecs/<id>.npy  (T-1, 263) float32    `features` of the row's joints at 20 fps, Y-up (-x, z, y)
        Mean.npy, Std.npy        (263,) float32        over the train split's clips (std averaged per feature group)
        texts/<id>.txt           caption#tokens#start#end lines, when the store has HumanML3D captions for the row
                                 (or the row has a text); tokens word/POS as the imported texts had them (word/OTHER
                                 for texts without: no POS tagger here); captions covering the clip are #0.0#0.0
        train.txt val.txt test.txt all.txt            ids per split (M ids too with --mirror true)
        index.csv                new_name, seq_id, split, start_t, end_t (seconds, store clock), frames, mirrored
        humanml3d.json           how Mean/Std were computed, frame, fps, skipped rows

    Joints are the store's first 22 (SMPL body order), resampled to 20 fps by linear interpolation on the store
    clock unless the export rate already is 20 fps. Mirrored `M<id>` clips swap left and right and negate x.
    """

    name = "humanml3d"
    units = (SLICE_UNIT,)
    columns = (FRM.joints,)
    Options = Options
    summary = "HumanML3D new_joint_vecs/ (263-dim), new_joints/, Mean/Std, texts/, split lists, index.csv"
    load = "Text2MotionDataset(opt, np.load('OUT/official/humanml3d/Mean.npy'), np.load('.../Std.npy'), 'OUT/official/humanml3d/train.txt', w_vectorizer)"

    def export(self, ctx, out: Path) -> Path:
        opts: Options = ctx.options
        if opts.recipe == "official":
            raise ConfigError("humanml3d --recipe official takes its clips and splits from the clone, not from a split "
                              "definition: run `amass-arrow export STORE --kind humanml3d --recipe official "
                              "--humanml3d-dir CLONE --out OUT` (no --sql, not in build-splits)")
        pick = _body22(ctx.store.info.joint_names)
        to_hml = _frame_converter(ctx.store.info.frame)
        captions = _captions(ctx.con)
        for d in ("new_joints", "new_joint_vecs", "texts"):
            (out / d).mkdir(parents=True, exist_ok=True)
        lists: dict[str, list[str]] = {}
        index, skipped = [], []
        train, train_clips = None, 0
        n = 0
        for split in ctx.split_names():
            ids = lists.setdefault(SPLIT_FILES.get(split, split), [])
            for s in ctx.slices(split):
                j = s.feats[FRM.joints].reshape(len(s), -1, 3)[:, pick]
                j = _to_20fps(to_hml(j.astype(np.float64)), np.asarray(s.t, np.float64), ctx.fps)
                if len(j) < 2:
                    skipped.append({SPL.seq_id: s.seq_id, SPL.row_id: int(s.row[SPL.row_id]), "reason": f"{len(j)} frame(s) at 20 fps"})
                    continue
                caps = captions.get(s.seq_id, [])
                span = _span(s, ctx.store.info.fps)
                name = f"{n:06d}"
                n += 1
                clips = [(name, j, False)] + ([("M" + name, mirror(j), True)] if opts.mirror else [])
                for cid, joints, mirrored in clips:
                    f = features(joints)
                    np.save(out / "new_joint_vecs" / f"{cid}.npy", f)
                    np.save(out / "new_joints" / f"{cid}.npy", recover_joints(f).astype(np.float32))
                    lines = _caption_lines(caps, span, s.row.get(SPL.text), mirrored)
                    if lines:
                        (out / "texts" / f"{cid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
                    ids.append(cid)
                    index.append((cid, s.seq_id, split, *span, len(f), mirrored))
                    if split == "train":
                        st = RunningStats.of(f)
                        train = st if train is None else train.merge(st)
                        train_clips += 1
        self._write_lists(out, lists, index)
        meta = {"fps": FPS, "frame": "HumanML3D Y-up: (x, y, z)_AMASS -> (-x, z, y)", "num_joints": NUM_JOINTS,
                "clips": len(index), "mirror": bool(opts.mirror), "skipped": skipped,
                "feature_groups": {k: list(v) for k, v in zip(
                    ("root_rot_vel", "root_lin_vel_xz", "root_y", "ric", "rot6d", "local_vel", "foot_contact"), GROUPS)}}
        if train is not None:
            np.save(out / "Mean.npy", train.mean.astype(np.float32))
            np.save(out / "Std.npy", group_std(train.std).astype(np.float32))
            meta["mean_std"] = {"split": "train", "clips": train_clips, "frames": int(train.count),
                                "recipe": "per-feature mean; population std averaged within each feature group "
                                          "(their cal_mean_variance), float64 accumulation saved as float32"}
        else:
            meta["mean_std"] = None  # no train rows: no Mean.npy / Std.npy
        (out / "humanml3d.json").write_text(json.dumps(meta, indent=1))
        return out

    @staticmethod
    def _write_lists(out: Path, lists: dict[str, list[str]], index: list[tuple]) -> None:
        for stem, ids in lists.items():
            (out / f"{stem}.txt").write_text("".join(i + "\n" for i in ids))
        (out / "all.txt").write_text("".join(r[0] + "\n" for r in index))
        with open(out / "index.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["new_name", SPL.seq_id, SPL.split, SPL.start_t, SPL.end_t, "frames", "mirrored"])
            for cid, sid, split, a, b, frames, m in index:
                w.writerow([cid, sid, split, f"{a:.6f}", f"{b:.6f}", frames, int(m)])


def _body22(joint_names: list[str]) -> list[int]:
    """Indices of SMPL's 22 body joints in the store's joint set."""
    want = SKELETONS["smpl"][0][:NUM_JOINTS]
    missing = [n for n in want if n not in joint_names]
    if missing:
        raise ConfigError(f"humanml3d export needs the 22 SMPL body joints; the store's joint set lacks {missing}")
    return [joint_names.index(n) for n in want]


def _frame_converter(frame: str):
    """Store frame -> HumanML3D's: z_up (AMASS) (x, y, z) -> (-x, z, y); y_up (x, z, -y) -> (-x, y, -z)."""
    if frame == "z_up":
        return from_amass
    if frame == "y_up":
        return lambda j: j * np.array([-1.0, 1.0, -1.0])
    raise ConfigError(f"humanml3d export: unknown store frame {frame!r}")


def _to_20fps(j: np.ndarray, t: np.ndarray, fps: float | None) -> np.ndarray:
    """(T, 22, 3) joints at times t (seconds) -> joints at 20 fps from t[0] (linear interpolation), unless already."""
    if fps is not None and abs(fps - FPS) < 1e-6:
        return j
    return at_20fps(j, t)  # the same resampling as the metrics' ground truth (motion.paper_metrics)


def _captions(con) -> dict[str, list[tuple[float, float, str, bool, str | None]]]:
    """seq_id -> [(start_t, end_t, caption, mirrored, tokens)] of the store's HumanML3D captions ({} without labels;
    tokens None in label tables imported before they were kept)."""
    cur = con.cursor()
    try:
        if not cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'labels'").fetchone()[0]:
            return {}
        has_tokens = cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'labels' "
                                 f"AND column_name = '{LAB.tokens}'").fetchone()[0]
        rows = cur.execute(
            f"SELECT seq_id, start_t, end_t, text, list_contains(flags, 'mirrored'), "
            f"{LAB.tokens if has_tokens else 'NULL'} FROM labels "
            "WHERE source = 'humanml3d' AND text IS NOT NULL "
            f"AND seq_id IN (SELECT DISTINCT seq_id FROM {EXPORT_ROWS}) "
            "ORDER BY seq_id, start_t, end_t, text").fetchall()
    finally:
        cur.close()
    out: dict[str, list] = {}
    for sid, a, b, text, m, tok in rows:
        out.setdefault(sid, []).append((float(a), float(b), str(text), bool(m), tok or None))
    return out


def _swap_sides(text: str) -> str:
    return re.sub(r"\b(left|right|Left|Right|LEFT|RIGHT)\b", lambda m: _SIDES[m.group(0)], text)


def _tokens(text: str) -> str:
    return " ".join(f"{w}/OTHER" for w in re.findall(r"[a-z0-9']+", text.lower()))


def _span(s, store_fps: float | None) -> tuple[float, float]:
    """A slice's [start_t, end_t) in store seconds: the row's bounds, else its first frame to one frame past its last."""
    a, b = s.row.get(SPL.start_t), s.row.get(SPL.end_t)
    fps = s.row.get(SPL.store_fps) or store_fps
    a = float(s.t[0]) if a is None else float(a)
    b = (float(s.t[-1]) + (1.0 / fps if fps else 0.0)) if b is None else float(b)
    return a, b


#: a caption that covers a clip but for at most this much at either end is the whole clip: written 0.0#0.0, as
#: HumanML3D does, not as a sub-clip of nearly all of it (their whole-file clips, end_frame -1, stop up to two 20 fps
#: frames before the file's end: the dropped last frame plus the stride's remainder)
WHOLE_TOLERANCE = 2.0 / FPS + 1e-6


def _caption_lines(caps, span: tuple[float, float], row_text: str | None, mirrored: bool) -> list[str]:
    """caption#tokens#start#end lines for a clip covering `span` (store seconds): 0.0#0.0 = the whole clip.

    caps: (start_t, end_t, caption, mirrored, tokens) of the store's captions; their tokens (word/POS) are written as
    the source had them, else word/OTHER. `row_text` (the split row's text, if any) is a whole-clip caption. A
    mirrored clip takes the store's mirrored captions when there are any, else the others with left/right swapped.
    Captions covering the clip (within WHOLE_TOLERANCE) are 0.0#0.0; only true sub-segments carry times."""
    a, b = span
    own = [c for c in caps if c[3] == mirrored]
    if mirrored and not own:
        own = [(s, e, _swap_sides(t), True, tok and _swap_sides(tok)) for s, e, t, m, tok in caps if not m]
    known = {t: tok for _s, _e, t, _m, tok in own if tok}
    out, seen = [], set()
    if row_text:
        text = _swap_sides(row_text) if mirrored else row_text
        out.append(f"{text}#{known.get(text) or _tokens(text)}#0.0#0.0")
        seen.add((text, 0.0, 0.0))
    for s, e, text, _m, tok in own:
        if e <= a or s >= b:
            continue
        whole = s <= a + WHOLE_TOLERANCE and e >= b - WHOLE_TOLERANCE
        rs, re_ = (0.0, 0.0) if whole else (max(s, a) - a, min(e, b) - a)
        key = (text, round(rs, 3), round(re_, 3))
        if key not in seen:
            seen.add(key)
            times = "0.0#0.0" if whole else f"{rs:.3f}#{re_:.3f}"
            out.append(f"{text}#{tok or _tokens(text)}#{times}")
    return out
