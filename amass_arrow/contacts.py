"""Floor estimate and per-foot contact flags from foot-joint trajectories (pure numpy).

The floor rule ("lowest_foot"): the floor of a sequence is the FLOOR_PERCENTILE-th percentile of
the per-frame minimum foot-joint height (ankles and toes) minus `toe_offset`, the height of that
lowest joint (the toe joint, normally) above the sole when the foot is flat. motion.process takes
the offset from the body model's rest pose for the sequence's betas (~2 cm), so after the height
fix the soles stand on z = 0, a planted toe joint sits at ~0.02 m and a planted ankle at ~0.07 m,
both under the 0.10 m contact height (ProtoMotions: "shift so the lowest joint sits at the toe
offset"). The percentile (not the minimum) makes the floor robust to a few glitched frames; the
per-frame minimum over joints (not per joint) keeps it right for jumps, where both feet leave the
floor only part of the time.

Contacts: a foot joint is in contact when its speed (central differences, m/s) is below
`speed_thresh` AND its height above the floor is below `height_thresh`. A foot is in contact when
its ankle or its toe is.
"""

from __future__ import annotations

import numpy as np

from .schema import FOOT_JOINTS

FLOOR_PERCENTILE = 5.0
#: order of the joints `foot_contacts` takes and of its output columns
FOOT_ORDER = tuple(FOOT_JOINTS)  # left_ankle, right_ankle, left_toe, right_toe


def floor_height(foot_heights: np.ndarray, toe_offset: float = 0.0, percentile: float = FLOOR_PERCENTILE) -> float:
    """Floor height (m, along the up axis) of one sequence from its foot-joint heights.

    foot_heights: (T, F) up-axis coordinates (m) of the F foot joints per frame.
    Returns percentile(min over joints per frame) - toe_offset; 0.0 for an empty sequence.
    Subtract it from the up coordinate of joints and trans to put the motion on the floor.
    """
    h = np.asarray(foot_heights, np.float64)
    if h.size == 0:
        return 0.0
    lowest = h.reshape(h.shape[0], -1).min(axis=1)
    return float(np.percentile(lowest, percentile)) - float(toe_offset)


def up_index(up_axis: int | str) -> int:
    """Axis index of 'up': 2 for 'z_up' (AMASS), 1 for 'y_up'; ints pass through."""
    if isinstance(up_axis, str):
        try:
            return {"z_up": 2, "z": 2, "y_up": 1, "y": 1}[up_axis]
        except KeyError:
            raise ValueError(f"unknown up axis {up_axis!r}; use 'z_up' or 'y_up'") from None
    return int(up_axis)


def joint_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """Speed (T, J) m/s of (T, J, 3) positions (m) sampled at `fps`; central differences, one-sided at the ends."""
    x = np.asarray(joints, np.float64)
    if x.shape[0] < 2:
        return np.zeros(x.shape[:-1])
    return np.linalg.norm(np.gradient(x, 1.0 / float(fps), axis=0), axis=-1)


def foot_contacts(
    joints: np.ndarray,
    fps: float,
    up_axis: int | str = "z_up",
    speed_thresh: float = 0.15,
    height_thresh: float = 0.10,
    floor: float = 0.0,
) -> np.ndarray:
    """Contact flags (T, 4) bool for left_ankle, right_ankle, left_toe, right_toe.

    joints: (T, 4, 3) positions (m) of those foot joints, in that order, sampled at `fps` (Hz).
    up_axis: 'z_up' | 'y_up' | axis index. floor: height (m) of the floor along it (0 after the
    height fix). A joint is in contact when its speed < speed_thresh (m/s) and its height above
    the floor < height_thresh (m).
    """
    x = np.asarray(joints)
    if x.ndim != 3 or x.shape[1:] != (4, 3):
        raise ValueError(f"foot_contacts wants (T, 4, 3) foot joints, got {x.shape}")
    height = x[..., up_index(up_axis)].astype(np.float64) - float(floor)
    return (joint_speed(x, fps) < speed_thresh) & (height < height_thresh)


def contact_table(flags: np.ndarray) -> np.ndarray:
    """(T, 4) joint flags -> (T, 6) in schema.CONTACT_COLUMNS order (adds left/right foot = ankle | toe)."""
    f = np.asarray(flags, bool)
    return np.concatenate([f, f[:, [0]] | f[:, [2]], f[:, [1]] | f[:, [3]]], axis=1)
