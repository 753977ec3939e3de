"""HumanML3D's 263-dim motion representation, as pure vectorized numpy (parity with EricGuo5513/HumanML3D).

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
   facing crosses the start's backward direction -- as in the shipped data.
6. Joint rotations: the shortest-arc rotation from each bone's rest direction to its posed direction, made
   local to its parent's (joints 1, 2, 3 and the collars 13, 14 are made local to the heading).

`recover_joints` is the reference's `recover_from_ric` (how `new_joints` are made from the features).
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 22
NUM_FEATURES = 263
FPS = 20.0

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
CONTACT_THRESHOLD = 0.002  # m^2: squared displacement per 20 fps frame
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


# -- vectors (3, ...) and quaternions (4, ...: w, x, y, z), component-major: x, y, z = v are contiguous views --

def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az = a
    bx, by, bz = b
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx])


def _norm(v: np.ndarray) -> np.ndarray:
    x, y, z = v
    return np.sqrt(x * x + y * y + z * z)


def _qbetween(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction a to direction b, (3, ...) -> (4, ...), w >= 0 (theirs, normalized)."""
    w = _norm(a) * _norm(b) + (a * b).sum(0)
    q = np.concatenate([w[None], _cross(a, b)])
    return q / np.sqrt((q * q).sum(0))


def _qmul_conj(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """conj(a) * b for (4, ...) quaternions."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.stack([aw * bw + ax * bx + ay * by + az * bz, aw * bx - ax * bw - ay * bz + az * by,
                     aw * by + ax * bz - ay * bw - az * bx, aw * bz - ax * by + ay * bx - az * bw])


def _cont6d(q: np.ndarray) -> np.ndarray:
    """(4, ...) quaternions -> (6, ...): the rotation matrix's first column, then its second."""
    w, x, y, z = q
    s = 2.0 / (w * w + x * x + y * y + z * z)
    xs, ys, zs = x * s, y * s, z * s
    return np.stack([1 - (y * ys + z * zs), x * ys + z * w * s, x * zs - w * ys,
                     x * ys - z * w * s, 1 - (x * xs + z * zs), y * zs + w * xs])


def _yrot(c, s, v: np.ndarray) -> np.ndarray:
    """Rotate (3, ...) vectors about +Y by the angle with cosine c and sine s (broadcast): x' = c x + s z."""
    x, y, z = v
    return np.stack([c * x + s * z, np.broadcast_to(y, np.broadcast_shapes(np.shape(c), y.shape)), c * z - s * x])


def _facing(across: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3, ...) across vectors -> (fx, fz) of the facing Y x across (its y is 0), not normalized."""
    return across[2], -across[0]


def _to_z(fx, fz):
    """Unit facing (fx, 0, fz) -> the Y rotation turning it to +Z: cosine, sine, and its quaternion's w and y
    (their qbetween(facing, +Z): w = 1 + fz, y = -fx, normalized, so w >= 0)."""
    n = np.sqrt((1.0 + fz) ** 2 + fx * fx)
    return fz, -fx, (1.0 + fz) / n, -fx / n


def _smooth(x: np.ndarray) -> np.ndarray:
    """Gaussian filter along axis 0 of (T, C), edge values repeated (= scipy's gaussian_filter1d(mode='nearest'))."""
    r = int(SMOOTH_TRUNCATE * SMOOTH_SIGMA + 0.5)
    k = np.arange(-r, r + 1)
    w = np.exp(-0.5 * (k / SMOOTH_SIGMA) ** 2)
    w /= w.sum()
    padded = np.pad(x, ((r, r), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], w, mode="valid") for c in range(x.shape[1])], axis=1)


# -- the representation ------------------------------------------------------------------------------------------

def _check(joints) -> np.ndarray:
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3) or len(p) < 2:
        raise ValueError(f"HumanML3D features need joints of shape (T >= 2, 22, 3); got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("HumanML3D features: joints contain NaN or inf")
    return p


def _unit_bones(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3, T, 22) positions -> unit bone directions (3, T, 21) and lengths (T, 21); bone k ends at joint k + 1."""
    bones = P[:, :, 1:] - P[:, :, PARENTS[1:]]
    length = _norm(bones)
    return bones / length, length


def _canonical(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) joints -> (3, T, 22) "global positions": retargeted (bone directions kept, target lengths, root
    path scaled by the target / source right-leg length of frame 0), floor at y = 0, frame 0's root at x = z = 0,
    frame 0 facing +Z."""
    p = _check(joints)
    P = np.ascontiguousarray(p.transpose(2, 0, 1))
    dirs, length = _unit_bones(P)
    scale = TARGET_LENGTHS[list(LEG_JOINTS)].sum() / length[0, [j - 1 for j in LEG_JOINTS]].sum()
    P = scale * P[:, :, :1] + (dirs * TARGET_LENGTHS[1:]) @ _PATH.T
    P[1] -= P[1].min()
    P[0] -= P[0, 0, 0]
    P[2] -= P[2, 0, 0]
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = (P[:, 0, r_hip] - P[:, 0, l_hip]) + (P[:, 0, r_sdr] - P[:, 0, l_sdr])
    fx, fz = _facing(across / _norm(across))
    n = np.hypot(fx, fz)
    c, s, _, _ = _to_z(fx / n, fz / n)
    return _yrot(c, s, P)


def foot_contacts(g: np.ndarray) -> np.ndarray:
    """(T, 22, 3) global positions -> (T-1, 4) float32 contacts of joints 7, 10, 8, 11 (their rule)."""
    g = np.asarray(g)
    feet = list(FEET_LEFT + FEET_RIGHT)
    d = g[1:, feet] - g[:-1, feet]
    return ((d * d).sum(-1) < CONTACT_THRESHOLD).astype(np.float32)


def features(joints: np.ndarray) -> np.ndarray:
    """HumanML3D's motion representation: (T, 22, 3) joints (metres, Y-up, 20 fps) -> (T-1, 263) float32."""
    P = _canonical(joints)
    T = P.shape[1]
    # heading per frame: the IK's facing (hips reversed), Gaussian-smoothed over time
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = (P[:, :, l_hip] - P[:, :, r_hip]) + (P[:, :, r_sdr] - P[:, :, l_sdr])
    fx, fz = _smooth(np.stack(_facing(across / _norm(across)), axis=1)).T
    n = np.hypot(fx, fz)
    c, s, hw, hy = _to_z(fx / n, fz / n)
    # inverse kinematics: shortest arc from each bone's rest direction to its posed direction, local to the parent's
    dirs, _ = _unit_bones(P)
    arcs = np.empty((4, T, NUM_JOINTS))
    arcs[:, :, 1:] = _qbetween(REST_DIRECTIONS[1:].T[:, None, :], dirs)
    arcs[:, :, 0] = np.stack([hw, 0.0 * hw, hy, 0.0 * hw])  # stands in as the parent of each chain's first joint
    rot6d = _cont6d(_qmul_conj(arcs[:, :, np.maximum(_LOCAL_PARENT[1:], 0)], arcs[:, :, 1:]))  # (6, T, 21)
    # root-relative positions and velocities in the heading frame
    ric = P.copy()
    ric[0] -= P[0, :, :1]
    ric[2] -= P[2, :, :1]
    ric = _yrot(c[:, None], s[:, None], ric)
    vel = _yrot(c[:-1, None], s[:-1, None], P[:, 1:] - P[:, :-1])  # (3, T-1, 22)
    root_step = P[:, 1:, 0] - P[:, :-1, 0]
    out = np.empty((T - 1, NUM_FEATURES), dtype=np.float32)
    out[:, 0] = np.arcsin(np.clip(hy[1:] * hw[:-1] - hw[1:] * hy[:-1], -1.0, 1.0))  # y of r[t+1] * conj(r[t])
    out[:, 1] = c[1:] * root_step[0] + s[1:] * root_step[2]
    out[:, 2] = c[1:] * root_step[2] - s[1:] * root_step[0]
    out[:, 3] = P[1, :-1, 0]
    out[:, 4:67] = ric[:, :-1, 1:].transpose(1, 2, 0).reshape(T - 1, -1)
    out[:, 67:193] = rot6d[:, :-1].transpose(1, 2, 0).reshape(T - 1, -1)
    out[:, 193:259] = vel.transpose(1, 2, 0).reshape(T - 1, -1)
    feet = list(FEET_LEFT + FEET_RIGHT)
    d = P[:, 1:, feet] - P[:, :-1, feet]
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
    step = np.zeros((3, n))
    step[0, 1:], step[2, 1:] = f[:-1, 1], f[:-1, 2]
    root = np.cumsum(_yrot(c, s, step), axis=1)
    root[1] = f[:, 3]
    out = np.empty((n, NUM_JOINTS, 3))
    out[:, 0] = root.T
    ric = _yrot(c[:, None], s[:, None], f[:, 4:67].reshape(n, NUM_JOINTS - 1, 3).transpose(2, 0, 1))
    ric[0] += root[0, :, None]
    ric[2] += root[2, :, None]
    out[:, 1:] = ric.transpose(1, 2, 0)
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
