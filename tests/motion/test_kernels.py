"""amass_arrow.motion.kernels (numba) against the numpy reference: FK and slerp agree within 1e-6 m / rad.

Skipped only where numba is not installed (`make test` installs it with the dev extras).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from amass_arrow import schema  # noqa: E402
from amass_arrow.motion.kinematics import forward_kinematics  # noqa: E402
from amass_arrow.motion.resample import slerp_axis_angle, source_times, target_times  # noqa: E402


@pytest.mark.parametrize("model", ["smpl", "smplh", "smplx"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fk_kernel_equals_numpy(model, dtype):
    rng = np.random.default_rng(1)
    parents = schema.SKELETONS[model][1]
    J, T = len(parents), 400
    rest = rng.normal(0, 0.15, (J, 3))
    pose = rng.normal(0, 0.7, (T, J, 3))
    pose[:20] = 0.0  # identity: the rest pose
    pose[20:40] *= 1e-9  # below the small-angle switch
    trans = rng.normal(0, 3, (T, 3))
    pose = pose.astype(dtype)
    ref = forward_kinematics(pose, rest, parents, trans, out_dtype=np.float64, jit=False)
    got = forward_kinematics(pose, rest, parents, trans, out_dtype=np.float64, jit=True)
    assert got.shape == (T, J, 3)
    # float32 poses: numpy poses in float32 (~1e-6 m), the kernel in float64
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-9)
    np.testing.assert_allclose(got[:20], np.broadcast_to(rest, (20, J, 3)) + trans[:20, None], atol=1e-12)


@pytest.mark.parametrize("jit", [False, True])
def test_fk_select_returns_those_joints_placed(jit):
    """select: only the chosen joints come back (the kernel writes only them), placed by the root rest and trans."""
    rng = np.random.default_rng(2)
    parents = schema.SKELETONS["smplh"][1]
    J, T = len(parents), 50
    rest, pose, trans = rng.normal(0, 0.15, (J, 3)), rng.normal(0, 0.7, (T, J, 3)), rng.normal(0, 3, (T, 3))
    full = forward_kinematics(pose, rest, parents, trans, out_dtype=np.float64, jit=jit)
    feet = [7, 8, 10, 11]
    got = forward_kinematics(pose, rest, parents, trans, out_dtype=np.float64, jit=jit, select=feet)
    assert got.shape == (T, 4, 3)
    np.testing.assert_array_equal(got, full[:, feet])
    unplaced = forward_kinematics(pose, rest, parents, None, out_dtype=np.float64, jit=jit, select=[0])
    np.testing.assert_allclose(unplaced[:, 0] + trans, full[:, 0], atol=1e-12)
    np.testing.assert_allclose(unplaced[:, 0], np.broadcast_to(rest[0], (T, 3)), atol=1e-12)  # the root sits at its rest


@pytest.mark.parametrize("src_fps,dst_fps", [(100.0, 30.0), (59.99, 30.0), (250.0, 60.0), (24.0, 30.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_slerp_kernel_equals_numpy(src_fps, dst_fps, dtype):
    rng = np.random.default_rng(2)
    T = 600
    aa = rng.normal(0, 1.2, (T, 3 * 21))
    aa[50:80] = aa[50]  # identical neighbours (lerp branch)
    aa[100:130] *= 1e-10  # near-identity rotations
    aa[200:210] *= 4.0  # angles beyond pi (unwrapped toward the source representation)
    aa = aa.astype(dtype)
    src, dst = source_times(T, src_fps), target_times(T, src_fps, dst_fps)
    ref = slerp_axis_angle(aa, src, dst, jit=False)
    got = slerp_axis_angle(aa, src, dst, jit=True)
    assert got.dtype == aa.dtype and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    # a column view of a wider array (how `poses` blocks arrive) gives the same
    wide = np.concatenate([np.zeros((T, 3), dtype), aa], axis=1)[:, 3:]
    np.testing.assert_array_equal(slerp_axis_angle(wide, src, dst, jit=True), got)


@pytest.mark.parametrize("fps", [30.0, 59.99, 100.0, 120.0, 250.0])
def test_window_speed_kernel_equals_numpy(fps):
    from amass_arrow.motion.contacts import window_speed

    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 0.01, (900, 4, 3)), axis=0)
    ref = window_speed(x, fps, 1.0 / 30.0, jit=False)
    got = window_speed(x, fps, 1.0 / 30.0, jit=True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    assert np.array_equal(window_speed(x[:2], fps, 0.1, jit=True), window_speed(x[:2], fps, 0.1, jit=False))


@pytest.mark.parametrize("T", [2, 3, 4, 250])
def test_quality_kernels_equal_numpy(T):
    from amass_arrow.motion.quality import jitter, peak_joint_speed

    rng = np.random.default_rng(4)
    x = np.cumsum(rng.normal(0, 0.02, (T, 22, 3)), axis=0)
    assert peak_joint_speed(x, 30.0, jit=True) == pytest.approx(peak_joint_speed(x, 30.0, jit=False), rel=1e-9)
    ref, got = jitter(x, 30.0, jit=False), jitter(x, 30.0, jit=True)
    assert (got is None) == (ref is None) == (T < 4)
    if ref is not None:
        assert got == pytest.approx(ref, rel=1e-9)




@pytest.mark.parametrize("T,fps,window", [(1, 30.0, 0.4), (5, 30.0, 0.4), (700, 120.0, 0.4), (700, 250.0, 0.5),
                                          (64, 30.0, 10.0), (61, 120.0, 0.5)])
def test_local_floor_kernel_equals_numpy(T, fps, window):
    from amass_arrow.motion.contacts import local_floor

    rng = np.random.default_rng(5)
    h = np.abs(np.cumsum(rng.normal(0, 0.01, (T, 4)), axis=0))
    h[T // 2:] += 0.18  # a step up
    np.testing.assert_array_equal(local_floor(h, fps, window, jit=True), local_floor(h, fps, window, jit=False))
    feet = rng.normal(size=(T, 4, 3))  # a strided column, as the detectors pass it
    np.testing.assert_array_equal(local_floor(feet[..., 2], fps, window, jit=True),
                                  local_floor(feet[..., 2], fps, window, jit=False))
