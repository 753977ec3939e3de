"""Floor estimate and per-foot contact flags from foot-joint trajectories (pure numpy).

The floor rule ("lowest_foot"): the floor of a sequence is the FLOOR_PERCENTILE-th percentile of
the per-frame minimum foot-joint height (ankles and toes) minus `toe_offset`, the height of that
lowest joint (the toe joint, normally) above the sole when the foot is flat. motion.process takes
the offset from the body model's rest pose for the sequence's betas (~2 cm), so after the height
fix the soles stand on z = 0 (ProtoMotions: "shift so the lowest joint sits at the toe offset").
The percentile (not the minimum) makes the floor robust to a few glitched frames; the per-frame
minimum over joints (not per joint) keeps it right for jumps, where both feet leave the floor only
part of the time.

Contact methods (`METHODS`, chosen by `motion.contacts`); each maps (T, F, 3) foot-joint positions
(m) at the source rate `fps` to (T, F) bool flags at the same frames:

- "default" (`default_contacts`, the recommendation): built for real mocap, where a planted foot's
  joints still move 0.1-0.8 m/s (toe roll, soft tissue, fitting noise) and a running stance lasts
  ~0.2 s. Speed is measured over a fixed time window (`window` s, positions interpolated), so it
  does not grow with the source rate the way frame-to-frame differences do; height is taken above
  the joint's LOCAL floor (the higher of its lowest height over the previous and over the next
  `floor_window` seconds), so stairs and platforms keep their contacts; hysteresis (enter below
  `speed` and `height`, then stay while below `speed_exit` and `height_exit`), gaps shorter than `min_gap` s
  closed, contacts shorter than `min_contact` s dropped, so one noisy frame does not split a stance.
- "protomotions" (`protomotions_contacts`, parity only): NVlabs/ProtoMotions' rule.
- "humanml3d" (`humanml3d_contacts`, parity only): EricGuo5513/HumanML3D's foot rule.

The parity modes reproduce a peer's labels so a user can match its datasets; on real motion they
miss most stances (see README "Contact fidelity"). Numba-friendly: plain numpy on float64 arrays,
loops only over the F joint columns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from amass_arrow.config import CONTACT_METHODS, HUMANML3D, PROTOMOTIONS, DefaultParams  # noqa: F401 - HUMANML3D, PROTOMOTIONS: read here by their users
from amass_arrow.motion.resample import decimation  # noqa: F401 - the divisor rule the parity methods share
from amass_arrow.schema import FOOT_JOINTS

from . import kernels

FLOOR_PERCENTILE = 5.0
#: order of the joints the detectors take and of their output columns
FOOT_ORDER = tuple(FOOT_JOINTS)  # left_ankle, right_ankle, left_toe, right_toe
#: contact methods: the modules of motion/contact_methods/ (config.CONTACT_METHODS reads their names from the files)
METHODS = CONTACT_METHODS
_REGISTERED: dict[str, Callable[..., np.ndarray]] = {}


def register(name: str):
    """Decorator: `fn(joints (T, F, 3), fps, up_axis, params) -> (T, F) bool` is the contact method `name`."""

    def deco(fn):
        _REGISTERED[name] = fn
        return fn

    return deco


def method(name: str) -> Callable[..., np.ndarray]:
    """The contact method `name` (its module motion/contact_methods/<name>.py is imported on first use)."""
    if name not in METHODS:
        raise ValueError(f"unknown contact method {name!r}; use one of {', '.join(METHODS)}")
    if name not in _REGISTERED:
        importlib.import_module(f"{__package__}.contact_methods.{name}")
    return _REGISTERED[name]


def detect(method_name: str, joints: np.ndarray, fps: float, up_axis: int | str = "z_up",
           params: DefaultParams | None = None) -> np.ndarray:
    """(T, F) bool contact flags of (T, F, 3) foot joints at `fps` by the method named (one of METHODS)."""
    return method(method_name)(joints, fps, up_axis, params)


def __getattr__(name: str):
    """`contacts.<method>_contacts`: each method's function by its name (loaded on first use)."""
    if name.endswith("_contacts") and name[: -len("_contacts")] in METHODS:
        return method(name[: -len("_contacts")])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def floor_height(foot_heights: np.ndarray, toe_offset: float = 0.0, percentile: float = FLOOR_PERCENTILE) -> float:
    """Floor height (m, along the up axis) of one sequence from its foot-joint heights.

    foot_heights: (T, F) up-axis coordinates (m) of the F foot joints per frame.
    Returns percentile(min over joints per frame) - toe_offset; 0.0 for an empty sequence.
    Subtract it from the up coordinate of joints and trans to put the motion on the floor.
    """
    h = np.asarray(foot_heights, np.float64)
    if h.size == 0:
        return 0.0
    return float(np.percentile(lowest_per_frame(h), percentile)) - float(toe_offset)


def lowest_per_frame(heights: np.ndarray) -> np.ndarray:
    """(T,) the minimum over the joints of (T, F) heights; column by column (numpy's min over a short
    second axis is ~10x slower than F - 1 whole-column minimums)."""
    h = heights.reshape(heights.shape[0], -1)
    lowest = h[:, 0].copy()
    for k in range(1, h.shape[1]):
        np.minimum(lowest, h[:, k], out=lowest)
    return lowest


def up_index(up_axis: int | str) -> int:
    """Axis index of 'up': 2 for 'z_up' (AMASS), 1 for 'y_up'; ints pass through."""
    if isinstance(up_axis, str):
        try:
            return {"z_up": 2, "z": 2, "y_up": 1, "y": 1}[up_axis]
        except KeyError:
            raise ValueError(f"unknown up axis {up_axis!r}; use 'z_up' or 'y_up'") from None
    return int(up_axis)


def _check_feet(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"contact detectors want (T, F, 3) foot-joint positions, got {x.shape}")
    return x


def window_speed(joints: np.ndarray, fps: float, window: float, jit: bool | None = None) -> np.ndarray:
    """Speed (T, F) m/s of (T, F, 3) positions at `fps`: |x(t + w/2) - x(t - w/2)| / w, w = `window` s.

    Positions between frames are interpolated linearly; the window is cut at the ends. At 30 fps with
    w = 1/30 s this equals central differences; at 250 fps it averages ~8 frames, so jitter is not
    amplified by the source rate.
    """
    x = _check_feet(joints)
    T = x.shape[0]
    if T < 2:
        return np.zeros(x.shape[:2])
    if kernels.enabled() if jit is None else jit:  # compiled twin (amass_arrow.motion.kernels); this code is the reference
        return kernels.window_speed(x, fps, window)
    half = 0.5 * float(window) * float(fps)
    a = int(np.floor(half))
    w = half - a
    disp = np.empty_like(x)
    edge = a + 1  # frames at each end whose window is cut (general path); the rest by slicing
    if T > 2 * edge:
        # x(i + half) - x(i - half) = (1 - w) (x[i+a] - x[i-a]) + w (x[i+a+1] - x[i-a-1])
        mid = slice(edge, T - edge)
        disp[mid] = (1.0 - w) * (x[edge + a: T - edge + a] - x[edge - a: T - edge - a])
        if w > 0:
            disp[mid] += w * (x[edge + a + 1: T - edge + a + 1] - x[edge - a - 1: T - edge - a - 1])
        ends = np.r_[0:edge, T - edge:T]
    else:
        ends = np.arange(T)
    i = ends.astype(np.float64)
    lo, hi = np.clip(i - half, 0, T - 1), np.clip(i + half, 0, T - 1)
    disp[ends] = _at(x, hi) - _at(x, lo)
    dt = np.full(T, 2.0 * half / float(fps))
    dt[ends] = (hi - lo) / float(fps)
    return np.sqrt(np.einsum("tfk,tfk->tf", disp, disp)) / dt[:, None]


def _at(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """x (T, ...) linearly interpolated at fractional frame positions pos (n,) in [0, T-1]."""
    i0 = np.minimum(np.floor(pos).astype(np.int64), x.shape[0] - 1)
    i1 = np.minimum(i0 + 1, x.shape[0] - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return x[i0] * (1 - w) + x[i1] * w


def _running_min_ahead(h: np.ndarray, n: int) -> np.ndarray:
    """(T, F): min of h[t : t + n] per column (cut at the end); O(T log n) by doubling spans."""
    T = h.shape[0]
    n = max(1, min(int(n), T))
    m, span = h.copy(), 1
    while 2 * span <= n:
        nxt = m.copy()
        nxt[: T - span] = np.minimum(m[: T - span], m[span:])
        m, span = nxt, 2 * span
    # two overlapping spans cover [t, t + n)
    j = np.minimum(np.arange(T) + (n - span), T - 1)
    return np.minimum(m, m[j])


def local_floor(heights: np.ndarray, fps: float, floor_window: float, jit: bool | None = None) -> np.ndarray:
    """Local floor (T, F) m of each joint: max(min over the last, min over the next `floor_window` s).

    heights: (T, F) up coordinates (m). A planted joint is its own floor; on stairs the floor steps
    with the foot (going up, the next seconds never go lower; going down, the last ones never did); at
    the top of a jump or a swing both sides reach back to the floor the foot left or lands on.
    jit: the compiled twin (kernels.local_floor, van Herk / Gil-Werman blocks; None = when numba is
    installed); this doubling code is the reference, and both return exactly the same minima.
    """
    h = np.asarray(heights, np.float64)
    if h.shape[0] == 0:
        return h.copy()
    n = int(round(float(floor_window) * float(fps))) + 1
    if h.ndim == 2 and (kernels.enabled() if jit is None else jit):
        return kernels.local_floor(h, n)
    ahead = _running_min_ahead(h, n)
    behind = _running_min_ahead(h[::-1], n)[::-1]
    return np.maximum(ahead, behind)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _fill(n: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(n,) bool, True on every [start, end) interval."""
    d = np.zeros(n + 1, np.int8)  # the intervals are disjoint runs: no index repeats within `starts` or
    d[starts] += 1  # within `ends`, and the running sum is 0 or 1
    d[ends] -= 1
    return np.cumsum(d[:n], dtype=np.int8) > 0


def hysteresis(strong: np.ndarray, weak: np.ndarray, min_gap: int, min_len: int) -> np.ndarray:
    """(T, F) bool hysteresis in time: a contact starts at a `strong` frame and lasts while `weak | strong`
    holds; gaps < min_gap frames between two contacts are closed; contacts < min_len frames dropped.

    All F columns are handled in one pass: laid end to end with one False frame after each, so no run
    crosses from one column into the next.
    """
    strong = np.asarray(strong, bool)
    weak = np.asarray(weak, bool) | strong
    T, F = weak.shape
    if T == 0 or F == 0:
        return np.zeros_like(weak)
    L = T + 1  # a column and its separator
    N = F * L

    def lay(a: np.ndarray) -> np.ndarray:
        out = np.zeros((F, L), bool)
        out[:, :T] = a.T
        return out.reshape(N)

    w, st = lay(weak), lay(strong)
    s, e = _runs(w)
    first = np.flatnonzero(st)
    k = np.searchsorted(first, s)
    ok = k < first.size
    ok[ok] &= first[k[ok]] < e[ok]
    col = _fill(N, first[k[ok]], e[ok])  # enter at the run's first strong frame, stay to its end
    gs, ge = _runs(~col)
    # a gap that reaches a column's first or last frame is not between two contacts: it holds a separator
    # (indices 0..i hold (i + 1) // L separators, so [gs, ge) holds none when gs // L == ge // L)
    close = (gs > 0) & (gs // L == ge // L) & (ge - gs < min_gap)
    col |= _fill(N, gs[close], ge[close])
    cs, ce = _runs(col)
    short = ce - cs < min_len
    col &= ~_fill(N, cs[short], ce[short])
    return np.ascontiguousarray(col.reshape(F, L)[:, :T].T)


def multi_horizon_velocity(x: np.ndarray, fps: float, horizon: int = 3) -> np.ndarray:
    """ProtoMotions' compute_cartesian_velocity (pose_lib.py): (T, F, 3) m/s.

    For h = 1..horizon: forward difference (x[t+h] - x[t]) * fps / h, the last h frames repeating the
    last valid one (or the h = 1 difference when T <= h); per frame and joint the vector of the
    smallest magnitude is kept.
    """
    x = np.asarray(x, np.float64)
    T = x.shape[0]
    if T < 2:
        return np.zeros_like(x)
    cands = []
    for h in range(1, horizon + 1):
        v = np.zeros_like(x)
        if T > h:
            v[:-h] = (x[h:] - x[:-h]) * (fps / h)
            v[-h:] = v[-h - 1]
        else:
            v[:-1] = (x[1:] - x[:-1]) * fps
            v[-1] = v[-2]
        cands.append(v)
    c = np.stack(cands)  # (H, T, F, 3)
    best = np.linalg.norm(c, axis=-1).argmin(axis=0)  # (T, F)
    return np.take_along_axis(c, best[None, ..., None], axis=0)[0]


def contact_table(flags: np.ndarray) -> np.ndarray:
    """(T, 4) joint flags -> (T, 6) in schema.CONTACT_COLUMNS order (adds left/right foot = ankle | toe)."""
    f = np.asarray(flags, bool)
    return np.concatenate([f, f[:, [0]] | f[:, [2]], f[:, [1]] | f[:, [3]]], axis=1)
