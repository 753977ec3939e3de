"""Per-sequence quality metrics and the flags raised when a metric crosses its threshold (pure numpy).

Every metric takes stored-rate arrays in AMASS Z-up metres after the floor fix (the floor is z = 0)
and returns one float, or None where the sequence has nothing to measure (e.g. no frame in contact):

    foot_skating        m/s    mean horizontal speed of foot joints (ankles, toes) on frames where they are in contact
    floor_penetration   m      deepest the sole goes below the floor: max over frames of -(lowest foot joint - toe_offset)
    peak_joint_speed    m/s    largest speed of any joint on any frame (central differences)
    jitter              m/s^3  mean jerk magnitude over joints and frames (third differences)
    contact_coverage    1      fraction of frames with at least one foot joint in contact
    airborne_fraction   1      fraction of frames whose every foot joint is more than `airborne_height` above its
                               local floor (contacts.local_floor over `airborne_window` s: stairs and platforms are floors)

`measure` computes them all for one sequence and `flags` turns them into `quality_flags` entries,
each at most once, with the thresholds of config.QualityConfig (recorded in info.json). Column names
are schema.QUALITY_COLUMNS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from amass_arrow.schema import JOINT_SETS, QUALITY_COLUMNS, SEQ

from . import kernels
from .contacts import local_floor, lowest_per_frame

UP = 2  # Z-up: the vertical axis; x, y are horizontal
BODY_JOINTS = len(JOINT_SETS["body22"])  # every joint set starts with these


def _speed(x: np.ndarray, fps: float) -> np.ndarray:
    """(T, ..., 3) positions (m) at `fps` -> (T, ..., 3) velocity (m/s); central differences, one-sided at the ends."""
    return np.gradient(np.asarray(x, np.float64), 1.0 / float(fps), axis=0)


def foot_skating(feet: np.ndarray, contacts: np.ndarray, fps: float) -> float | None:
    """Mean horizontal speed (m/s) of foot joints while they are in contact; None if no joint ever is.

    feet: (T, F, 3) foot-joint positions (m, Z-up) at `fps`; contacts: (T, F) bool, the same joints' flags.
    """
    feet = np.asarray(feet, np.float64)
    c = np.asarray(contacts, bool)
    if feet.shape[0] < 2 or not c.any():
        return None
    v = _speed(feet[..., :UP], fps)  # (T, F, 2): horizontal velocity
    return float(np.linalg.norm(v, axis=-1)[c].mean())


def floor_penetration(feet: np.ndarray, toe_offset: float = 0.0) -> float:
    """Deepest (m, >= 0) the sole goes under the floor z = 0: max over frames of -(min foot-joint height - toe_offset).

    feet: (T, F, 3) foot-joint positions (m, Z-up); toe_offset: height of the lowest foot joint above the
    sole when the foot is flat (m), so a planted foot gives 0.
    """
    feet = np.asarray(feet, np.float64)
    if feet.shape[0] == 0:
        return 0.0
    sole = lowest_per_frame(feet[..., UP]) - float(toe_offset)  # (T,)
    return float(max(0.0, -sole.min()))


def peak_joint_speed(joints: np.ndarray, fps: float, jit: bool | None = None) -> float | None:
    """Largest joint speed (m/s) over all joints and frames; None for fewer than 2 frames. joints: (T, J, 3) m.

    jit: the compiled twin (amass_arrow.motion.kernels; None = when numba is installed); this code is the reference.
    """
    joints = np.asarray(joints, np.float64)
    if joints.shape[0] < 2:
        return None
    if kernels.enabled() if jit is None else jit:
        return kernels.peak_speed(joints, fps)
    # np.gradient's differences (central inside, one-sided at the ends), squared and maxed before the one sqrt
    T = joints.shape[0]
    best = _max_sq(joints[1] - joints[0]) if T == 2 else max(
        _max_sq(joints[2:] - joints[:-2]) / 4.0, _max_sq(joints[1] - joints[0]), _max_sq(joints[-1] - joints[-2]))
    return float(np.sqrt(best) * float(fps))


def _max_sq(d: np.ndarray) -> float:
    """Largest squared length of the (..., 3) vectors in d."""
    d = d.reshape(-1, 3)
    return float(np.einsum("nk,nk->n", d, d).max())


def jitter(joints: np.ndarray, fps: float, jit: bool | None = None) -> float | None:
    """Mean jerk magnitude (m/s^3) over joints and frames: |x[t+3] - 3x[t+2] + 3x[t+1] - x[t]| * fps^3.

    joints: (T, J, 3) m at `fps`. None for fewer than 4 frames. Smooth motion at 30 fps gives tens of
    m/s^3; frame-to-frame noise of amplitude a adds about 20 a fps^3 / pi (white noise: sqrt(20) a fps^3).
    """
    x = np.asarray(joints, np.float64)
    if x.shape[0] < 4:
        return None
    if kernels.enabled() if jit is None else jit:
        return kernels.mean_jerk(x, fps)
    d3 = x[3:] - x[:-3]  # x[t+3] - x[t] + 3 (x[t+1] - x[t+2]), with two temporaries
    e = x[1:-2] - x[2:-1]
    e *= 3.0
    d3 += e
    d3 = d3.reshape(-1, 3)
    return float(np.sqrt(np.einsum("nk,nk->n", d3, d3)).mean() * float(fps) ** 3)


def contact_coverage(contacts: np.ndarray) -> float | None:
    """Fraction of frames with any foot joint in contact. contacts: (T, F) bool. None for no frames."""
    c = np.asarray(contacts, bool)
    if c.shape[0] == 0:
        return None
    return float(c.reshape(c.shape[0], -1).any(axis=1).mean())


def airborne_fraction(feet: np.ndarray, fps: float, height: float, window: float) -> float | None:
    """Fraction of frames whose every foot joint is more than `height` (m) above its local floor.

    feet: (T, F, 3) m, Z-up, at `fps`. The local floor of a joint is contacts.local_floor over `window` s
    (the lowest it stands within that time before and after), so steps and platforms count as floor and
    only flight (runs, jumps) is airborne. Geometric: independent of the contact detector's speed rule.
    None for no frames.
    """
    feet = np.asarray(feet, np.float64)
    if feet.shape[0] == 0:
        return None
    h = feet[..., UP]
    return float(((h - local_floor(h, fps, window)) > float(height)).all(axis=1).mean())


def measure(joints: np.ndarray, foot_idx: list[int], contacts: np.ndarray, fps: float, *,
            toe_offset: float = 0.0, airborne_height: float = 0.05, airborne_window: float = 0.5) -> dict[str, float | None]:
    """All metrics of one sequence, keyed by schema.QUALITY_COLUMNS names.

    joints: (T, J, 3) stored joints (m, Z-up, floor at z = 0) at `fps`, the 22 body joints first (as in
    every schema joint set); peak speed and jitter use only those 22, so stores with hands agree with
    body22 stores. foot_idx: the indices in J of left_ankle, right_ankle, left_toe, right_toe;
    contacts: (T, 4) bool flags of those joints.
    """
    joints = np.asarray(joints, np.float64)
    body = joints[:, :BODY_JOINTS]
    feet = joints[:, foot_idx]
    return {
        SEQ.foot_skating: foot_skating(feet, contacts, fps),
        SEQ.floor_penetration: floor_penetration(feet, toe_offset),
        SEQ.peak_joint_speed: peak_joint_speed(body, fps),
        SEQ.jitter: jitter(body, fps),
        SEQ.contact_coverage: contact_coverage(contacts),
        SEQ.airborne_fraction: airborne_fraction(feet, fps, airborne_height, airborne_window),
    }


#: flag (a value of `quality_flags`; three share their metric's name) -> (metric column, comparison,
#: config.QualityConfig attribute holding the threshold)
FLAG_RULES: dict[str, tuple[str, str, str]] = {
    "foot_skating": (SEQ.foot_skating, ">", "max_foot_skating"),
    "floor_penetration": (SEQ.floor_penetration, ">", "max_floor_penetration"),
    "joint_speed_spike": (SEQ.peak_joint_speed, ">", "max_joint_speed"),
    "jitter": (SEQ.jitter, ">", "max_jitter"),
    "low_contact_coverage": (SEQ.contact_coverage, "<", "min_contact_coverage"),
    "airborne": (SEQ.airborne_fraction, ">", "max_airborne_fraction"),
}
assert all(m in QUALITY_COLUMNS for m, _, _ in FLAG_RULES.values())


def flags(metrics: dict[str, float | None], thresholds: Any) -> list[str]:
    """Names of FLAG_RULES whose metric crosses its threshold (attributes of `thresholds`), in rule order.

    A metric that is None (nothing to measure) raises no flag.
    """
    out = []
    for flag, (metric, op, attr) in FLAG_RULES.items():
        v, lim = metrics.get(metric), getattr(thresholds, attr)
        if v is None or lim is None:
            continue
        if (v > lim) if op == ">" else (v < lim):
            out.append(flag)
    return out


def merge_flags(*groups: list[str]) -> list[str]:
    """Concatenate flag lists keeping the first occurrence of each flag (each flag appears once)."""
    seen: dict[str, None] = {}
    for g in groups:
        for f in g:
            seen.setdefault(f, None)
    return list(seen)


def manifest(thresholds: Any) -> dict[str, Any]:
    """The info.json `quality` entry: metric units, each flag's rule, and the thresholds used (a QualityConfig)."""
    import dataclasses

    return {
        "metrics": dict(QUALITY_COLUMNS),
        "flags": {f: f"{m} {op} {attr}" for f, (m, op, attr) in FLAG_RULES.items()}
        | {"lying_down": "upright_fraction < min_upright_fraction"},
        "thresholds": dataclasses.asdict(thresholds),
    }


def describe_rules(entry: dict[str, Any]) -> list[str]:
    """'flag (metric op threshold)' per flag of an info.json `quality` entry (see `manifest`), for people."""
    th = entry.get("thresholds", {})
    out = []
    for flag, rule in entry.get("flags", {}).items():
        metric, op, attr = rule.split()
        cond = f"{metric} {op} {th.get(attr)}"
        out.append(cond if metric == flag else f"{flag} ({cond})")
    return out
