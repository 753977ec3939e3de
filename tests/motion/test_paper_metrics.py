"""motion.paper_metrics against transcriptions of the papers' code (written from reading it), on random and
synthetic motion, with the edge cases that change published numbers: T < 5, padded lengths, feet exactly at
the thresholds, lengths below 3."""

from __future__ import annotations

import numpy as np
import pytest

from amass_arrow.motion import paper_metrics as pm

scipy_ndimage = pytest.importorskip("scipy.ndimage")


# ---------------------------------------------------------------- the references, transcribed
def gmd_skating_ratio(motions: np.ndarray) -> np.ndarray:
    """GMD data_loaders/humanml/utils/metrics.py calculate_skating_ratio, step by step.
    motions: (bs, 22, 3, max_len) numpy (theirs is a torch tensor they .detach().cpu().numpy())."""
    thresh_height, fps, thresh_vel, avg_window = 0.05, 20.0, 0.50, 5
    feet = motions[:, [10, 11], :, :]
    plane_vel = np.linalg.norm(feet[:, :, [0, 2], 1:] - feet[:, :, [0, 2], :-1], axis=2) * fps
    vel_avg = scipy_ndimage.uniform_filter1d(plane_vel, axis=-1, size=avg_window, mode="constant", origin=0)
    height = feet[:, :, 1, :]
    contact = np.logical_and(height[:, :, :-1] < thresh_height, height[:, :, 1:] < thresh_height)
    skating = np.logical_and(contact, plane_vel > thresh_vel)
    skating = np.logical_and(skating, vel_avg > thresh_vel)
    skating = np.logical_or(skating[:, 0, :], skating[:, 1, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(skating, axis=1) / skating.shape[1]


def flowmdm_jerk(poses: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """FlowMDM data_loaders/humanml/utils/metrics.py calculate_jerk, step by step (their vel/acc zeroing kept)."""
    poses = poses.copy()
    vel = poses[:, 1:] - poses[:, :-1]
    acc = vel[:, 1:] - vel[:, :-1]
    jerk = acc[:, 1:] - acc[:, :-1]
    for i in range(jerk.shape[0]):
        vel[i, lengths[i] - 1:] = 0
        acc[i, lengths[i] - 2:] = 0
        jerk[i, lengths[i] - 3:] = 0
    jerk = np.sum(np.abs(jerk), axis=-1)
    return np.max(np.abs(jerk), axis=-1)


def flowmdm_summaries(all_jerks: np.ndarray, gt_jerk: float) -> tuple[float, float]:
    """FlowMDM utils/metrics.py evaluate_jerk: (PeakJerk, AUJ) of the concatenated [N, SEQ] jerks."""
    seq_jerks = all_jerks.mean(axis=0)
    return seq_jerks.max(), np.sum(np.abs(seq_jerks - gt_jerk))


def _walk(T: int, seed: int, speed: float = 1.2, lift: float = 0.0) -> np.ndarray:
    """(T, 22, 3) Y-up joints at 20 fps: a body moving along x, toes near the floor (with noise), some lifted."""
    rng = np.random.default_rng(seed)
    j = rng.normal(0, 0.3, (T, 22, 3)).astype(np.float32)
    t = np.arange(T) / 20.0
    j[:, :, 0] += (speed * t)[:, None]
    j[:, :, 1] = np.abs(j[:, :, 1]) + 0.5
    step = (np.sin(2 * np.pi * 1.5 * t) > 0)
    for toe, down in ((10, step), (11, ~step)):  # swinging toes move at 2x the body speed
        x = np.cumsum(np.where(down, 0.3 * speed / 20.0, 2 * speed / 20.0)) + rng.normal(0, 0.002, T)  # planted: slides at 0.3x
        j[:, toe, 0] = x
        j[:, toe, 2] = 0.1 * (toe - 10.5) + rng.normal(0, 0.002, T)
        j[:, toe, 1] = np.where(down, 0.02, 0.12) + lift + rng.normal(0, 0.005, T)
    return j


# ---------------------------------------------------------------- uniform average = scipy's, bit for bit
@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 6, 9, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_average_equals_scipy_bit_for_bit(T, dtype):
    x = (np.random.default_rng(T).random((3, 2, T)) * 3).astype(dtype)
    want = scipy_ndimage.uniform_filter1d(x, axis=-1, size=5, mode="constant", origin=0)
    got = pm.uniform_average(x, 5)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- skating ratio
@pytest.mark.parametrize("T", [2, 3, 4, 5, 6, 40, 196])
def test_skating_ratio_equals_gmd_on_random_and_walking_motion(T):
    batch = np.stack([_walk(T, s, speed=v) for s, v in enumerate([0.0, 0.4, 1.2, 3.0])])
    rnd = np.random.default_rng(T).normal(0, 0.05, (4, T, 22, 3)).astype(np.float32)
    for j in (batch, rnd, batch.astype(np.float64)):
        want = gmd_skating_ratio(np.moveaxis(j, 1, -1))
        np.testing.assert_array_equal(pm.skating_ratio(j), want)
    assert pm.skating_ratio(batch).shape == (4,)
    if T >= 40:  # the walks skate on some steps, the standing one never: the comparison is not all zeros
        r = pm.skating_ratio(batch)
        assert r[0] == 0.0 and r[3] > 0.0


def test_skating_ratio_counts_padding_frames_in_the_denominator():
    j = _walk(40, 1, speed=3.0)
    padded = np.concatenate([j, np.repeat(j[-1:], 60, axis=0)])  # padded by repeating the last frame, as loaders do
    r, rp = pm.skating_ratio(j[None])[0], pm.skating_ratio(padded[None])[0]
    assert r > 0
    assert rp == pytest.approx(r * 39 / 99)  # same skating steps, divided by T - 1 = 99 instead of 39
    np.testing.assert_array_equal(pm.skating_ratio(padded[None]), gmd_skating_ratio(np.moveaxis(padded[None], 1, -1)))


def test_skating_ratio_thresholds_are_strict_as_gmd():
    T = 12
    j = np.zeros((1, T, 22, 3), np.float64)
    j[0, :, 10, 1] = 0.05  # exactly at the height threshold: not in contact (< 0.05)
    j[0, :, 10, 0] = np.arange(T) * (1.0 / 20.0)  # 1 m/s
    assert pm.skating_ratio(j)[0] == 0.0
    j[0, :, 10, 1] = 0.0499
    assert pm.skating_ratio(j)[0] > 0.0
    j[0, :, 10, 0] = np.arange(T) * (0.5 / 20.0)  # 0.5 m/s exactly (up to rounding): compare with theirs
    np.testing.assert_array_equal(pm.skating_ratio(j), gmd_skating_ratio(np.moveaxis(j, 1, -1)))


def test_skating_ratio_of_one_frame_is_nan_like_theirs():
    j = _walk(1, 0)[None]
    assert np.isnan(pm.skating_ratio(j)[0]) and np.isnan(gmd_skating_ratio(np.moveaxis(j, 1, -1))[0])


def test_a_standing_body_does_not_skate_and_a_sliding_one_does():
    T = 40
    stand = np.zeros((T, 22, 3), np.float32)
    slide = stand.copy()
    slide[:, [10, 11], 0] = (np.arange(T) * 0.05)[:, None]  # toes on the floor moving 1 m/s
    r = pm.skating_ratio(np.stack([stand, slide]))
    assert r[0] == 0.0 and r[1] == pytest.approx(1.0)


def test_skating_ratio_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\(B, T, 22, 3\)"):
        pm.skating_ratio(np.zeros((10, 22, 3)))


# ---------------------------------------------------------------- jerk
@pytest.mark.parametrize("lengths", [[40, 40, 40], [40, 25, 7], [4, 3, 40], [2, 1, 0]])
def test_jerk_equals_flowmdm_with_padded_and_short_lengths(lengths):
    rng = np.random.default_rng(len(lengths) + sum(lengths))
    poses = rng.normal(0, 0.1, (3, 40, 22, 3)).astype(np.float32)
    want = flowmdm_jerk(poses, np.array(lengths))
    got = pm.jerk(poses, lengths)
    assert got.shape == (3, 37)
    np.testing.assert_array_equal(got, want)


def test_jerk_quirk_a_length_below_three_zeroes_only_the_tail():
    poses = np.random.default_rng(0).normal(0, 0.1, (1, 10, 22, 3))
    got = pm.jerk(poses, [2])[0]
    assert np.all(got[:-1] > 0) and got[-1] == 0  # lengths - 3 = -1: only the last frame zeroed, as theirs


def test_jerk_of_a_cubic_is_its_third_difference():
    t = np.arange(12, dtype=np.float64)
    poses = np.zeros((1, 12, 22, 3))
    poses[0, :, 5, 0] = 0.001 * t ** 3  # third difference 0.006 everywhere
    got = pm.jerk(poses, [12])[0]
    np.testing.assert_allclose(got[:9], 0.006, rtol=1e-9)


def test_peak_jerk_and_auj_equal_flowmdm_summaries():
    rng = np.random.default_rng(3)
    per_frame = np.abs(rng.normal(0.03, 0.01, (8, 37)))
    pj, auj = flowmdm_summaries(per_frame, 0.033031363)
    assert pm.peak_jerk(per_frame) == pytest.approx(pj, rel=0, abs=0)
    assert pm.area_under_jerk(per_frame) == pytest.approx(auj, rel=0, abs=0)
    assert pm.GT_JERK["humanml3d"] == 0.033031363 and pm.GT_JERK["babel"] == 0.016383045
