"""Batched forward kinematics: pure numpy functions, no I/O (the production path; smplx is the reference).

Shapes: T frames, J joints. Rotations are axis-angle in radians; positions in metres.

The FK loop works on component-major arrays: every rotation-matrix entry and every coordinate is
a contiguous (T,) vector, so composing a joint is ~60 elementwise ops over frames instead of a
stack of (T, 3, 3) matmuls, and leaf joints (no child in `parents`) skip rodrigues and the
composition entirely (only their position is needed).
"""

from __future__ import annotations

import numpy as np

from . import kernels

_SMALL = 1e-6  # radians: below this, sin(t)/t = 1 and (1 - cos t)/t^2 = 1/2 to float64 rounding (t^2/6 < 2e-13)


def _rodrigues_entries(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
    """Axis-angle components (each (...,) radians) -> the 9 entries R00, R01, ..., R22, same shape and dtype.

    R = cos(t) I + sin(t)/t [v]x + (1 - cos(t))/t^2 v v^T, with the half-angle forms
    sin(t) = 2 sin(t/2) cos(t/2), 1 - cos(t) = 2 sin(t/2)^2 (no cancellation at small angles).
    """
    t = np.sqrt(x * x + y * y + z * z)
    h = 0.5 * t
    sh, ch = np.sin(h), np.cos(h)
    small = t < _SMALL
    any_small = bool(small.any())
    if any_small:
        t = np.where(small, 1.0, t).astype(x.dtype, copy=False)
    a = 2.0 * sh * ch / t  # sin(t)/t
    b = 2.0 * sh * sh / (t * t)  # (1 - cos t)/t^2
    c = 1.0 - 2.0 * sh * sh  # cos t
    if any_small:
        a[small] = 1.0
        b[small] = 0.5
    bx, by, bz = b * x, b * y, b * z
    ax, ay, az = a * x, a * y, a * z
    bxy, bxz, byz = bx * y, bx * z, by * z
    return [
        c + bx * x, bxy - az, bxz + ay,
        bxy + az, c + by * y, byz - ax,
        bxz - ay, byz + ax, c + bz * z,
    ]


def rodrigues(aa: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3) in the input float dtype; exact at zero angle."""
    aa = np.asarray(aa)
    if aa.dtype not in (np.float32, np.float64):
        aa = aa.astype(np.float64)
    flat = aa.reshape(-1, 3)
    e = _rodrigues_entries(flat[:, 0], flat[:, 1], flat[:, 2])
    return np.stack(e, axis=-1).reshape(aa.shape[:-1] + (3, 3))


def forward_kinematics(
    pose: np.ndarray,
    rest_joints: np.ndarray,
    parents: np.ndarray | list[int],
    trans: np.ndarray | None = None,
    out_dtype=None,
    jit: bool | None = None,
    select: list[int] | None = None,
) -> np.ndarray:
    """Posed joint positions, like smplx's `joints[:, :J]`.

    pose: (T, J, 3) axis-angle per joint (joint 0 = global root orientation); float32 input is
    posed in float32 (~1e-6 m on a 1 m body), anything else in float64.
    rest_joints: (J, 3) rest-pose joint positions for the sequence's betas (J_regressor @ shaped verts).
    parents: (J,) parent index per joint, -1 for the root; parents[j] < j.
    trans: (T, 3) root translation, added to every joint in `out_dtype` (so a float32 body far
    from the origin keeps float64 placement when out_dtype is float64).
    select: the joints to return (indices into J), default all: (T, len(select), 3); the kernel writes
    only those.
    Returns (T, J, 3) in `out_dtype` (default: the compute dtype).
    jit: use the compiled kernel (amass_arrow.motion.kernels, float64 throughout); None = when numba is
    installed. This numpy code is the reference; both agree within 1e-6 m (tests/motion/test_kernels.py).
    """
    if kernels.enabled() if jit is None else jit:
        pose = np.asarray(pose)
        dt = np.float32 if pose.dtype == np.float32 else np.float64
        return kernels.forward_kinematics(pose, rest_joints, parents, trans, dt if out_dtype is None else out_dtype,
                                          select=select)
    pose = np.asarray(pose)
    dtype = np.float32 if pose.dtype == np.float32 else np.float64
    out_dtype = np.dtype(dtype if out_dtype is None else out_dtype)
    parents = [int(p) for p in parents]
    rest = np.asarray(rest_joints, np.float64)
    P = _relative_positions(pose, rest, parents, dtype)
    out = P.transpose(2, 0, 1).astype(out_dtype)  # (T, J, 3)
    out += rest[0].astype(out_dtype)
    if trans is not None:
        out += np.asarray(trans, out_dtype)[:, None, :]
    return out if select is None else out[:, select]


def _relative_positions(pose: np.ndarray, rest: np.ndarray, parents: list[int], dtype) -> np.ndarray:
    """(J, 3, T) joint positions relative to the root joint, component-major, in `dtype`.

    pose: (T, J, 3) axis-angle; rest: (J, 3) float64 rest joints; parents[j] < j. Global rotations are
    composed only for joints with a child (`inner`); a leaf's rotation never moves a joint.
    """
    T, J = pose.shape[:2]
    has_child = [False] * J
    for j in range(1, J):
        has_child[parents[j]] = True
    inner = [j for j in range(J) if has_child[j]]
    # (3, J_inner, T) component-major axis-angle of the joints whose rotation matters
    comp = np.ascontiguousarray(np.asarray(pose[:, inner], dtype).transpose(2, 1, 0))
    Rl = np.stack(_rodrigues_entries(comp[0], comp[1], comp[2]))  # (9, J_inner, T) local rotations
    slot = {j: k for k, j in enumerate(inner)}
    # global rotations G[j]: (9, T); relative positions P: (J, 3, T) with the root at 0
    G: dict[int, np.ndarray] = {}
    P = np.empty((J, 3, T), dtype)
    P[0] = 0.0
    if J and has_child[0]:
        G[0] = Rl[:, slot[0]]
    tmp = np.empty(T, dtype)
    for j in range(1, J):
        p = parents[j]
        _place(P[j], P[p], G[p], (rest[j] - rest[p]).astype(dtype), tmp)
        if has_child[j]:
            G[j] = _compose(G[p], Rl[:, slot[j]].reshape(3, 3, T), dtype)
    return P


def _place(out: np.ndarray, parent: np.ndarray, g: np.ndarray, offset: np.ndarray, tmp: np.ndarray) -> None:
    """out (3, T) = parent (3, T) + g @ offset: a child's position from its parent's position and global
    rotation g (9, T, row-major entries) applied to the rest offset (3,); `tmp` (T,) is scratch."""
    for r in range(3):
        d = out[r]
        np.multiply(g[3 * r], offset[0], out=d)
        np.multiply(g[3 * r + 1], offset[1], out=tmp)
        d += tmp
        np.multiply(g[3 * r + 2], offset[2], out=tmp)
        d += tmp
        d += parent[r]


def _compose(g: np.ndarray, L: np.ndarray, dtype) -> np.ndarray:
    """G[p] @ R[j] row by row: g (9, T) parent global rotation, L (3, 3, T) local rotation -> (9, T)."""
    T = L.shape[-1]
    gj = np.empty((3, 3, T), dtype)
    t3 = np.empty((3, T), dtype)
    for r in range(3):
        np.multiply(L[0], g[3 * r], out=gj[r])
        np.multiply(L[1], g[3 * r + 1], out=t3)
        gj[r] += t3
        np.multiply(L[2], g[3 * r + 2], out=t3)
        gj[r] += t3
    return gj.reshape(9, T)


Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_frame(points: np.ndarray, frame: str) -> np.ndarray:
    """Convert (..., 3) AMASS Z-up points to `frame` ('z_up' or 'y_up': x, z, -y)."""
    if frame == "z_up":
        return points
    if frame == "y_up":
        return (points @ Z_UP_TO_Y_UP.T.astype(points.dtype)).astype(points.dtype, copy=False)
    raise ValueError(f"unknown coordinate frame {frame!r}; use 'z_up' or 'y_up'")


def global_rotations(pose: np.ndarray, parents: np.ndarray | list[int]) -> np.ndarray:
    """FK of rotations only: (T, J, 3) axis-angle local rotations -> (T, J, 3, 3) global rotations, float64.

    G[0] = R(pose[0]) (the root orientation); G[j] = G[parents[j]] @ R(pose[j]); parents[j] < j.
    G[j] maps joint j's rest (model) frame to the world frame the root orientation is expressed in.
    """
    pose = np.asarray(pose, np.float64)
    R = rodrigues(pose)
    G = np.empty_like(R)
    for j, p in enumerate(int(p) for p in parents):
        G[:, j] = R[:, j] if p < 0 else G[:, p] @ R[:, j]
    return G
