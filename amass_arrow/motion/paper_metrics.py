"""The field's motion metrics, computed exactly as the papers' code computes them (pure numpy).

Each function names the repository and function it reproduces; quirks are kept, because a paper's number is
only comparable when computed the same way. Our own quality metrics (`motion.quality`: foot_skating in m/s,
jitter in m/s^3, ...) are different quantities, for filtering a store, and are not comparable with any paper.

    skating_ratio   GMD (korrawe/guided-motion-diffusion) data_loaders/humanml/utils/metrics.py calculate_skating_ratio
    jerk            FlowMDM (BarqueroGerman/FlowMDM) data_loaders/humanml/utils/metrics.py calculate_jerk
    peak_jerk, area_under_jerk   FlowMDM utils/metrics.py evaluate_jerk (PeakJerk, AUJ)
"""

from __future__ import annotations

import numpy as np

#: GMD's skating constants: toe joints of the 22-joint skeleton (10 left, 11 right), Y-up, 20 fps
SKATING_FEET = (10, 11)
SKATING_FPS = 20.0
SKATING_HEIGHT = 0.05  # m: a toe below this on two adjacent frames is in contact
SKATING_SPEED = 0.5  # m/s: horizontal toe speed above this (on the frame and in the 5-frame average) is skating
SKATING_WINDOW = 5  # frames of the uniform average
#: FlowMDM's ground-truth per-frame jerk, the reference of the Area Under Jerk (evaluate_jerk's GT_jerk constants)
GT_JERK = {"humanml3d": 0.033031363, "babel": 0.016383045}


def uniform_average(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.uniform_filter1d(x, size, axis=-1, mode='constant', origin=0), in x's dtype, bit for bit.

    A centred running mean over `size` samples with zeros beyond both ends, accumulated in float64 as scipy's
    C loop does: the first window summed in order, then each step adds (entering - leaving); each output is
    that sum / size."""
    x = np.asarray(x)
    n = x.shape[-1]
    out = np.empty(x.shape, x.dtype)
    if n == 0:
        return out
    left = size // 2
    pad = np.zeros(x.shape[:-1] + (n + size - 1,), np.float64)
    pad[..., left:left + n] = x
    steps = np.empty(x.shape[:-1] + (n,), np.float64)
    first = np.zeros(x.shape[:-1], np.float64)
    for k in range(size):  # the first window, summed in order
        first = first + pad[..., k]
    steps[..., 0] = first
    steps[..., 1:] = pad[..., size:size + n - 1] - pad[..., : n - 1]  # entering - leaving
    out[...] = np.cumsum(steps, axis=-1) / size  # cumsum adds in sequence: scipy's running sum, bit for bit
    return out


def skating_ratio(joints: np.ndarray) -> np.ndarray:
    """(B,) GMD's skating ratio of (B, T, 22, 3) joints: Y-up, metres, 20 fps (padding frames included).

    GMD calculate_skating_ratio: each toe (joints 10, 11) is in contact on step t -> t+1 when its height
    (y, raw: no floor fix) is < 0.05 m on both frames; it skates when in contact and its horizontal (x, z)
    speed over that step (|dx| * 20) is > 0.5 m/s and so is the 5-step uniform average of that speed (zeros
    beyond the ends); a step skates when either toe does; the ratio divides by T - 1, so padded frames
    count. T = 1 gives nan (0 / 0), as theirs does. Computed in the joints' dtype (theirs: float32).
    """
    j = np.asarray(joints)
    if j.ndim != 4 or j.shape[2] < 22 or j.shape[3] != 3:
        raise ValueError(f"skating_ratio wants (B, T, 22, 3) joints, got {j.shape}")
    return _skating_ratio_of_toes(np.moveaxis(j[:, :, list(SKATING_FEET), :], 1, -1))


def _skating_ratio_of_toes(feet: np.ndarray) -> np.ndarray:
    """(B,) from GMD's (B, 2, 3, T) toe layout (left, right toe; Y-up; 20 fps): the steps of skating_ratio."""
    step = feet[:, :, [0, 2], 1:] - feet[:, :, [0, 2], :-1]
    speed = np.linalg.norm(step, axis=2) * SKATING_FPS  # (B, 2, T - 1) m/s
    avg = uniform_average(speed, SKATING_WINDOW)
    height = feet[:, :, 1, :]
    contact = (height[:, :, :-1] < SKATING_HEIGHT) & (height[:, :, 1:] < SKATING_HEIGHT)
    skating = contact & (speed > SKATING_SPEED) & (avg > SKATING_SPEED)
    either = skating[:, 0, :] | skating[:, 1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(either, axis=1) / either.shape[1]


def jerk(joints: np.ndarray, lengths) -> np.ndarray:
    """(B, T - 3) FlowMDM's per-frame jerk of (B, T, 22, 3) joints: third differences without dt (units of
    the joints per frame^3), zeroed from frame lengths[b] - 3 on, L1 over xyz, max over joints.

    FlowMDM calculate_jerk, quirks kept: a length below 3 zeroes from a negative index, i.e. only the last
    3 - length frames (Python slicing), not the whole clip.
    """
    p = np.asarray(joints)
    if p.ndim != 4 or p.shape[-1] != 3:
        raise ValueError(f"jerk wants (B, T, J, 3) joints, got {p.shape}")
    lengths = np.asarray(lengths).astype(np.int64).reshape(-1)
    if lengths.shape[0] != p.shape[0]:
        raise ValueError(f"jerk: {lengths.shape[0]} lengths for {p.shape[0]} motions")
    third = np.diff(p, n=3, axis=1)
    for b, n in enumerate(lengths):
        third[b, int(n) - 3:] = 0
    return np.abs(third).sum(axis=-1).max(axis=-1)


def peak_jerk(per_frame: np.ndarray) -> float:
    """FlowMDM's PeakJerk: the largest, over frames, of the mean over clips of `jerk(...)` ((B, T - 3) -> float)."""
    return float(np.asarray(per_frame).mean(axis=0).max())


def area_under_jerk(per_frame: np.ndarray, reference: float = GT_JERK["humanml3d"]) -> float:
    """FlowMDM's AUJ: sum over frames of |mean over clips of `jerk(...)` - reference| (their GT jerk constant)."""
    return float(np.abs(np.asarray(per_frame).mean(axis=0) - reference).sum())


def at_20fps(joints: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(T, J, 3) joints at times t (s, increasing) -> (N, J, 3) at 20 fps from t[0], linear interpolation
    (N = floor((t[-1] - t[0]) * 20) + 1); fewer than 2 frames are returned as they are."""
    j = np.asarray(joints)
    t = np.asarray(t, np.float64)
    if len(t) < 2:
        return j
    n = int(np.floor((t[-1] - t[0]) * SKATING_FPS + 1e-6)) + 1
    tq = t[0] + np.arange(n) / SKATING_FPS
    i = np.clip(np.searchsorted(t, tq, side="right") - 1, 0, len(t) - 2)
    w = np.clip((tq - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0)[:, None, None]
    return (1.0 - w) * j[i] + w * j[i + 1]


def take_skating_ratio(joints: np.ndarray, fps: float) -> float | None:
    """GMD's skating ratio of one stored take: (T, >= 22, 3) Z-up joints (m, floor at 0) at `fps`, turned Y-up
    ((x, y, z) -> (x, z, y); the sign of x does not change a speed) and resampled to 20 fps; None under 2 frames
    at 20 fps. The sequences column `skating_ratio_gmd`, so SQL can filter by the paper metric."""
    j = np.asarray(joints)
    if j.shape[0] < 2 or j.shape[1] < 22:  # no SMPL body (a custom skeleton): GMD's toes 10/11 do not exist
        return None
    toes = np.asarray(j[:, list(SKATING_FEET)], np.float64)[..., [0, 2, 1]]  # only the toes: (T, 2, 3) Y-up
    t20 = at_20fps(toes, np.arange(j.shape[0]) / float(fps))
    if t20.shape[0] < 2:
        return None
    return float(_skating_ratio_of_toes(np.moveaxis(t20.astype(np.float32), 0, -1)[None])[0])
