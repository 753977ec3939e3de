"""ProtoMotions' contact rule (parity only); see motion.contacts."""

from __future__ import annotations

import numpy as np

from amass_arrow.config import PROTOMOTIONS, DefaultParams
from amass_arrow.motion.contacts import _check_feet, multi_horizon_velocity, register, up_index
from amass_arrow.motion.resample import decimation


@register("protomotions")
def protomotions_contacts(joints: np.ndarray, fps: float, up_axis: int | str = "z_up",
                          params: DefaultParams | None = None) -> np.ndarray:
    """ProtoMotions' contact labels (parity), returned at the source frames (T, F) bool.

    Read in NVlabs/ProtoMotions (2026-12): data/scripts/convert_amass_to_proto.py (divisor downsampling:
    output fps = the smallest divisor of round(fps) >= 30, every k-th frame, as resample.decimation;
    `motion.fix_height(height_offset=0.015)` for smpl, 0.017 smplx, then
    contact_detection.compute_contact_labels_from_pos_and_vel(vel_thres=0.15, height_thresh=0.1)),
    simulator_state.RobotState.fix_height (shift so the lowest body over ALL frames sits at the offset),
    pose_lib.compute_cartesian_velocity(velocity_max_horizon=3). A joint is in contact when
    |velocity| < 0.15 m/s and height < 0.10 m, at the output rate. Differences left: their lowest body
    is taken over all bodies of their MJCF skeleton (here: over the given foot joints, which hold the
    lowest one in practice) and their body positions come from a fixed skeleton, not the subject's
    betas. Each source frame takes the flags of the nearest output frame, so a store decimated to 30
    fps gets exactly theirs.
    `params` is unused: the thresholds are theirs, fixed.
    """
    x = _check_feet(joints)
    T = x.shape[0]
    if T == 0:
        return np.zeros((0, x.shape[1]), bool)
    k, out_fps = decimation(fps, PROTOMOTIONS["fps"])  # their divisor rule (resample.py)
    d = x[::k]
    up = up_index(up_axis)
    h = d[..., up] - d[..., up].min() + PROTOMOTIONS["height_offset"]
    v = np.linalg.norm(multi_horizon_velocity(d, out_fps, PROTOMOTIONS["horizon"]), axis=-1)
    flags = (v < PROTOMOTIONS["speed"]) & (h < PROTOMOTIONS["height"])
    near = np.clip(np.rint(np.arange(T) / k).astype(np.int64), 0, flags.shape[0] - 1)
    return flags[near]
