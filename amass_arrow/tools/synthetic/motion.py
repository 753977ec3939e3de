"""Synthetic human motions with ground-truth foot contacts: walk, run, stand, jump, turn.

Joint angles are designed per gait phase (legs swing in the sagittal plane, feet kept level), joint
positions come from `amass_arrow.motion.kinematics.forward_kinematics` on the subject's own rest joints, and
`trans` is solved so the supporting foot's toe joint stays fixed on the floor (z = 0 is the sole of
the lowest foot). Output follows AMASS conventions: Z-up world, root_orient includes the +90 deg
rotation about x that stands a Y-up model up, radians, metres, float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amass_arrow.motion.bodymodel import BodyModel
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.schema import SKELETONS

KINDS = ("walk", "run", "stand", "jump", "turn")
GRAVITY = 9.81  # m/s^2
_NAMES = SKELETONS["smpl"][0][:22]
_PARENTS = np.array(SKELETONS["smpl"][1][:22])
_J = {n: i for i, n in enumerate(_NAMES)}
TOES = (_J["left_foot"], _J["right_foot"])  # SMPL's 'foot' joints sit at the toe base
ANKLES = (_J["left_ankle"], _J["right_ankle"])


@dataclass
class SyntheticMotion:
    """One generated motion at `fps`: (T, 3) root_orient, (T, 63) pose_body, (T, 3) trans, (T, 2) contacts."""

    kind: str
    fps: float
    root_orient: np.ndarray  # (T, 3) float32 axis-angle, AMASS Z-up
    pose_body: np.ndarray  # (T, 63) float32
    trans: np.ndarray  # (T, 3) float32 metres
    contacts: np.ndarray  # (T, 2) bool: left, right foot planted

    @property
    def num_frames(self) -> int:
        return int(self.trans.shape[0])


def _rx(a):
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(np.shape(a) + (3, 3))


def _ry(a):
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(np.shape(a) + (3, 3))


def _rz(a):
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(np.shape(a) + (3, 3))


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3), robust up to pi (via quaternions)."""
    m = R
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    q = np.stack([
        np.sqrt(np.maximum(0.0, 1 + tr)) / 2,
        np.sqrt(np.maximum(0.0, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2])) / 2,
        np.sqrt(np.maximum(0.0, 1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2])) / 2,
        np.sqrt(np.maximum(0.0, 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2])) / 2,
    ], -1)
    q[..., 1] = np.copysign(q[..., 1], m[..., 2, 1] - m[..., 1, 2])
    q[..., 2] = np.copysign(q[..., 2], m[..., 0, 2] - m[..., 2, 0])
    q[..., 3] = np.copysign(q[..., 3], m[..., 1, 0] - m[..., 0, 1])
    v = q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2 * np.arctan2(n, q[..., :1])
    return np.where(n > 1e-12, v / np.maximum(n, 1e-12) * angle, 2 * v)


def _leg_angles(phase: np.ndarray, stance: float, amp: float, knee_stance: float, knee_swing: float):
    """Hip (world pitch) and knee angles of one leg; stance is phase in [0, stance): hip -amp -> +amp linearly."""
    hip = np.empty_like(phase)
    knee = np.empty_like(phase)
    st = phase < stance
    s = phase[st] / stance
    hip[st] = -amp + 2 * amp * s
    knee[st] = knee_stance * np.sin(np.pi * s)
    s = (phase[~st] - stance) / (1 - stance)
    hip[~st] = amp * np.cos(np.pi * s)
    knee[~st] = knee_swing * np.sin(np.pi * s)
    return hip, knee, st


def make_motion(kind: str, body_model: BodyModel, betas: np.ndarray, *, fps: float, seconds: float,
                seed: int = 0) -> SyntheticMotion:
    """Generate `seconds` of motion `kind` at `fps` for the subject (body model + betas); deterministic per seed."""
    if kind not in KINDS:
        raise ValueError(f"unknown motion kind {kind!r}; use one of {KINDS}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    T = max(2, int(round(seconds * fps)))
    t = np.arange(T) / fps
    rest = body_model.rest_joints(betas)[:22]
    sole = body_model.rest_vertices(betas)[:, 1].min()
    toe_clear = float(rest[TOES[0], 1] - sole)  # toe joint height above the floor when the foot is flat

    zeros = np.zeros(T)
    heading = np.full(T, rng.uniform(-np.pi, np.pi))
    lean = zeros.copy()
    hips, knees = [zeros.copy(), zeros.copy()], [zeros.copy(), zeros.copy()]
    support = np.zeros((T, 2), dtype=bool)
    arm_swing = [zeros.copy(), zeros.copy()]
    elbow = np.full(T, 0.2)
    spine_yaw = zeros.copy()
    spine_roll = 0.03 * np.sin(2 * np.pi * t / rng.uniform(3.0, 5.0))
    neck_yaw = 0.15 * np.sin(2 * np.pi * t / rng.uniform(4.0, 7.0) + rng.uniform(0, 6))

    if kind in ("walk", "turn", "run"):
        run = kind == "run"
        period = rng.uniform(0.64, 0.74) if run else rng.uniform(1.0, 1.2)
        amp = rng.uniform(0.40, 0.48) if run else rng.uniform(0.30, 0.38)
        stance = 0.35 if run else 0.5
        # start with the first leg in stance: a gait that began in flight would have no previous
        # frame to continue ballistically from (the pelvis would start on the floor)
        phase0 = rng.uniform(0, stance)
        lean[:] = 0.15 if run else 0.04
        elbow[:] = 1.3 if run else 0.3
        for side in (0, 1):
            phase = (t / period + phase0 + 0.5 * side) % 1.0
            hips[side], knees[side], support[:, side] = _leg_angles(
                phase, stance, amp, 0.25 if run else 0.12, 1.5 if run else 0.95)
        arm_swing = [0.8 * hips[0], 0.8 * hips[1]]
        spine_yaw = 0.15 * (hips[0] - hips[1])
        if kind == "turn":
            rate = rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.6)  # rad/s
            heading = heading + rate * t
    elif kind == "stand":
        bob = 0.06 * (1 - np.cos(2 * np.pi * t / rng.uniform(2.5, 4.0)))
        hips = [-bob, -bob]
        knees = [2 * bob, 2 * bob]
        support[:] = True
        spine_yaw = 0.1 * np.sin(2 * np.pi * t / rng.uniform(5.0, 8.0))
        arm_swing = [0.1 * np.sin(2 * np.pi * t / 3.1), 0.1 * np.sin(2 * np.pi * t / 3.7)]
    else:  # jump: stand, crouch, take off, fly, land, absorb, stand; repeated every `cycle` seconds
        cycle = rng.uniform(2.2, 2.6)
        u = (t % cycle) / cycle
        flight = (u >= 0.45) & (u < 0.60)
        crouch = np.interp(u, [0, 0.2, 0.38, 0.45, 0.6, 0.7, 0.85, 1.0], [0, 0, 1, 0, 0, 0.8, 0, 0])
        crouch = np.where(flight, 0.15 * np.sin(np.pi * (u - 0.45) / 0.15), crouch)  # small tuck in the air
        hips = [-0.9 * crouch, -0.9 * crouch]
        knees = [1.6 * crouch, 1.6 * crouch]
        lean[:] = 0.35 * crouch
        support[:] = ~flight[:, None]
        arm_swing = [-1.2 * np.interp(u, [0, 0.3, 0.4, 0.5, 0.7, 1], [0, 0.3, -0.4, 0.9, 0, 0])] * 2

    # per-joint local rotations (model frame: x = left, y = up, z = forward)
    R = np.tile(np.eye(3), (T, 22, 1, 1))
    R[:, 0] = _rz(heading) @ _rx(np.full(T, np.pi / 2)) @ _rx(lean)
    for side, (hip, knee, ankle) in enumerate(
        [("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")]
    ):
        leg = rest[_J[ankle]] - rest[_J[hip]]
        beta = np.arctan2(-leg[2], -leg[1])  # rest leg's tilt: swing symmetrically about the vertical
        h = hips[side] - beta - lean  # hips are given in world pitch; the pelvis is leaning
        R[:, _J[hip]] = _rx(h)
        R[:, _J[knee]] = _rx(knees[side])
        R[:, _J[ankle]] = _rx(-(lean + h + knees[side]))  # foot level with the floor
    R[:, _J["spine1"]] = _ry(spine_yaw / 2) @ _rz(spine_roll)
    R[:, _J["spine2"]] = _ry(spine_yaw / 2)
    R[:, _J["spine3"]] = _rx(-lean / 2)
    R[:, _J["neck"]] = _ry(neck_yaw)
    R[:, _J["head"]] = _rx(-lean / 2)
    R[:, _J["left_shoulder"]] = _rx(arm_swing[0]) @ _rz(np.full(T, -1.25))
    R[:, _J["right_shoulder"]] = _rx(arm_swing[1]) @ _rz(np.full(T, 1.25))
    R[:, _J["left_elbow"]] = _ry(-elbow)
    R[:, _J["right_elbow"]] = _ry(elbow)
    pose = matrix_to_rotvec(R)  # (T, 22, 3)
    rel = forward_kinematics(pose, rest, _PARENTS)  # (T, 22, 3) without trans

    trans = _solve_trans(rel, support, toe_clear, fps)
    return SyntheticMotion(
        kind=kind,
        fps=float(fps),
        root_orient=pose[:, 0].astype(np.float32),
        pose_body=pose[:, 1:22].reshape(T, 63).astype(np.float32),
        trans=trans.astype(np.float32),
        contacts=support,
    )


def _solve_trans(rel: np.ndarray, support: np.ndarray, toe_clear: float, fps: float) -> np.ndarray:
    """(T, 3) translation keeping the supporting foot's toe fixed at height `toe_clear`; ballistic in flight."""
    T = rel.shape[0]
    toes = rel[:, list(TOES)]  # (T, 2, 3)
    trans = np.zeros((T, 3))
    anchor = None  # (foot, world toe position)
    i = 0
    while i < T:
        feet = np.flatnonzero(support[i])
        if feet.size:
            foot = int(feet[0]) if anchor is None or anchor[0] not in feet else anchor[0]
            if anchor is None or anchor[0] != foot:
                if i >= 2:
                    guess = 2 * trans[i - 1] - trans[i - 2]
                elif i == 1:
                    guess = trans[0]
                else:
                    guess = np.array([0.0, 0.0, toe_clear - toes[0, foot, 2]])
                pos = guess + toes[i, foot]
                pos[2] = toe_clear
                anchor = (foot, pos)
            trans[i] = anchor[1] - toes[i, anchor[0]]
            i += 1
            continue
        # flight: frames i..j-1 unsupported; land at frame j on the first foot that touches down
        j = i
        while j < T and not support[j].any():
            j += 1
        dt = 1.0 / fps
        p0 = trans[i - 1] if i >= 1 else np.array([0.0, 0.0, 0.0])
        v0 = (trans[i - 1] - trans[i - 2]) / dt if i >= 2 else np.zeros(3)
        tau = np.arange(1, j - i + 2) * dt  # frames i..j
        D = tau[-1]
        land = j if j < T else T - 1
        foot = int(np.flatnonzero(support[land])[0]) if support[land].any() else 0
        z1 = toe_clear - toes[land, foot, 2]
        vz = (z1 - p0[2] + 0.5 * GRAVITY * D**2) / D
        seg = np.empty((len(tau), 3))
        seg[:, :2] = p0[:2] + v0[:2] * tau[:, None]
        seg[:, 2] = p0[2] + vz * tau - 0.5 * GRAVITY * tau**2
        n = min(j, T) - i
        trans[i: i + n] = seg[:n]
        if j < T:
            pos = seg[-1] + toes[j, foot]
            pos[2] = toe_clear
            anchor = (foot, pos)
        i = j
    # start each motion near the origin (like AMASS captures): shift horizontally only
    trans[:, :2] -= trans[0, :2]
    return trans
