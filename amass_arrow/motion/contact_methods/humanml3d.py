"""HumanML3D's foot rule (parity only); see motion.contacts."""

from __future__ import annotations

import numpy as np

from amass_arrow.config import HUMANML3D, DefaultParams
from amass_arrow.motion.contacts import _check_feet, register


@register("humanml3d")
def humanml3d_contacts(joints: np.ndarray, fps: float, up_axis: int | str = "z_up",
                       params: DefaultParams | None = None) -> np.ndarray:
    """HumanML3D's foot contacts (parity), returned at the source frames (T, F) bool.

    Read in EricGuo5513/HumanML3D (2026-12): raw_pose_processing.ipynb keeps every
    int(fps / 20)-th frame (250 fps -> every 12th, i.e. 20.8 fps: their quirk, kept);
    motion_representation.ipynb foot_detect(positions, 0.002): frame t of the output is in contact
    when the squared displacement to frame t + 1, summed over x, y, z, is < 0.002 m^2 (~0.89 m/s at
    20 fps); the height test is commented out. Their output has one row less; the last frame repeats
    the one before. Left: their joints are first retargeted to a reference skeleton (displacements
    scale by the leg-length ratio), not done here (export/humanml3d.py does it, for its 263-dim features).
    `up_axis` is unused (no height test).
    `params` is unused: the thresholds are theirs, fixed.
    """
    x = _check_feet(joints)
    T = x.shape[0]
    if T == 0:
        return np.zeros((0, x.shape[1]), bool)
    k = max(1, int(float(fps) / HUMANML3D["fps"]))
    d = x[::k]
    if d.shape[0] < 2:
        return np.zeros(x.shape[:2], bool)
    flags = (((d[1:] - d[:-1]) ** 2).sum(axis=-1) < HUMANML3D["sq_displacement"])
    flags = np.concatenate([flags, flags[-1:]], axis=0)
    near = np.clip(np.rint(np.arange(T) / k).astype(np.int64), 0, flags.shape[0] - 1)
    return flags[near]
