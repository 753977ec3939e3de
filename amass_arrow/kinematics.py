"""Batched forward kinematics: pure numpy functions, no I/O (the production path; smplx is the reference).

Shapes: T frames, J joints. Rotations are axis-angle in radians; positions in metres.
"""

from __future__ import annotations

import numpy as np


def rodrigues(aa: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3); exact at zero angle."""
    aa = np.asarray(aa)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)  # (..., 1)
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    k = aa / safe
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    K = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(aa.shape[:-1] + (3, 3))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.eye(3, dtype=aa.dtype)
    R = eye + s * K + (1.0 - c) * (K @ K)
    return np.where(small[..., None], eye + _skew(aa), R).astype(aa.dtype, copy=False)


def _skew(v: np.ndarray) -> np.ndarray:
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = np.zeros_like(x)
    return np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(v.shape[:-1] + (3, 3))


def forward_kinematics(
    pose: np.ndarray, rest_joints: np.ndarray, parents: np.ndarray | list[int], trans: np.ndarray | None = None
) -> np.ndarray:
    """Posed joint positions, like smplx's `joints[:, :J]`.

    pose: (T, J, 3) axis-angle per joint (joint 0 = global root orientation).
    rest_joints: (J, 3) rest-pose joint positions for the sequence's betas (J_regressor @ shaped verts).
    parents: (J,) parent index per joint, -1 for the root; parents[j] < j.
    trans: (T, 3) root translation, added to every joint.
    Returns (T, J, 3) in the input float dtype.
    """
    pose = np.asarray(pose)
    dtype = pose.dtype if pose.dtype in (np.float32, np.float64) else np.float64
    R = rodrigues(pose.astype(dtype, copy=False))  # (T, J, 3, 3)
    rest = np.asarray(rest_joints, dtype=dtype)
    T, J = pose.shape[:2]
    rot = np.empty_like(R)
    pos = np.empty((T, J, 3), dtype=dtype)
    rot[:, 0] = R[:, 0]
    pos[:, 0] = rest[0]
    for j in range(1, J):
        p = parents[j]
        offset = rest[j] - rest[p]  # (3,)
        pos[:, j] = pos[:, p] + rot[:, p] @ offset
        rot[:, j] = rot[:, p] @ R[:, j]
    if trans is not None:
        pos += np.asarray(trans, dtype=dtype)[:, None, :]
    return pos


Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_frame(points: np.ndarray, frame: str) -> np.ndarray:
    """Convert (..., 3) AMASS Z-up points to `frame` ('z_up' or 'y_up': x, z, -y)."""
    if frame == "z_up":
        return points
    if frame == "y_up":
        return (points @ Z_UP_TO_Y_UP.T.astype(points.dtype)).astype(points.dtype, copy=False)
    raise ValueError(f"unknown coordinate frame {frame!r}; use 'z_up' or 'y_up'")
