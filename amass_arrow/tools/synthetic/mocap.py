"""A mocap-like synthetic archive: the scripted feet of synthetic.feet, posed on a body by leg IK, as AMASS files.

Each take of `feet.make_take` (heel strike, toe roll, push-off, jitter, wobble, drift, stairs, ...)
drives a full body: the pelvis follows the feet (heading = the feet's mean heading, height kept
within reach of both ankles, lowered for sitting and crouches), each leg is solved in closed form
(two-bone IK: hip and knee rotations put the ankle joint exactly on its measured position, the knee
bending towards the foot's heading; the ankle rotation points the foot at the measured toe), the
arms hang and swing a little. So FK of the written parameters gives back the measured feet (to float
rounding wherever the ankle is within reach), and the take's ground truth (per-joint contacts, local
floor) holds for the file.

Files: SMPL+H G `<name>_poses.npz` and SMPL-X `<name>_stageii.npz` (AMASS keys, Z-up), at the take's
rate; `y_up=True` writes the same motion rotated into a Y-up world (root_orient and trans changed
as an exporter that forgot AMASS's convention would), which a reader cannot tell from the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amass_arrow.motion.bodymodel import BodyModel, BodyModelRegistry
from amass_arrow.motion.kinematics import Z_UP_TO_Y_UP
from amass_arrow.schema import NPZ, NPZ_SHAPE_FILE, SKELETONS

from .bodymodels import NOTICE, make_body_model_arrays
from .feet import FootGeometry, FootTake, make_take
from .motion import _rx, _ry, _rz, matrix_to_rotvec

_NAMES = SKELETONS["smpl"][0][:22]
_PARENTS = np.array(SKELETONS["smpl"][1][:22])
_J = {n: i for i, n in enumerate(_NAMES)}
LEGS = ((_J["left_hip"], _J["left_knee"], _J["left_ankle"], _J["left_foot"]),
        (_J["right_hip"], _J["right_knee"], _J["right_ankle"], _J["right_foot"]))
REACH = 0.985  # the pelvis is kept low enough that each hip-ankle distance <= REACH * leg length


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal frames with columns e1 = primary, e2 = secondary made orthogonal, e3 = e1 x e2."""
    e1 = primary / np.linalg.norm(primary, axis=-1, keepdims=True)
    s = secondary - np.sum(secondary * e1, -1, keepdims=True) * e1
    e2 = s / np.linalg.norm(s, axis=-1, keepdims=True)
    return np.stack([e1, e2, np.cross(e1, e2)], -1)


def _align(rest_primary, rest_secondary, primary, secondary) -> np.ndarray:
    """(T, 3, 3) rotations mapping the rest frame (primary, secondary) onto the target frame."""
    F0 = _frame(np.asarray(rest_primary, float)[None], np.asarray(rest_secondary, float)[None])
    return _frame(primary, secondary) @ np.swapaxes(F0, -1, -2)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over n frames along axis 0, edges padded with the end values."""
    if n <= 1:
        return x
    pad = n // 2
    xp = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], n - 1 - pad, 0)], 0)
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), xp], 0), 0)
    return (c[n:] - c[:-n]) / n


@dataclass
class Posed:
    """Body parameters of one take: (T, 3) root_orient, (T, 63) pose_body, (T, 3) trans, AMASS Z-up."""

    root_orient: np.ndarray
    pose_body: np.ndarray
    trans: np.ndarray
    unreachable: int  # ankle targets out of the leg's reach (clamped): 0 when the design holds


def pose_take(take: FootTake, model: BodyModel, betas: np.ndarray) -> Posed:
    """Full-body parameters whose FK puts the ankles and toes where `take.joints` has them.

    model: a BodyModel (its first 22 joints are SMPL's body joints); betas: the subject's shape.
    """
    rest = np.asarray(model.rest_joints(betas), np.float64)[:22]
    T = take.num_frames
    fps = take.fps
    feet = take.joints  # (T, 4, 3): left/right ankle, left/right toe
    ankles, toes = feet[:, :2], feet[:, 2:]
    clean = take.clean[:, :2]
    # body heading: mean foot heading, smoothed; pelvis over the ankles' midpoint
    h = take.heading
    body_phi = np.unwrap(np.angle(np.exp(1j * h[:, 0]) + np.exp(1j * h[:, 1])))
    n = max(1, int(round(0.25 * fps)))
    body_phi = _smooth(body_phi, n)
    fwd = np.stack([np.cos(body_phi), np.sin(body_phi), np.zeros(T)], -1)
    drop = take.pelvis_drop
    mid = _smooth(clean.mean(axis=1), n)
    pelvis = mid - (0.35 * drop / 0.42)[:, None] * fwd  # sitting moves the pelvis back over the seat
    pelvis[:, :2] += take.drift[:, :2]
    sole = float(np.asarray(model.rest_vertices(betas))[:, 1].min()) if hasattr(model, "rest_vertices") else \
        float(model.sole_height(betas))
    stand = rest[0, 1] - sole  # pelvis height above the sole, standing straight
    floor_mid = _smooth(np.min(clean[..., 2], axis=1), n) - (rest[LEGS[0][2], 1] - sole)
    z = floor_mid + 0.96 * stand - drop
    # root rotation: heading, then AMASS's stand-up rotation about x
    root = _rz(body_phi - np.pi / 2) @ _rx(np.full(T, np.pi / 2))
    # keep each ankle within reach
    Ls = []
    for side, (hip, knee, ank, _) in enumerate(LEGS):
        l1 = np.linalg.norm(rest[knee] - rest[hip])
        l2 = np.linalg.norm(rest[ank] - rest[knee])
        Ls.append((l1, l2))
        off = np.einsum("tij,j->ti", root, rest[hip] - rest[0])
        dxy = np.linalg.norm(pelvis[:, :2] + off[:, :2] - ankles[:, side, :2], axis=-1)
        reach = REACH * (l1 + l2)
        top = ankles[:, side, 2] + np.sqrt(np.maximum(reach**2 - dxy**2, 0.0)) - off[:, 2]
        z = np.minimum(z, top)
    pelvis[:, 2] = z + take.drift[:, 2]
    G = np.tile(np.eye(3), (T, 22, 1, 1))  # world rotations
    G[:, 0] = root
    # spine and head follow the pelvis; arms hang (about the model's z) and swing a little
    t = np.arange(T) / fps
    for j in ("spine1", "spine2", "spine3", "neck", "head"):
        G[:, _J[j]] = root
    swing = 0.25 * np.sin(2 * np.pi * 0.9 * t)
    for side, (sh, el, wr, sign) in enumerate([("left_shoulder", "left_elbow", "left_wrist", -1.0),
                                               ("right_shoulder", "right_elbow", "right_wrist", 1.0)]):
        arm = root @ _rz(np.full(T, sign * 1.25)) @ _rx(swing * (1 if side else -1))
        G[:, _J[sh]] = arm
        G[:, _J[el]] = arm @ _ry(np.full(T, -sign * 0.3))
        G[:, _J[wr]] = G[:, _J[el]]
    for j in ("left_collar", "right_collar"):
        G[:, _J[j]] = root
    unreachable = 0
    x_model = np.array([1.0, 0.0, 0.0])
    for side, (hip, knee, ank, toe) in enumerate(LEGS):
        l1, l2 = Ls[side]
        H = pelvis + np.einsum("tij,j->ti", root, rest[hip] - rest[0])
        A = ankles[:, side]
        d_vec = A - H
        d = np.linalg.norm(d_vec, axis=-1)
        far = d > (l1 + l2) * 0.9999
        unreachable += int(far.sum())
        d = np.minimum(d, (l1 + l2) * 0.9999)
        u = d_vec / np.linalg.norm(d_vec, axis=-1, keepdims=True)
        foot_fwd = np.stack([np.cos(h[:, side]), np.sin(h[:, side]), np.zeros(T)], -1)
        pole = foot_fwd + 0.5 * fwd
        nrm = pole - np.sum(pole * u, -1, keepdims=True) * u
        nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
        cos_a = np.clip((l1**2 + d**2 - l2**2) / (2 * l1 * d), -1.0, 1.0)
        K = H + l1 * (cos_a[:, None] * u + np.sqrt(1 - cos_a**2)[:, None] * nrm)
        A_hit = H + d[:, None] * u
        lat = np.cross(nrm, u)  # the leg's bend axis: the model's +x (left) in the rest pose
        G[:, hip] = _align(rest[knee] - rest[hip], x_model, K - H, lat)
        G[:, knee] = _align(rest[ank] - rest[knee], x_model, A_hit - K, lat)
        foot_left = np.stack([-np.sin(h[:, side]), np.cos(h[:, side]), np.zeros(T)], -1)
        G[:, ank] = _align(rest[toe] - rest[ank], x_model, toes[:, side] - A_hit, foot_left)
        G[:, toe] = G[:, ank]
    local = np.empty_like(G)
    local[:, 0] = G[:, 0]
    for j in range(1, 22):
        local[:, j] = np.swapaxes(G[:, _PARENTS[j]], -1, -2) @ G[:, j]
    pose = matrix_to_rotvec(local)  # (T, 22, 3)
    trans = pelvis - rest[0]
    return Posed(pose[:, 0].astype(np.float32), pose[:, 1:].reshape(T, 63).astype(np.float32), trans, unreachable)


def to_y_up(root_orient: np.ndarray, trans: np.ndarray, pelvis_rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same body in a Y-up world: R' = M R, trans' = M (trans + p0) - p0 (M = kinematics.Z_UP_TO_Y_UP)."""
    from amass_arrow.motion.kinematics import rodrigues

    M = Z_UP_TO_Y_UP
    R = M @ rodrigues(np.asarray(root_orient, np.float64))
    p0 = np.asarray(pelvis_rest, np.float64)
    return matrix_to_rotvec(R).astype(np.float32), (np.asarray(trans, np.float64) + p0) @ M.T - p0


@dataclass
class MocapFile:
    """Ground truth of one written file: the take (source-rate feet, contacts, floor) and how it was written."""

    path: Path
    rel_path: str
    seq_id: str
    surface_model: str  # smplh | smplx
    gender: str
    fps: float
    up: str  # z_up | y_up: the world the file's root_orient/trans live in
    take: FootTake
    unreachable: int

    @property
    def kind(self) -> str:
        return self.take.kind


DATASET = "MocapLike"
SUBJECTS = (("m1", "smplh", "male"), ("f1", "smplx", "female"))


def make_mocap_archive(out_dir: str | Path, *, kinds=("walk", "run", "jump", "stairs"), rates=(60.0, 120.0),
                       seconds: float = 4.0, seed: int = 0, y_up: tuple[str, ...] = ("walk",),
                       body_models_dir: str | Path | None = None) -> list[MocapFile]:
    """Write `<out_dir>/MocapLike/<subject>/<kind>_<fps>_<k>_{poses,stageii}.npz` for each kind x rate x subject.

    Subject m1 is SMPL+H G male (`_poses.npz`), f1 SMPL-X female (`_stageii.npz`). Kinds in `y_up` get an
    extra Y-up copy per rate (file name ending `_2`). body_models_dir: the synthetic models the motions
    are posed with (make_body_models output); None builds the same synthetic models in memory.
    """
    out = Path(out_dir)
    registry = BodyModelRegistry(body_models_dir) if body_models_dir is not None else None
    rng = np.random.default_rng(seed)
    files: list[MocapFile] = []
    for s_i, (subject, surface, gender) in enumerate(SUBJECTS):
        betas = rng.normal(0.0, 0.8, 16)
        betas[10:] *= 0.3
        if registry is not None:
            model = registry.get(surface, gender)
        else:
            a = make_body_model_arrays(surface, gender, seed=seed)
            parents = a["kintree_table"][0].astype(np.int64)
            parents[0] = -1
            model = BodyModel(surface, gender, f"<synthetic {surface} {gender}>", a["v_template"], a["shapedirs"],
                              a["J_regressor"], parents)
        rest = np.asarray(model.rest_joints(betas))
        sole = float(np.asarray(model.rest_vertices(betas))[:, 1].min())
        geom = FootGeometry.from_rest(rest, sole, _J["left_ankle"], _J["left_foot"])
        sdir = out / DATASET / subject
        sdir.mkdir(parents=True, exist_ok=True)
        np.savez(sdir / NPZ_SHAPE_FILE, **{NPZ.betas: betas, NPZ.gender: np.array(gender)})
        for k_i, kind in enumerate(kinds):
            for fps in rates:
                take = make_take(kind, fps, seconds=seconds, seed=seed * 1000 + s_i * 100 + k_i, geom=geom)
                posed = pose_take(take, model, betas)
                for copy, up in enumerate(["z_up"] + (["y_up"] if kind in y_up else [])):
                    ro, tr = posed.root_orient, posed.trans
                    if up == "y_up":
                        ro, tr = to_y_up(ro, tr, rest[0])
                    name = f"{kind}_{fps:g}_{copy + 1}"
                    rel = _write(out, subject, name, surface, gender, betas, fps, ro, posed.pose_body, tr)
                    files.append(MocapFile(out / rel, rel, f"{DATASET}/{subject}/{name}", surface, gender, float(fps),
                                           up, take, posed.unreachable))
    return files


def _write(out: Path, subject: str, name: str, surface: str, gender: str, betas: np.ndarray, fps: float,
           root_orient: np.ndarray, pose_body: np.ndarray, trans: np.ndarray) -> str:
    T = root_orient.shape[0]
    hands = np.zeros((T, 90))
    if surface == "smplh":
        rel = f"{DATASET}/{subject}/{name}_poses.npz"
        arrays = {NPZ.poses: np.concatenate([root_orient, pose_body, hands], 1).astype(np.float64),
                  NPZ.trans: np.asarray(trans, np.float64), NPZ.betas: betas, NPZ.gender: np.array(gender),
                  NPZ.mocap_framerate: np.array(float(fps)), NPZ.dmpls: np.zeros((T, 8))}
    else:
        rel = f"{DATASET}/{subject}/{name}_stageii.npz"
        poses = np.concatenate([root_orient, pose_body, np.zeros((T, 9)), hands], 1).astype(np.float64)
        arrays = {NPZ.poses: poses, NPZ.root_orient: poses[:, :3], NPZ.pose_body: poses[:, 3:66],
                  NPZ.pose_jaw: poses[:, 66:69], NPZ.pose_eye: poses[:, 69:75], NPZ.pose_hand: poses[:, 75:],
                  NPZ.trans: np.asarray(trans, np.float64), NPZ.betas: betas, NPZ.num_betas: np.array(len(betas)),
                  NPZ.gender: np.array(gender), NPZ.surface_model_type: np.array("smplx"),
                  NPZ.mocap_frame_rate: np.array(float(fps)), NPZ.mocap_time_length: np.array((T - 1) / fps)}
    np.savez(out / rel, **arrays, __synthetic__=np.array(NOTICE))
    return rel
