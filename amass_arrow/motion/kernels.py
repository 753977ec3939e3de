"""Compiled (numba) kernels for the build's per-frame hot loops: forward kinematics and slerp.

The numpy functions they mirror (kinematics.forward_kinematics's numpy path, resample._slerp_rows)
stay the reference and the fallback: tests assert both agree within 1e-6 (m, rad). The kernels loop
over frames in float64 with no temporaries, so they also skip numpy's per-call overhead on short
sequences. Installed with the extra `amass-arrow[fast]` (numba); without numba, or with
AMASS_ARROW_JIT=0 in the environment, `ENABLED` is False and every caller takes the numpy path.
The compiled loops live in `jitloops.py`, imported on a kernel's first call (numba is not imported
before); they are compiled once and cached on disk (numba `cache=True`), so a process pays only the
cache load (~0.5 s), and the local pool's workers not even that: its fork server runs `warm()`.

Callers ask `enabled()`: the first time, it loads every kernel (`warm`); when they cannot load (numba
cannot write its cache: a read-only install and an unwritable HOME), ENABLED turns False and one
KernelWarning says so: the numpy path gives the same values, slower. A conversion never fails for it.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np

#: numba installed (the extra) and not switched off with AMASS_ARROW_JIT=0; decided without importing numba.
#: Set to False by enabled() when the compiled loops fail to load.
ENABLED = importlib.util.find_spec("numba") is not None and os.environ.get("AMASS_ARROW_JIT", "1") != "0"
_CHECKED = False


class KernelWarning(UserWarning):
    """The compiled kernels could not be loaded; the numpy path runs instead."""


def enabled() -> bool:
    """ENABLED, once the compiled loops are known to load (the first call runs `warm`); on a failure, False
    from then on in this process, with one KernelWarning."""
    global ENABLED, _CHECKED
    if ENABLED and not _CHECKED:
        _CHECKED = True
        try:
            warm()
        except Exception as exc:  # noqa: BLE001 - numba raises several types (cache locator, compile, import)
            ENABLED = False
            warnings.warn(f"compiled kernels unavailable ({type(exc).__name__}: {exc}); using the numpy path (same "
                          f"values, slower). Set NUMBA_CACHE_DIR to a writable folder, or AMASS_ARROW_JIT=0 to choose "
                          f"numpy without this warning", KernelWarning, stacklevel=2)
    return ENABLED


def _loops():
    from . import jitloops  # the first call imports numba and loads the cached machine code

    return jitloops


def forward_kinematics(pose: np.ndarray, rest_joints: np.ndarray, parents, trans: np.ndarray | None = None,
                       out_dtype=np.float64, select=None) -> np.ndarray:
    """Compiled kinematics.forward_kinematics: (T, S, 3) posed joints `select` (default all J) in
    `out_dtype`, computed in float64; only the selected joints are written."""
    pose = np.asarray(pose)
    if pose.dtype not in (np.float32, np.float64):
        pose = pose.astype(np.float64)
    T, J = pose.shape[:2]
    par = np.asarray([int(p) for p in parents], np.int64)
    has_child = np.zeros(J, np.bool_)
    has_child[par[par >= 0]] = True
    if J:
        has_child[0] = True  # the root's rotation always matters when it has children; harmless otherwise
    rest = np.ascontiguousarray(rest_joints, np.float64)
    sel = np.arange(J, dtype=np.int64) if select is None else np.asarray(select, np.int64)
    tr = np.zeros((0, 3)) if trans is None else np.ascontiguousarray(trans, np.float64)
    out = np.empty((T, sel.shape[0], 3))
    _loops().fk_loop(pose, rest, par, has_child, tr, sel, out)
    return out if np.dtype(out_dtype) == np.float64 else out.astype(out_dtype)


def slerp_rows(aa: np.ndarray, i: np.ndarray, w: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """out[rows] = slerp between aa[i] and aa[i + 1] at weights w (0 < w < 1); aa, out (T, ...) with 3K columns."""
    a2 = aa.reshape(aa.shape[0], -1) if aa.ndim != 2 else aa
    o2 = out.reshape(out.shape[0], -1)
    _loops().slerp_loop(a2, np.asarray(i, np.int64), np.asarray(w, np.float64), np.asarray(rows, np.int64), o2)


def window_speed(x: np.ndarray, fps: float, window: float) -> np.ndarray:
    """Compiled contacts.window_speed: (T, F) m/s of (T, F, 3) float64 positions (T >= 2)."""
    out = np.empty(x.shape[:2])
    _loops().window_speed_loop(np.ascontiguousarray(x, np.float64), float(fps), 0.5 * float(window) * float(fps), out)
    return out


def peak_speed(x: np.ndarray, fps: float) -> float:
    """Compiled quality.peak_joint_speed for (T >= 2, J, 3) positions (m) -> m/s."""
    return float(_loops().peak_speed_loop(np.ascontiguousarray(x, np.float64), float(fps)))


def mean_jerk(x: np.ndarray, fps: float) -> float:
    """Compiled quality.jitter for (T >= 4, J, 3) positions (m) -> m/s^3."""
    return float(_loops().mean_jerk_loop(np.ascontiguousarray(x, np.float64)) * float(fps) ** 3)


def local_floor(heights: np.ndarray, n: int) -> np.ndarray:
    """Compiled contacts.local_floor for (T, F) heights and a window of `n` frames (exactly equal: minima only)."""
    h = np.ascontiguousarray(heights, np.float64)
    out = np.empty_like(h)
    _loops().local_floor_loop(h, max(1, min(int(n), h.shape[0])), out)
    return out


def warm() -> bool:
    """Import numba and load every kernel for the argument types the build passes, now rather than on
    a worker's first file (the local pool's fork server calls this once; its workers inherit the code).

    Returns ENABLED; a no-op without numba.
    """
    if not ENABLED:
        return False
    x = np.linspace(0.0, 1.0, 36).reshape(4, 3, 3)
    for pose in (x, x.astype(np.float32)):
        forward_kinematics(pose, x[0], [-1, 0, 1])
        aa = pose.reshape(4, 9)
        slerp_rows(aa, np.zeros(2, np.int64), np.full(2, 0.5), np.arange(2), np.empty((2, 9), pose.dtype))
    window_speed(x, 30.0, 1.0 / 30.0)
    local_floor(x[..., 2], 2)
    peak_speed(x, 30.0)
    mean_jerk(x, 30.0)
    return True
