"""Floor estimate and contact flags: hand-made trajectories here, synthetic walks in test_motion."""

from __future__ import annotations

import numpy as np
import pytest

from amass_arrow.contacts import contact_table, floor_height, foot_contacts, joint_speed


def _stepping_feet(fps=30.0, seconds=4.0, lift=0.2, lift_t=(1.0, 1.5)):
    """Left foot planted; right foot lifts and moves forward during lift_t. Toe at 0.03, ankle at 0.08."""
    t = np.arange(int(seconds * fps) + 1) / fps
    T = len(t)
    j = np.zeros((T, 4, 3))
    j[:, [0, 1], 2] = 0.08
    j[:, [2, 3], 2] = 0.03
    j[:, [0, 2], 1] = 0.1
    j[:, [1, 3], 1] = -0.1
    swing = (t >= lift_t[0]) & (t <= lift_t[1])
    phase = np.clip((t - lift_t[0]) / (lift_t[1] - lift_t[0]), 0, 1)
    j[:, [1, 3], 0] += (0.5 * (1 - np.cos(np.pi * phase)))[:, None] * 0.6
    j[:, [1, 3], 2] += (lift * np.sin(np.pi * phase))[:, None]
    return t, j, swing


def test_floor_height_is_the_lowest_foot_joint_level():
    _, j, _ = _stepping_feet()
    assert floor_height(j[..., 2]) == pytest.approx(0.03)
    assert floor_height(j[..., 2] + 0.5) == pytest.approx(0.53)
    assert floor_height(j[..., 2], toe_offset=0.03) == pytest.approx(0.0)
    assert floor_height(np.zeros((0, 4))) == 0.0


def test_floor_height_robust_to_glitches():
    _, j, _ = _stepping_feet()
    h = j[..., 2].copy()
    h[[3, 50], 2] = -1.0  # two glitched frames (< 5 % of 121)
    assert floor_height(h) == pytest.approx(0.03)


def test_foot_contacts_planted_vs_swing():
    t, j, swing = _stepping_feet()
    c = foot_contacts(j, 30.0, "z_up")
    assert c.shape == (len(t), 4) and c.dtype == bool
    assert c[:, 0].all() and c[:, 2].all()  # left foot never moves
    assert not c[swing & (t > 1.05) & (t < 1.45), 1].any()  # right foot in the air
    assert c[(t < 0.9) | (t > 1.6), 1].all()  # right foot planted before and after


def test_foot_contacts_height_and_axis():
    _, j, _ = _stepping_feet()
    up = j.copy()
    up[..., 2] += 0.5  # hovering but still: not in contact unless the floor is given
    assert not foot_contacts(up, 30.0, "z_up").any()
    assert foot_contacts(up, 30.0, "z_up", floor=0.5)[:, 0].all()
    yup = j[..., [0, 2, 1]] * [1, 1, -1]
    np.testing.assert_array_equal(foot_contacts(yup, 30.0, "y_up"), foot_contacts(j, 30.0, 2))


def test_joint_speed_central_differences():
    t = np.arange(10) / 30.0
    x = np.zeros((10, 1, 3))
    x[:, 0, 0] = 0.3 * t  # 0.3 m/s
    np.testing.assert_allclose(joint_speed(x, 30.0), 0.3)
    assert joint_speed(x[:1], 30.0).shape == (1, 1)


def test_contact_table_or_of_ankle_and_toe():
    f = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(
        contact_table(f)[:, 4:], [[True, False], [False, True], [False, False]]
    )
