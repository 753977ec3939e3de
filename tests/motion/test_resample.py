"""Resampling laws: grid, slerp, lerp, decimation rule, Sequence resampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation, Slerp

from amass_arrow.motion.kinematics import rodrigues
from amass_arrow.motion.resample import (
    decimation,
    lerp,
    matrix_to_quat,
    quat_to_aa,
    resample_sequence,
    slerp_axis_angle,
    source_times,
    target_times,
)
from amass_arrow.source.sequence import Sequence

FPS = st.sampled_from([24.0, 25.0, 30.0, 50.0, 59.99, 60.0, 100.0, 120.0, 120.00004578, 250.0])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 2000), src=FPS, dst=FPS)
def test_target_times_grid(n, src, dst):
    t = target_times(n, src, dst)
    duration = (n - 1) / src
    assert len(t) == math.floor(duration * dst + 1e-6) + 1
    assert t[0] == 0.0
    assert t[-1] <= duration
    np.testing.assert_allclose(np.diff(t), 1.0 / dst, rtol=0, atol=1e-9)
    # the next grid point would fall past the end
    assert len(t) / dst > duration - 1e-6 / dst


def test_target_times_same_rate_hits_every_frame():
    t = target_times(121, 120.0, 120.0)
    np.testing.assert_array_equal(t, source_times(121, 120.0))
    assert len(target_times(0, 120, 30)) == 0
    np.testing.assert_array_equal(target_times(1, 120, 30), [0.0])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 200),
    src=FPS,
    dst=FPS,
    axis=st.tuples(*[st.floats(-1, 1)] * 3).filter(lambda v: np.linalg.norm(v) > 0.1),
    omega=st.floats(-3.0, 3.0),
    phase=st.floats(-1.0, 1.0),
)
def test_constant_angular_velocity_resamples_exactly(n, src, dst, axis, omega, phase):
    """Fixed axis, angle = phase + omega * t with |angle| < pi: slerp reproduces the law."""
    axis = np.asarray(axis) / np.linalg.norm(axis)
    t_src = source_times(n, src)
    duration = t_src[-1]
    if duration > 0:
        omega = float(np.clip(omega, -2.5 / duration, 2.5 / duration))  # keep |angle| < pi
    phase = float(np.clip(phase, -0.5, 0.5))
    aa = ((phase + omega * t_src)[:, None] * axis).astype(np.float64)
    t_dst = target_times(n, src, dst)
    out = slerp_axis_angle(aa, t_src, t_dst)
    want = (phase + omega * t_dst)[:, None] * axis
    np.testing.assert_allclose(out, want, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 300), src=FPS, dst=FPS, v=st.floats(-5, 5), x0=st.floats(-10, 10))
def test_constant_velocity_translation_exact(n, src, dst, v, x0):
    t_src = source_times(n, src)
    x = np.stack([x0 + v * t_src, -v * t_src, np.full(n, x0)], axis=1)
    t_dst = target_times(n, src, dst)
    out = lerp(x, t_src, t_dst)
    want = np.stack([x0 + v * t_dst, -v * t_dst, np.full(len(t_dst), x0)], axis=1)
    np.testing.assert_allclose(out, want, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 50), k=st.integers(1, 5))
def test_slerp_endpoints_and_source_frames_exact(seed, n, k):
    """Output samples that land on source frames reproduce them bit for bit, even for angles > pi."""
    rng = np.random.default_rng(seed)
    aa = (rng.normal(size=(n, k, 3)) * 2.0).astype(np.float32)
    t = source_times(n, 10.0)
    out = slerp_axis_angle(aa, t, t)
    np.testing.assert_array_equal(out, aa)
    flat = aa.reshape(n, 3 * k)
    ends = slerp_axis_angle(flat, t, np.array([0.0, t[-1]]))
    np.testing.assert_array_equal(ends, flat[[0, -1]])
    assert ends.dtype == np.float32 and ends.shape == (2, 3 * k)


def test_slerp_matches_scipy_and_takes_the_shortest_arc():
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(20, 6, 3)) * 1.7
    t = source_times(20, 30.0)
    td = target_times(20, 30.0, 47.0)
    out = slerp_axis_angle(aa, t, td)
    for k in range(6):
        ref = Slerp(t, Rotation.from_rotvec(aa[:, k]))(td)
        err = (Rotation.from_rotvec(out[:, k]) * ref.inv()).magnitude()
        assert err.max() < 1e-9


def test_slerp_antipodal_and_identical():
    # angles pi - e and -(pi - e) about z are 2e apart through pi: the midpoint is pi about z
    e = 0.1
    aa = np.array([[0, 0, np.pi - e], [0, 0, -(np.pi - e)]])
    mid = slerp_axis_angle(aa, np.array([0.0, 1.0]), np.array([0.5]))
    R = Rotation.from_rotvec(mid[0])
    assert (R * Rotation.from_rotvec([0, 0, np.pi]).inv()).magnitude() < 1e-9
    same = np.array([[0.3, -0.2, 0.1]] * 2)
    np.testing.assert_allclose(slerp_axis_angle(same, np.array([0.0, 1.0]), np.linspace(0, 1, 7)), [same[0]] * 7)


def test_slerp_keeps_large_angle_representation():
    """A root spinning past pi keeps a continuous axis-angle, not a jump to -pi."""
    t = source_times(5, 10.0)
    aa = np.outer(np.array([2.8, 2.9, 3.0, 3.1, 3.2]), [0, 0, 1.0])
    out = slerp_axis_angle(aa, t, target_times(5, 10.0, 40.0))
    np.testing.assert_allclose(out[:, 2], np.linspace(2.8, 3.2, len(out)), atol=1e-9)


def test_matrix_to_quat_roundtrip():
    rng = np.random.default_rng(3)
    aa = np.concatenate([rng.normal(size=(500, 3)) * 2, [[np.pi, 0, 0], [0, 0, 0], [0, -np.pi, 0]]])
    back = quat_to_aa(matrix_to_quat(rodrigues(aa)))
    np.testing.assert_allclose(rodrigues(back), rodrigues(aa), atol=1e-12)


@pytest.mark.parametrize("src", [120.0, 100.0, 250.0, 59.99])
def test_decimation_rule(src):
    """Output fps = the smallest divisor of round(src) that is >= 30; keep every k-th frame."""
    # written out from the rule's words: 120 -> 30, 100 -> 50 (100/3 is not whole), 250 -> 50, 59.99 -> 60 -> 30
    expected = {120.0: (30, 4), 100.0: (50, 2), 250.0: (50, 5), 59.99: (30, 2)}[src]
    k, nominal = decimation(src, 30.0)
    assert (nominal, k) == expected
    r = round(src)
    brute = min(d for d in range(1, r + 1) if r % d == 0 and d >= 30)
    assert brute == nominal


def _seq(n=241, fps=120.0, hands=True):
    rng = np.random.default_rng(7)
    return Sequence(
        seq_id="D/S/a", dataset="D", subject="S", name="a", source_path="D/S/a_poses.npz",
        surface_model="smplh", gender="female", betas=np.zeros(16, np.float32), fps=fps,
        fps_key="mocap_framerate",
        root_orient=(rng.normal(size=(n, 3)) * 0.3).astype(np.float32),
        pose_body=(rng.normal(size=(n, 63)) * 0.3).astype(np.float32),
        trans=np.cumsum(rng.normal(size=(n, 3)) * 0.01, axis=0).astype(np.float32),
        pose_hand=(rng.normal(size=(n, 90)) * 0.3).astype(np.float32) if hands else None,
        dmpls=rng.normal(size=(n, 8)).astype(np.float32),
    )


def test_resample_sequence_modes():
    seq = _seq()
    out, fps = resample_sequence(seq, 30.0, "interpolate")
    assert fps == 30.0 and out.fps == 30.0
    assert out.num_frames == 61  # 2 s at 30 fps, both ends included
    # 120 -> 30 lands on every 4th source frame: exact copies
    np.testing.assert_array_equal(out.pose_body, seq.pose_body[::4])
    np.testing.assert_array_equal(out.trans, seq.trans[::4])
    np.testing.assert_array_equal(out.dmpls, seq.dmpls[::4])
    assert out.pose_jaw is None and out.pose_body.dtype == np.float32

    dec, fps = resample_sequence(seq, 30.0, "decimate")
    assert fps == 30.0 and dec.num_frames == 61
    np.testing.assert_array_equal(dec.pose_hand, seq.pose_hand[::4])

    odd = _seq(fps=59.99)
    dec, fps = resample_sequence(odd, 30.0, "decimate")
    assert fps == pytest.approx(59.99 / 2) and dec.num_frames == 121

    same, fps = resample_sequence(seq, 30.0, "none")
    assert same is seq and fps == 120.0


def test_resample_sequence_upsamples_with_real_timestamps():
    seq = _seq(n=11, fps=10.0, hands=False)
    out, fps = resample_sequence(seq, 25.0, "interpolate")
    assert out.num_frames == 26 and out.pose_hand is None
    t_src, t_dst = source_times(11, 10.0), target_times(11, 10.0, 25.0)
    np.testing.assert_allclose(out.trans, lerp(seq.trans, t_src, t_dst))
    np.testing.assert_array_equal(out.root_orient[::5], seq.root_orient[::2])
