"""The default contact detector (the recommendation): window speed, local floor, hysteresis; see motion.contacts."""

from __future__ import annotations

import numpy as np

from amass_arrow.config import DefaultParams
from amass_arrow.motion.contacts import _check_feet, hysteresis, local_floor, register, up_index, window_speed


@register("default")
def default_contacts(joints: np.ndarray, fps: float, up_axis: int | str = "z_up",
                     params: DefaultParams | None = None) -> np.ndarray:
    """Contact flags (T, F) bool of (T, F, 3) foot-joint positions (m) at `fps` Hz: the default method.

    See the module docstring; `params` holds every threshold (MotionConfig's defaults when None). Heights are
    taken along `up_axis` ('z_up' | 'y_up' | index) above each joint's local floor, so no global floor
    is needed.
    """
    p = params or DefaultParams.defaults()
    x = _check_feet(joints)
    if x.shape[0] == 0:
        return np.zeros(x.shape[:2], bool)
    v = window_speed(x, fps, p.window)
    h = x[..., up_index(up_axis)]
    above = h - local_floor(h, fps, p.floor_window)
    strong = (v < p.speed) & (above < p.height)
    weak = (v < p.speed_exit) & (above < p.height_exit)
    gap = int(np.ceil(p.min_gap * fps - 1e-9))
    return hysteresis(strong, weak, gap, int(np.ceil(p.min_contact * fps - 1e-9)))
