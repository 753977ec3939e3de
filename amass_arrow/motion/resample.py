"""Frame-rate conversion of a Sequence: real timestamps, slerp for rotations, lerp for the rest.

Pure numpy, vectorized over frames (no Python loop per frame). Times are seconds from the first
frame; rotations are axis-angle in radians; translations in metres.

Two modes besides 'none':

- 'interpolate': sample the sequence on the grid 0, 1/dst, 2/dst, ... (see `target_times`),
  quaternion slerp between the two bracketing source frames for every pose block, linear
  interpolation for `trans` and `dmpls`. The result has exactly `dst_fps`.
- 'decimate': the ProtoMotions rule, offered for parity with its datasets: the output rate is
  the smallest divisor of round(source fps) that is >= the target; keep every k-th source frame
  (k = round(source fps) / that divisor). 120->30 (k=4), 100->50 (k=2), 250->50 (k=5),
  59.99->30 (k=2). The true resulting rate is source fps / k (59.99/2 = 29.995 Hz), and that is
  what the returned Sequence carries, so its timestamps stay true seconds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from amass_arrow.schema import FRM
from amass_arrow.source.sequence import Sequence

from . import kernels

MODES = ("interpolate", "decimate", "none")
_GRID_EPS = 1e-6  # frames: tolerance for "the last sample falls on the grid"

# Sequence fields (named as their frame columns) interpolated with slerp (axis-angle blocks) and with lerp.
_ROTATION_FIELDS = (FRM.root_orient, FRM.pose_body, FRM.pose_hand, FRM.pose_jaw, FRM.pose_eye, FRM.pose_smpl_hands)
_LINEAR_FIELDS = (FRM.trans, "dmpls")  # dmpls: a Sequence field the store does not keep


def target_times(num_frames: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """Sample times (N,) float64 seconds of a `num_frames`-frame sequence resampled to `dst_fps`.

    last = (num_frames - 1) / src_fps, the time of the last source frame (not the sequence's duration,
    which is num_frames / src_fps, schema.duration_seconds); the grid is k / dst_fps for k = 0 .. N-1 with
    N = floor(last * dst_fps + 1e-6) + 1: every grid point inside [0, last], plus the last one if it
    misses `last` by less than 1e-6 of an output frame (float noise), in which case it is clamped to
    exactly `last`. Empty input gives an empty grid.
    """
    if num_frames <= 0:
        return np.zeros(0, np.float64)
    last = (num_frames - 1) / float(src_fps)
    n = int(math.floor(last * float(dst_fps) + _GRID_EPS)) + 1
    t = np.arange(n, dtype=np.float64) / float(dst_fps)
    return np.minimum(t, last)


def source_times(num_frames: int, fps: float) -> np.ndarray:
    """Timestamps (T,) float64 seconds of frames 0..T-1 at `fps`."""
    return np.arange(num_frames, dtype=np.float64) / float(fps)


_SNAP = 1e-9  # fraction of a source interval: weights this close to 0 or 1 are taken as exact frames


def _bracket(src_times: np.ndarray, dst_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each dst time: index i of the source frame at or before it and weight w in [0, 1] of frame i+1.

    Requires len(src_times) >= 2 and increasing src_times; dst times outside the range are clamped.
    Weights within 1e-9 of 0 or 1 are snapped to exactly 0 or 1: k/30 and 4k/120 s differ in the
    last bit, and a time that is a source frame must copy that frame (see `slerp_axis_angle`).
    """
    src = np.asarray(src_times, np.float64)
    dst = np.asarray(dst_times, np.float64)
    i = np.clip(np.searchsorted(src, dst, side="right") - 1, 0, len(src) - 2)
    w = np.clip((dst - src[i]) / (src[i + 1] - src[i]), 0.0, 1.0)
    w[w < _SNAP] = 0.0
    w[w > 1.0 - _SNAP] = 1.0
    return i, w


def _exact_rows(i: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split output rows into (rows on a source frame, that frame's index, rows to interpolate)."""
    on = (w == 0.0) | (w == 1.0)
    rows = np.flatnonzero(on)
    return rows, i[rows] + (w[rows] == 1.0), np.flatnonzero(~on)


def lerp(x: np.ndarray, src_times: np.ndarray, dst_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, D) samples at `src_times` (s) to (N, D) at `dst_times` (s); keeps dtype."""
    x = np.asarray(x)
    if x.shape[0] == 1:
        return np.repeat(x, len(dst_times), axis=0)
    i, w = _bracket(src_times, dst_times)
    rows, frames, rest = _exact_rows(i, w)
    out = np.empty((len(w),) + x.shape[1:], dtype=x.dtype)
    out[rows] = x[frames]
    if len(rest):
        ir = i[rest]
        wr = w[rest].reshape((-1,) + (1,) * (x.ndim - 1))
        out[rest] = (1.0 - wr) * x[ir].astype(np.float64) + wr * x[ir + 1].astype(np.float64)
    return out


def aa_to_quat(aa: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) radians -> unit quaternions (..., 4) as (w, x, y, z), float64."""
    aa = np.asarray(aa, np.float64)
    theta = np.sqrt(np.einsum("...i,...i->...", aa, aa))[..., None]
    half = 0.5 * theta
    # sin(theta/2)/theta, with its Taylor series near zero (patched in place: usually no such rows)
    small = theta < 1e-6
    if small.any():
        scale = np.sin(half) / np.where(small, 1.0, theta)
        scale[small] = 0.5 - theta[small] ** 2 / 48.0
    else:
        scale = np.sin(half) / theta
    q = np.empty(aa.shape[:-1] + (4,))
    np.cos(half, out=q[..., :1])
    np.multiply(aa, scale, out=q[..., 1:])
    return q


def quat_to_aa(q: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Unit quaternions (..., 4) (w, x, y, z) -> axis-angle (..., 3) radians, float64.

    Without `reference` the angle is in [0, pi]. With a `reference` (..., 3) axis-angle, the
    result is the equivalent axis-angle (angle + 2*pi*n along the same axis) closest to it, so
    sources whose angles exceed pi (e.g. a root that has spun around) keep their representation.
    """
    q = np.array(q, np.float64)
    neg = q[..., 0] < 0
    if neg.any():
        q[neg] *= -1.0  # w >= 0: angle in [0, pi]
    v = q[..., 1:]
    s = np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]
    theta = 2.0 * np.arctan2(s, q[..., :1])
    small = s < 1e-8
    any_small = bool(small.any())
    axis = v / (np.where(small, 1.0, s) if any_small else s)
    # theta/sin(theta/2) -> 2 + theta^2/12 near zero; here v ~ axis*theta/2
    if reference is None:
        aa = axis * theta
        if any_small:
            rows = small[..., 0]
            aa[rows] = v[rows] * 2.0
        return aa
    ref = np.broadcast_to(np.asarray(reference, np.float64), v.shape)
    if any_small:
        rn = np.sqrt(np.einsum("...i,...i->...", ref, ref))[..., None]
        # near identity the axis is undefined: borrow the reference's direction
        borrow = (small & (rn > 1e-8))[..., 0]
        axis[borrow] = ref[borrow] / rn[borrow]
    proj = np.einsum("...i,...i->...", ref, axis)[..., None]
    n = np.round((proj - theta) / (2.0 * np.pi))
    out = axis * (theta + 2.0 * np.pi * n)
    if any_small:
        keep = (small & (n == 0))[..., 0]
        out[keep] = v[keep] * 2.0
    return out


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) (w, x, y, z), float64 (Shepperd's method)."""
    R = np.asarray(R, np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    # four candidate (unnormalized) quaternions; pick the numerically largest per rotation
    cands = np.stack(
        [
            np.stack([1 + tr, R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1),
            np.stack([R[..., 2, 1] - R[..., 1, 2], 1 + m00 - m11 - m22, R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0]], -1),
            np.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], 1 - m00 + m11 - m22, R[..., 1, 2] + R[..., 2, 1]], -1),
            np.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        axis=-2,
    )  # (..., 4, 4)
    pick = np.argmax(np.stack([tr, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cands, pick[..., None, None], axis=-2)[..., 0, :]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


SLERP_CHUNK = 8192  # output frames interpolated at once


def slerp_axis_angle(aa: np.ndarray, src_times: np.ndarray, dst_times: np.ndarray, jit: bool | None = None) -> np.ndarray:
    """Quaternion slerp of axis-angle rotations sampled at `src_times` (s) to `dst_times` (s).

    aa: (T, K, 3) or (T, 3K) radians; returns the same layout with N = len(dst_times) frames and the
    input dtype. Interpolates along the shortest arc between the bracketing source frames
    (antipodal quaternions are flipped; identical ones are copied). Output frames that fall exactly
    on a source frame reproduce it bit for bit; others are unwrapped toward the source
    representation (see `quat_to_aa`). jit: the compiled kernel (amass_arrow.motion.kernels) instead of
    `_slerp_rows`, the reference; None = when numba is installed.
    """
    aa = np.asarray(aa)
    T = aa.shape[0]
    if T == 1:
        return np.repeat(aa, len(dst_times), axis=0)
    i, w = _bracket(src_times, dst_times)
    out = np.empty((len(w),) + aa.shape[1:], dtype=aa.dtype)
    rows, frames, rest = _exact_rows(i, w)
    out[rows] = aa[frames]  # on a source frame: copy it (bit for bit; 120->30 fps is all copies)
    if len(rest) and (kernels.enabled() if jit is None else jit):
        kernels.slerp_rows(aa, i[rest], w[rest], rest, out)
        return out
    for s in range(0, len(rest), SLERP_CHUNK):  # chunks bound the float64 temporaries
        r = rest[s:s + SLERP_CHUNK]
        out[r] = _slerp_rows(aa, i[r], w[r]).reshape((-1,) + aa.shape[1:])
    return out


def _slerp_rows(aa: np.ndarray, i: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slerp between rows i and i+1 of `aa` with weights 0 < w < 1: (n, K, 3) float64."""
    # Gather the bracketing source frames first, then reshape: `aa` may be a column view of a long
    # `poses` array, and reshaping all T frames would copy it (an hour at 250 fps is 900k frames).
    a0 = aa[i].astype(np.float64).reshape(len(i), -1, 3)  # (N, K, 3)
    a1 = aa[i + 1].astype(np.float64).reshape(len(i), -1, 3)
    q0, q1 = aa_to_quat(a0), aa_to_quat(a1)  # (N, K, 4)
    dot = np.einsum("...i,...i->...", q0, q1)[..., None]
    flip = dot[..., 0] < 0
    if flip.any():  # shortest arc
        q1[flip] *= -1.0
        np.abs(dot, out=dot)
    omega = np.arccos(np.minimum(dot, 1.0))
    so = np.sin(omega)
    wk = w[:, None, None]
    near = so < 1e-6  # identical (or numerically so): lerp is exact enough
    if near.any():
        safe = np.where(near, 1.0, so)
        c0 = np.where(near, 1.0 - wk, np.sin((1.0 - wk) * omega) / safe)
        c1 = np.where(near, wk, np.sin(wk * omega) / safe)
    else:
        c0 = np.sin((1.0 - wk) * omega) / so
        c1 = np.sin(wk * omega) / so
    qi = c0 * q0
    qi += c1 * q1
    qi /= np.sqrt(np.einsum("...i,...i->...", qi, qi))[..., None]
    ref = (1.0 - wk) * a0 + wk * a1
    return quat_to_aa(qi, reference=ref)


def decimation(src_fps: float, dst_fps: float) -> tuple[int, float]:
    """ProtoMotions decimation: (k, nominal fps) with nominal = smallest divisor of round(src_fps) >= dst_fps.

    Keep every k-th frame, k = round(src_fps) / nominal. If no divisor reaches the target
    (target above the source rate) nothing is dropped: (1, round(src_fps)).
    """
    r = int(round(float(src_fps)))
    if r < 1:
        raise ValueError(f"source fps {src_fps!r} rounds to {r}; cannot decimate")
    for d in range(1, r + 1):
        if r % d == 0 and d >= dst_fps - 1e-9:
            return r // d, float(d)
    return 1, float(r)


def resample_sequence(seq: Sequence, dst_fps: float, mode: str = "interpolate") -> tuple[Sequence, float]:
    """Resample `seq` to `dst_fps` by `mode` ('interpolate' | 'decimate' | 'none').

    Returns (new Sequence whose `fps` is the actual resulting rate, that rate in Hz). 'none'
    returns `seq` itself. Other fields (betas, ids, provenance) are carried over unchanged.
    """
    if mode == "none":
        return seq, float(seq.fps)
    if mode == "decimate":
        k, _ = decimation(seq.fps, dst_fps)
        fps = float(seq.fps) / k
        if k == 1:
            return seq, fps
        changes = {f: _take(getattr(seq, f), slice(None, None, k)) for f in _ROTATION_FIELDS + _LINEAR_FIELDS}
        return dataclasses.replace(seq, fps=fps, **changes), fps
    if mode != "interpolate":
        raise ValueError(f"unknown resample mode {mode!r}; use one of {', '.join(MODES)}")
    dst_fps = float(dst_fps)
    if float(seq.fps) == dst_fps or seq.num_frames == 0:
        return dataclasses.replace(seq, fps=dst_fps), dst_fps
    src_t = source_times(seq.num_frames, seq.fps)
    dst_t = target_times(seq.num_frames, seq.fps, dst_fps)
    changes = {}
    for f in _ROTATION_FIELDS:
        a = getattr(seq, f)
        changes[f] = None if a is None else slerp_axis_angle(a, src_t, dst_t)
    for f in _LINEAR_FIELDS:
        a = getattr(seq, f)
        changes[f] = None if a is None else lerp(a, src_t, dst_t)
    return dataclasses.replace(seq, fps=dst_fps, **changes), dst_fps


def _take(a: np.ndarray | None, idx) -> np.ndarray | None:
    return None if a is None else np.ascontiguousarray(a[idx])
