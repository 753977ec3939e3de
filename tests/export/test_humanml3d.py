"""HumanML3D features: parity with a literal transcription of the reference, block definitions, round trip, laws."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amass_arrow.export import humanml3d as h
from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.schema import SKELETONS
from amass_arrow.tools.synthetic.motion import KINDS, make_motion

# ---------------------------------------------------------------------------------------------------------------
# A slow, literal transcription of EricGuo5513/HumanML3D's motion_representation.ipynb (process_file,
# recover_from_ric), common/skeleton.py (Skeleton: get_offsets_joints, inverse_kinematics_np, forward_kinematics_np)
# and common/quaternion.py, step by step and loop by loop, in float32 wherever their *_np helpers cast to float32.
# It is the parity reference only: written independently of amass_arrow.export.humanml3d.
# ---------------------------------------------------------------------------------------------------------------

_RAW_OFFSETS = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
                         [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
                         [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)
_CHAINS = [[0, 2, 5, 8, 11], [0, 1, 4, 7, 10], [0, 3, 6, 9, 12, 15], [9, 14, 17, 19, 21], [9, 13, 16, 18, 20]]
# the t2m target offsets, typed in joint by joint
_TGT = {1: (.103074, 0, 0), 2: (-.109883, 0, 0), 3: (0, .131568, 0), 4: (0, -.393623, 0), 5: (0, -.390188, 0),
        6: (0, .14319, 0), 7: (0, -.432433, 0), 8: (0, -.425643, 0), 9: (0, .057365, 0), 10: (0, 0, .143382),
        11: (0, 0, .149419), 12: (0, .21936, 0), 13: (.137487, 0, 0), 14: (-.143383, 0, 0), 15: (0, 0, .103039),
        16: (0, -.131614, 0), 17: (0, -.122984, 0), 18: (0, -.25684, 0), 19: (0, -.263092, 0), 20: (0, -.266012, 0),
        21: (0, -.269876, 0)}
_TGT_OFFSETS = np.array([(0.0, 0.0, 0.0)] + [_TGT[j] for j in range(1, 22)])


_REF_DTYPE = [np.float32]  # their *_np helpers compute in float32; tests switch to float64 for exact-algorithm parity


def _f32(a):
    return np.asarray(a, dtype=_REF_DTYPE[0])


def _ref_qinv(q):
    q = _f32(q).copy()
    q[..., 1:] = -q[..., 1:]
    return q


def _ref_qmul(q, r):
    q, r = _f32(q), _f32(r)
    shape = q.shape
    q, r = q.reshape(-1, 4), r.reshape(-1, 4)
    terms = r[:, :, None] * q[:, None, :]  # outer product, terms[k, i, j] = r_i q_j
    w = terms[:, 0, 0] - terms[:, 1, 1] - terms[:, 2, 2] - terms[:, 3, 3]
    x = terms[:, 0, 1] + terms[:, 1, 0] - terms[:, 2, 3] + terms[:, 3, 2]
    y = terms[:, 0, 2] + terms[:, 1, 3] + terms[:, 2, 0] - terms[:, 3, 1]
    z = terms[:, 0, 3] - terms[:, 1, 2] + terms[:, 2, 1] + terms[:, 3, 0]
    return np.stack([w, x, y, z], axis=1).reshape(shape)


def _ref_qrot(q, v):
    q, v = _f32(q), _f32(v)
    shape = v.shape
    q, v = q.reshape(-1, 4), v.reshape(-1, 3)
    qvec = q[:, 1:]
    uv = np.cross(qvec, v)
    uuv = np.cross(qvec, uv)
    return (v + 2 * (q[:, :1] * uv + uuv)).reshape(shape)


def _ref_qbetween(v0, v1):
    v0, v1 = _f32(v0), _f32(v1)
    v = np.cross(v0, v1)
    w = np.sqrt((v0 ** 2).sum(-1, keepdims=True) * (v1 ** 2).sum(-1, keepdims=True)) + (v0 * v1).sum(-1, keepdims=True)
    q = np.concatenate([w, v], axis=-1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _ref_quat_to_cont6d(q):
    q = _f32(q)
    r, i, j, k = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    two_s = 2.0 / (q * q).sum(-1)
    m = np.stack([1 - two_s * (j * j + k * k), two_s * (i * j - k * r), two_s * (i * k + j * r),
                  two_s * (i * j + k * r), 1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
                  two_s * (i * k - j * r), two_s * (j * k + i * r), 1 - two_s * (i * i + j * j)], -1)
    m = m.reshape(q.shape[:-1] + (3, 3))
    return np.concatenate([m[..., 0], m[..., 1]], axis=-1)


class _RefSkeleton:
    def __init__(self):
        self.raw = _RAW_OFFSETS
        self.parents = [0] * 22
        self.parents[0] = -1
        for chain in _CHAINS:
            for j in range(1, len(chain)):
                self.parents[chain[j]] = chain[j - 1]
        self.offset = None

    def get_offsets_joints(self, joints):  # joints (22, 3)
        off = self.raw.copy()
        for i in range(1, 22):
            off[i] = np.linalg.norm(joints[i] - joints[self.parents[i]]) * off[i]
        self.offset = off
        return off

    def inverse_kinematics_np(self, joints, face_joint_idx, smooth_forward=False):
        from scipy.ndimage import gaussian_filter1d

        l_hip, r_hip, sdr_r, sdr_l = face_joint_idx  # (sic: their unpacking order)
        across1 = joints[:, r_hip] - joints[:, l_hip]
        across2 = joints[:, sdr_r] - joints[:, sdr_l]
        across = across1 + across2
        across = across / np.sqrt((across ** 2).sum(axis=-1))[:, None]
        forward = np.cross(np.array([[0, 1, 0]]), across, axis=-1)
        if smooth_forward:
            forward = gaussian_filter1d(forward, 20, axis=0, mode="nearest")
        forward = forward / np.sqrt((forward ** 2).sum(axis=-1))[..., None]
        target = np.array([[0, 0, 1]]).repeat(len(forward), axis=0)
        root_quat = _ref_qbetween(forward, target)
        quat_params = np.zeros(joints.shape[:-1] + (4,))
        root_quat[0] = np.array([[1.0, 0.0, 0.0, 0.0]])  # theirs: frame 0's root rotation is identity
        quat_params[:, 0] = root_quat
        for chain in _CHAINS:
            R = root_quat
            for j in range(len(chain) - 1):
                u = self.raw[chain[j + 1]][None].repeat(len(joints), axis=0)
                v = joints[:, chain[j + 1]] - joints[:, chain[j]]
                v = v / np.sqrt((v ** 2).sum(axis=-1))[:, None]
                rot_u_v = _ref_qbetween(u, v)
                R_loc = _ref_qmul(_ref_qinv(R), rot_u_v)
                quat_params[:, chain[j + 1], :] = R_loc
                R = _ref_qmul(R, R_loc)
        return quat_params

    def forward_kinematics_np(self, quat_params, root_pos):
        offsets = _f32(self.offset)[None].repeat(len(quat_params), axis=0)
        joints = np.zeros(quat_params.shape[:-1] + (3,))
        joints[:, 0] = root_pos
        for chain in _CHAINS:
            R = quat_params[:, 0]
            for i in range(1, len(chain)):
                R = _ref_qmul(R, quat_params[:, chain[i]])
                joints[:, chain[i]] = _ref_qrot(R, offsets[:, chain[i]]) + joints[:, chain[i - 1]]
        return joints


_FACE = [2, 1, 17, 16]
_FID_R, _FID_L = [8, 11], [7, 10]


def _ref_uniform_skeleton(positions, target_offset):
    src_skel = _RefSkeleton()
    src_offset = src_skel.get_offsets_joints(positions[0])
    tgt_offset = target_offset
    src_leg_len = np.abs(src_offset[5]).max() + np.abs(src_offset[8]).max()
    tgt_leg_len = np.abs(tgt_offset[5]).max() + np.abs(tgt_offset[8]).max()
    scale_rt = tgt_leg_len / src_leg_len
    tgt_root_pos = positions[:, 0] * scale_rt
    quat_params = src_skel.inverse_kinematics_np(positions, _FACE)
    src_skel.offset = target_offset
    return src_skel.forward_kinematics_np(quat_params, tgt_root_pos)


def _ref_process_file(positions, feet_thre=0.002):
    positions = _ref_uniform_skeleton(positions, _TGT_OFFSETS)
    floor_height = positions.min(axis=0).min(axis=0)[1]
    positions[:, :, 1] -= floor_height
    root_pos_init = positions[0]
    root_pose_init_xz = root_pos_init[0] * np.array([1, 0, 1])
    positions = positions - root_pose_init_xz
    r_hip, l_hip, sdr_r, sdr_l = _FACE
    across1 = root_pos_init[r_hip] - root_pos_init[l_hip]
    across2 = root_pos_init[sdr_r] - root_pos_init[sdr_l]
    across = across1 + across2
    across = across / np.sqrt((across ** 2).sum(axis=-1))[..., None]
    forward_init = np.cross(np.array([[0, 1, 0]]), across, axis=-1)
    forward_init = forward_init / np.sqrt((forward_init ** 2).sum(axis=-1))[..., None]
    root_quat_init = _ref_qbetween(forward_init, np.array([[0, 0, 1]]))
    root_quat_init = np.ones(positions.shape[:-1] + (4,)) * root_quat_init
    positions = _ref_qrot(root_quat_init, positions)
    global_positions = positions.copy()

    def foot_detect(positions, thres):
        velfactor = np.array([thres, thres])
        feet_l_x = (positions[1:, _FID_L, 0] - positions[:-1, _FID_L, 0]) ** 2
        feet_l_y = (positions[1:, _FID_L, 1] - positions[:-1, _FID_L, 1]) ** 2
        feet_l_z = (positions[1:, _FID_L, 2] - positions[:-1, _FID_L, 2]) ** 2
        feet_l = ((feet_l_x + feet_l_y + feet_l_z) < velfactor).astype(np.float32)
        feet_r_x = (positions[1:, _FID_R, 0] - positions[:-1, _FID_R, 0]) ** 2
        feet_r_y = (positions[1:, _FID_R, 1] - positions[:-1, _FID_R, 1]) ** 2
        feet_r_z = (positions[1:, _FID_R, 2] - positions[:-1, _FID_R, 2]) ** 2
        feet_r = ((feet_r_x + feet_r_y + feet_r_z) < velfactor).astype(np.float32)
        return feet_l, feet_r

    feet_l, feet_r = foot_detect(positions, feet_thre)

    def get_cont6d_params(positions):
        skel = _RefSkeleton()
        quat_params = skel.inverse_kinematics_np(positions, _FACE, smooth_forward=True)
        cont_6d_params = _ref_quat_to_cont6d(quat_params)
        r_rot = quat_params[:, 0].copy()
        velocity = (positions[1:, 0] - positions[:-1, 0]).copy()
        velocity = _ref_qrot(r_rot[1:], velocity)
        r_velocity = _ref_qmul(r_rot[1:], _ref_qinv(r_rot[:-1]))
        return cont_6d_params, r_velocity, velocity, r_rot

    cont_6d_params, r_velocity, velocity, r_rot = get_cont6d_params(positions)

    # get_rifke (in place on `positions`, as theirs)
    positions[..., 0] -= positions[:, 0:1, 0]
    positions[..., 2] -= positions[:, 0:1, 2]
    positions = _ref_qrot(np.repeat(r_rot[:, None], positions.shape[1], axis=1), positions)

    root_y = positions[:, 0, 1:2]
    r_velocity = np.arcsin(r_velocity[:, 2:3])
    l_velocity = velocity[:, [0, 2]]
    root_data = np.concatenate([r_velocity, l_velocity, root_y[:-1]], axis=-1)
    rot_data = cont_6d_params[:, 1:].reshape(len(cont_6d_params), -1)
    ric_data = positions[:, 1:].reshape(len(positions), -1)
    local_vel = _ref_qrot(np.repeat(r_rot[:-1, None], global_positions.shape[1], axis=1),
                          global_positions[1:] - global_positions[:-1])
    local_vel = local_vel.reshape(len(local_vel), -1)
    data = root_data
    data = np.concatenate([data, ric_data[:-1]], axis=-1)
    data = np.concatenate([data, rot_data[:-1]], axis=-1)
    data = np.concatenate([data, local_vel], axis=-1)
    data = np.concatenate([data, feet_l, feet_r], axis=-1)
    return data


def _ref_recover_from_ric(data, joints_num=22):
    data = _f32(data)
    rot_vel = data[..., 0]
    r_rot_ang = np.zeros_like(rot_vel)
    r_rot_ang[1:] = rot_vel[:-1]
    r_rot_ang = np.cumsum(r_rot_ang, axis=-1)
    r_rot_quat = np.zeros(data.shape[:-1] + (4,), _REF_DTYPE[0])
    r_rot_quat[..., 0] = np.cos(r_rot_ang)
    r_rot_quat[..., 2] = np.sin(r_rot_ang)
    r_pos = np.zeros(data.shape[:-1] + (3,), _REF_DTYPE[0])
    r_pos[1:, [0, 2]] = data[:-1, 1:3]
    r_pos = _ref_qrot(_ref_qinv(r_rot_quat), r_pos)
    r_pos = np.cumsum(r_pos, axis=-2)
    r_pos[..., 1] = data[..., 3]
    positions = data[..., 4:(joints_num - 1) * 3 + 4]
    positions = positions.reshape(positions.shape[:-1] + (-1, 3))
    positions = _ref_qrot(np.broadcast_to(_ref_qinv(r_rot_quat[..., None, :]), positions.shape[:-1] + (4,)), positions)
    positions[..., 0] += r_pos[..., 0:1]
    positions[..., 2] += r_pos[..., 2:3]
    return np.concatenate([r_pos[..., None, :], positions], axis=-2)


# ---------------------------------------------------------------------------------------------------------------
# motions
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def motions(synthetic_root):
    """Synthetic motions of every kind at 20 fps as HumanML3D-frame joints (T, 22, 3)."""
    registry = BodyModelRegistry(synthetic_root.body_models)
    out = {}
    for i, kind in enumerate(KINDS):
        bm = registry.get("smplh", ("male", "female")[i % 2])
        betas = np.random.default_rng(i).normal(0.0, 1.0, 16)
        m = make_motion(kind, bm, betas, fps=20.0, seconds=12.0, seed=i)
        pose = np.concatenate([m.root_orient, m.pose_body], 1).reshape(-1, 22, 3).astype(np.float64)
        j = forward_kinematics(pose, bm.rest_joints(betas)[:22], SKELETONS["smpl"][1][:22], m.trans.astype(np.float64))
        out[kind] = h.from_amass(j)
    return out


def _rest_pose(height: float = 0.0) -> np.ndarray:
    """The t2m target skeleton at rest (faces +Z), its root at the origin lifted by `height`: (22, 3)."""
    p = np.zeros((22, 3))
    for chain in _CHAINS:
        for a, b in zip(chain[:-1], chain[1:]):
            p[b] = p[a] + _TGT_OFFSETS[b]
    p[:, 1] += height
    return p


def _rot_y(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


# ---------------------------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------------------------

def _reference(joints, dtype):
    _REF_DTYPE[0] = dtype
    try:
        f = _ref_process_file(np.array(joints, dtype=np.float64))
        return f, _ref_recover_from_ric(f)
    finally:
        _REF_DTYPE[0] = np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_features_equal_the_reference_transcription(motions, kind):
    joints = motions[kind]
    ours = h.features(joints)
    assert ours.shape == (len(joints) - 1, 263) and ours.dtype == np.float32
    # the same algorithm in float64: equal to float32 rounding of the output
    ref, ref_joints = _reference(joints, np.float64)
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(h.recover_joints(ours), ref_joints, atol=2e-6, rtol=0)
    # as their code computes it (float32 quaternion helpers): 1e-4. Far from the start their float32 positions
    # lose ~2e-6 m at 30 m, i.e. ~1e-4 rad on the 5.7 cm spine bone, so compare within 15 m of the start.
    ref, ref_joints = _reference(joints, np.float32)
    near = np.linalg.norm(joints[:-1, 0, [0, 2]] - joints[0, 0, [0, 2]], axis=-1) < 15.0
    assert near.mean() > 0.5
    np.testing.assert_allclose(ours[near], ref[near], atol=1e-4, rtol=0)
    np.testing.assert_allclose(h.recover_joints(ours)[near], ref_joints[near], atol=1e-4, rtol=0)


def test_features_equal_the_reference_on_noisy_scaled_turned_joints(motions):
    # off-skeleton input: noise on every joint, a 1.1x body, a yaw and an offset; exercises every IK rotation
    rng = np.random.default_rng(7)
    joints = 1.1 * motions["turn"] @ _rot_y(2.0).T + np.array([3.0, 0.5, -2.0])
    joints = joints + rng.normal(0.0, 0.01, joints.shape)
    ours = h.features(joints)
    for dtype, atol in ((np.float64, 1e-6), (np.float32, 1e-4)):
        ref, ref_joints = _reference(joints, dtype)
        np.testing.assert_allclose(ours, ref, atol=atol, rtol=0)
        np.testing.assert_allclose(h.recover_joints(ours), ref_joints, atol=2 * atol, rtol=0)


def test_smoothing_equals_scipy_gaussian_filter():
    from scipy.ndimage import gaussian_filter1d

    x = np.random.default_rng(0).normal(size=(37, 2))  # shorter than the kernel: edge padding dominates
    np.testing.assert_allclose(h._smooth(x), gaussian_filter1d(x, 20, axis=0, mode="nearest"), atol=1e-12)


def _wrap_frames(f):
    """Rows whose angular velocity has the opposite sign of both neighbours: the heading quaternion's w >= 0 wrap."""
    a = np.sign(f[:, 0])
    return np.flatnonzero((a[1:-1] != a[:-2]) & (a[1:-1] != a[2:])) + 1


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_through_recovered_joints(motions, kind):
    f = h.features(motions[kind])
    again = h.features(h.recover_joints(f))
    # one frame shorter: the heading's Gaussian (radius 80 frames, edge-repeated) sees a different last frame;
    # and past a heading wrap (see test_heading_wrap_quirk) their recovery turns the body the wrong way
    n = len(again) - 81
    wraps = _wrap_frames(f)
    if len(wraps):
        n = min(n, wraps[0] - 81)
    assert n > 30
    np.testing.assert_allclose(again[:n], f[:n], atol=1e-5, rtol=0)


def test_heading_wrap_quirk(motions):
    # the reference's heading quaternion keeps w >= 0, so when the smoothed facing passes the start's backward
    # direction, q[t+1] * conj(q[t]) changes sign and the angular velocity flips sign for one frame (kept: parity)
    f = h.features(motions["turn"])
    wraps = _wrap_frames(f)
    assert len(wraps) == 1
    w = wraps[0]
    assert abs(f[w, 0] + f[w - 1, 0]) < 1e-4 and abs(f[w, 0] + f[w + 1, 0]) < 1e-4
    turned = np.degrees(2 * np.abs(np.cumsum(np.abs(f[:, 0]))))  # the true turn, whatever the sign flip
    assert 150 < turned[w] < 210  # relative to frame 0's smoothed heading, not exactly +Z


def test_straight_walk_along_z_block_by_block():
    T, step = 30, 0.06  # 1.2 m/s at 20 fps
    rest = _rest_pose(1.0)
    joints = rest[None] + np.arange(T)[:, None, None] * np.array([0.0, 0.0, step])
    f = h.features(joints)
    floor = rest[:, 1].min()
    np.testing.assert_allclose(f[:, 0], 0.0, atol=1e-7)  # no turning
    np.testing.assert_allclose(f[:, 1:3], np.tile([0.0, step], (T - 1, 1)), atol=1e-6)  # constant, forward
    np.testing.assert_allclose(f[:, 3], 1.0 - floor, atol=1e-6)  # root height above the lowest joint
    ric = (rest[1:] - rest[0] * np.array([1, 0, 1])) - np.array([0.0, floor, 0.0])
    np.testing.assert_allclose(f[:, 4:67], np.tile(ric.reshape(-1), (T - 1, 1)), atol=1e-6)
    np.testing.assert_allclose(f[:, 67:193], np.tile([1, 0, 0, 0, 1, 0], (T - 1, 21)), atol=1e-6)  # rest = identity
    np.testing.assert_allclose(f[:, 193:259], np.tile([0.0, 0.0, step], (T - 1, 22)), atol=1e-6)
    assert (f[:, 259:] == 0).all()  # 0.06 m per frame: 0.0036 m^2 > 0.002
    # the same walk heading along +X (body turned to face +X) gives the same features
    turned = joints @ _rot_y(np.pi / 2).T
    np.testing.assert_allclose(h.features(turned), f, atol=1e-5)
    rec = h.recover_joints(f)
    np.testing.assert_allclose(rec[:, 0, 2], np.arange(T - 1) * step, atol=1e-5)


def test_rotating_about_y_and_moving_gives_identical_features(motions):
    joints = motions["turn"]
    f = h.features(joints)
    for theta, shift in ((0.7, (1.0, 0.0, -3.0)), (-2.5, (0.0, 0.3, 5.0)), (np.pi, (0.0, 0.0, 0.0))):
        np.testing.assert_allclose(h.features(joints @ _rot_y(theta).T + np.array(shift)), f, atol=1e-5)


def test_contact_rule():
    # squared displacement per frame below 0.002 m^2 is a contact; no height test; columns 7, 10, 8, 11
    g = np.zeros((3, 22, 3))
    g[:, :, 1] = 5.0  # far above the floor: height does not matter
    g[1:, 7, 0] = 0.0447  # 0.001998 m^2 -> contact (frame 0->1), then still (1->2)
    g[1, 10, 2] = 0.0448  # 0.002007 m^2 -> no contact, then back: no contact
    g[2, 8, 1] = 5.01  # tiny vertical step -> contact
    g[:, 11, 0] = [0.0, 0.1, 0.2]
    c = h.foot_contacts(g)
    np.testing.assert_array_equal(c, [[1, 0, 1, 0], [1, 0, 1, 0]])
    assert c.dtype == np.float32
    # end to end: a rigid glide just under / over the threshold
    rest = _rest_pose(1.0)
    for step, expect in ((0.0445, 1.0), (0.0450, 0.0)):
        joints = rest[None] + np.arange(10)[:, None, None] * np.array([0.0, 0.0, step])
        assert (h.features(joints)[:, 259:] == expect).all()


def test_mirror_swaps_sides_and_flips_turning(motions):
    joints = motions["turn"]
    m = h.mirror(joints)
    np.testing.assert_array_equal(h.mirror(m), joints)
    np.testing.assert_array_equal(m[:, 1], joints[:, 2] * [-1, 1, 1])  # left hip <- right hip, x negated
    np.testing.assert_array_equal(m[:, 21], joints[:, 20] * [-1, 1, 1])  # right wrist <- left wrist
    np.testing.assert_array_equal(m[:, 15], joints[:, 15] * [-1, 1, 1])  # head stays, x negated
    # the retarget is not left/right symmetric (right-leg scale, unequal target sides), so only roughly:
    f, fm = h.features(joints), h.features(m)
    turn, turn_m = 2 * np.cumsum(f[:100, 0]), 2 * np.cumsum(fm[:100, 0])  # before the heading wrap
    assert abs(turn[-1]) > 1.0
    np.testing.assert_allclose(turn_m, -turn, atol=0.02)


def test_from_amass_axes():
    np.testing.assert_array_equal(h.from_amass(np.array([[1.0, 2.0, 3.0]])), [[-1.0, 3.0, 2.0]])


def test_group_std_averages_within_groups():
    std = np.arange(263, dtype=np.float64)
    g = h.group_std(std)
    assert g[0] == 0 and (g[1:3] == 1.5).all() and g[3] == 3
    assert (g[4:67] == np.arange(4, 67).mean()).all() and (g[67:193] == np.arange(67, 193).mean()).all()
    assert (g[193:259] == np.arange(193, 259).mean()).all() and (g[259:] == 260.5).all()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="22, 3"):
        h.features(np.zeros((10, 24, 3)))
    with pytest.raises(ValueError, match="NaN"):
        h.features(np.full((10, 22, 3), np.nan))
    with pytest.raises(ValueError, match="263"):
        h.recover_joints(np.zeros((10, 262)))


# ---------------------------------------------------------------------------------------------------------------
# the exporter
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(demo_store, tmp_path_factory):
    """`amass-arrow export --kind humanml3d --mirror true` of the official split, rows captioned by the SQL."""
    from amass_arrow.cli import main

    tmp = tmp_path_factory.mktemp("hml3d")
    sql = tmp / "captioned.sql"
    sql.write_text(open("sql/splits/amass_official.sql").read().replace(
        "END AS split", "END AS split, 'a person walks to the left' AS text"))
    assert main(["export", str(demo_store), "--sql", str(sql), "--kind", "humanml3d", "--mirror", "true",
                 "--out", str(tmp / "out"), "--quiet"]) == 0
    return tmp / "out" / "captioned" / "humanml3d"


def _index(out):
    import csv

    with open(out / "index.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_layout_and_dtypes(exported):
    rows = _index(exported)
    names = [r["new_name"] for r in rows]
    assert names[0] == "000000" and "M000000" in names and len(names) == len(set(names))
    all_ids = (exported / "all.txt").read_text().split()
    assert all_ids == names
    by_split = {s: [r["new_name"] for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    for stem, split in (("train", "train"), ("val", "validation"), ("test", "test")):
        assert (exported / f"{stem}.txt").read_text().split() == by_split[split]
    assert by_split["train"] and by_split["validation"] and by_split["test"]
    for r in rows[:6]:
        v = np.load(exported / "new_joint_vecs" / f"{r['new_name']}.npy")
        j = np.load(exported / "new_joints" / f"{r['new_name']}.npy")
        assert v.dtype == np.float32 and v.shape == (int(r["frames"]), 263)
        assert j.dtype == np.float32 and j.shape == (int(r["frames"]), 22, 3)
        np.testing.assert_allclose(j, h.recover_joints(v), atol=1e-5)
        lines = (exported / "texts" / f"{r['new_name']}.txt").read_text().splitlines()
        side = "right" if r["mirrored"] == "1" else "left"
        assert lines == [f"a person walks to the {side}#a/OTHER person/OTHER walks/OTHER to/OTHER the/OTHER {side}/OTHER#0.0#0.0"]
    mean, std = np.load(exported / "Mean.npy"), np.load(exported / "Std.npy")
    assert mean.shape == std.shape == (263,) and mean.dtype == std.dtype == np.float32
    meta = json.loads((exported / "humanml3d.json").read_text())
    assert meta["mean_std"]["split"] == "train" and meta["mean_std"]["clips"] == len(by_split["train"])


def test_export_features_are_the_store_joints_at_20fps(demo_store, exported):
    from amass_arrow.query.sql import connect

    r = _index(exported)[0]
    con = connect(demo_store)
    t, j = zip(*con.execute("SELECT t, joints FROM frames WHERE seq_id = ? AND t >= ? AND t < ? ORDER BY frame",
                            [r["seq_id"], float(r["start_t"]), float(r["end_t"])]).fetchall())
    t = np.array(t, np.float64)
    j = np.array(j, np.float64).reshape(len(t), -1, 3)[:, :22]
    tq = t[0] + np.arange(int((t[-1] - t[0]) * 20 + 1e-6) + 1) / 20.0
    j20 = np.stack([[np.interp(tq, t, j[:, k, c]) for c in range(3)] for k in range(22)]).transpose(2, 0, 1)
    hml = np.stack([-j20[..., 0], j20[..., 2], j20[..., 1]], axis=-1)  # (x, y, z)_AMASS -> (-x, z, y)
    np.testing.assert_allclose(np.load(exported / "new_joint_vecs" / f"{r['new_name']}.npy"), h.features(hml), atol=2e-5)
    np.testing.assert_allclose(np.load(exported / "new_joint_vecs" / f"M{r['new_name']}.npy"),
                               h.features(h.mirror(hml)), atol=2e-5)


def test_export_mean_std_follow_their_recipe_on_train(exported):
    rows = _index(exported)
    data = np.concatenate([np.load(exported / "new_joint_vecs" / f"{r['new_name']}.npy") for r in rows
                           if r["split"] == "train"]).astype(np.float64)
    np.testing.assert_allclose(np.load(exported / "Mean.npy"), data.mean(0), rtol=1e-6, atol=1e-7)
    std = data.std(0)
    for a, b in ((0, 1), (1, 3), (3, 4), (4, 67), (67, 193), (193, 259), (259, 263)):
        np.testing.assert_allclose(np.load(exported / "Std.npy")[a:b], std[a:b].mean(), rtol=1e-5)


def test_caption_lines_place_segments_and_mirror():
    caps = [(0.0, 10.0, "walk forward", False, None), (2.0, 3.0, "turn left", False, None),
            (20.0, 30.0, "sit", False, None), (2.0, 3.0, "turn right (mirrored file)", True, None)]
    row = (1.0, 5.0)
    assert h._caption_lines(caps, row, None, False) == ["walk forward#walk/OTHER forward/OTHER#0.0#0.0",
                                                  "turn left#turn/OTHER left/OTHER#1.000#2.000"]
    assert h._caption_lines(caps, row, None, True) == ["turn right (mirrored file)#turn/OTHER right/OTHER mirrored/OTHER "
                                                 "file/OTHER#1.000#2.000"]
    assert h._caption_lines(caps[:2], row, None, True)[1] == "turn right#turn/OTHER right/OTHER#1.000#2.000"
    assert h._caption_lines([], row, None, False) == []
    assert h._caption_lines([], row, "jog left", True) == ["jog right#jog/OTHER right/OTHER#0.0#0.0"]


def test_resampling_to_20fps_is_linear():
    t = np.arange(31) / 30.0  # 1 s at 30 fps
    j = np.broadcast_to(t[:, None, None] * np.array([1.0, 2.0, 3.0]), (31, 22, 3))
    out = h._to_20fps(j, t, 30.0)
    assert out.shape == (21, 22, 3)
    np.testing.assert_allclose(out[:, 5], (np.arange(21) / 20.0)[:, None] * [1.0, 2.0, 3.0], atol=1e-12)
    assert h._to_20fps(j, t, 20.0) is j


# ---------------------------------------------------------------------------------------------------------------
# texts as the field's loaders read them: a transcription of the reading rules of MDM's Text2MotionDatasetV2
# (data_loaders/humanml/data/dataset.py) and WordVectorizer (word/POS split), written from reading them
# ---------------------------------------------------------------------------------------------------------------

def _loader_entries(folder, split_file, min_motion_len=40):
    """{entry name: (clip id, caption, tokens, frames)}: a whole clip is one entry per caption under its id (if any
    caption line is 0.0#0.0), every other line its own sub-clip entry motion[int(f*20):int(t*20)] (length-filtered)."""
    entries = {}
    for name in (folder / split_file).read_text().splitlines():
        name = name.strip()
        try:
            motion = np.load(folder / "new_joint_vecs" / f"{name}.npy")
            if len(motion) < min_motion_len or len(motion) >= 200:
                continue
            whole = []
            for k, line in enumerate((folder / "texts" / f"{name}.txt").read_text().splitlines()):
                caption, tokens, f_tag, to_tag = line.strip().split("#")[:4]
                f_tag, to_tag = (0.0 if np.isnan(float(v)) else float(v) for v in (f_tag, to_tag))
                if f_tag == 0.0 and to_tag == 0.0:
                    whole.append((caption, tokens.split(" ")))
                else:
                    n = len(motion[int(f_tag * 20):int(to_tag * 20)])
                    if min_motion_len <= n < 200:
                        entries[f"sub{k}_{name}"] = (name, caption, tokens.split(" "), n)
            for caption, tokens in whole:
                entries.setdefault(name, [])
                entries[name].append((name, caption, tokens, len(motion)))
        except OSError:  # their bare except: ids without files are skipped
            pass
    return entries


def _pos(tokens):
    return {t.split("/")[1] for t in tokens}


@pytest.fixture(scope="module")
def captioned(demo_store, synthetic_root, tmp_path_factory):
    """A copy of the demo store with the synthetic archive's HumanML3D texts imported; its default export."""
    import shutil

    from amass_arrow.cli import main
    from amass_arrow.labels import humanml3d as hl
    from amass_arrow.labels import write_labels
    from amass_arrow.tools.synthetic.annotations import make_annotations

    tmp = tmp_path_factory.mktemp("captioned")
    shutil.copytree(demo_store.parent, tmp / "demo", symlinks=True)  # the store link and its builds, as they are
    store = tmp / "demo" / demo_store.name
    assert store.is_symlink() and store.resolve().is_relative_to(tmp)
    ann = make_annotations(tmp / "ann", synthetic_root.files, seed=0)
    write_labels(store, hl.import_humanml3d(store, ann.humanml3d_index, ann.humanml3d_texts))
    outs = {}
    for name, extra in (("sequences", []), ("captions", ["--slice", "sql/slices/captions.sql"])):
        assert main(["export", str(store), "--sql", "sql/splits/amass_official.sql", *extra, "--kind", "humanml3d",
                     "--mirror", "--out", str(tmp / name), "--quiet"]) == 0
        outs[name] = tmp / name / "amass_official" / "humanml3d"
    return store, ann, outs


def test_texts_keep_the_source_tokens_and_tags(captioned):
    from amass_arrow.query.sql import connect

    store, _, outs = captioned
    con = connect(store)
    src = {(t, bool(m)): tok for t, m, tok in con.execute(
        "SELECT text, list_contains(flags, 'mirrored'), tokens FROM labels WHERE source = 'humanml3d'").fetchall()}
    assert src and all(src.values())
    lines = [ln for p in (outs["sequences"] / "texts").glob("*.txt") for ln in p.read_text().splitlines()]
    assert lines
    for ln in lines:
        caption, tokens = ln.split("#")[:2]
        mirrored = h._swap_sides(caption)  # an M clip without mirrored captions: the caption, sides swapped
        assert tokens in (src.get((caption, False)), src.get((caption, True)),
                          h._swap_sides(src.get((mirrored, False)) or ""))
    entries = _loader_entries(outs["captions"], "train.txt")
    tags = set().union(*(_pos(e[2]) for v in entries.values() for e in (v if isinstance(v, list) else [v])))
    assert "OTHER" not in tags and {"NOUN", "VERB"} <= tags


def test_whole_clip_captions_are_written_0_0(captioned):
    import csv as _csv

    store, ann, outs = captioned
    from amass_arrow.query.sql import connect

    con = connect(store)
    # captions HumanML3D wrote 0.0#0.0 on a whole untrimmed file ([0:-1]: all but its last 20 fps frame)
    untrimmed = {"Eyes_Japan_Dataset", "MPI_HDM05", "TotalCapture", "MPI_Limits", "Transitions_mocap"}
    with open(ann.humanml3d_index, newline="") as fh:
        whole_files = {r["new_name"][:-4] for r in _csv.DictReader(fh)
                       if r["start_frame"] == "0" and r["end_frame"] == "-1" and "humanact12" not in r["source_path"]
                       and r["source_path"].split("/")[2] not in untrimmed and not r["new_name"].startswith("M")}
    rows = con.execute("SELECT seq_id, text FROM labels WHERE source = 'humanml3d' AND NOT list_contains(flags, "
                       "'mirrored') AND source_ref IN (SELECT unnest($1))", [sorted(whole_files)]).fetchall()
    assert rows
    with open(outs["sequences"] / "index.csv", newline="") as fh:
        clip_of = {r["seq_id"]: r["new_name"] for r in _csv.DictReader(fh) if r["mirrored"] == "0"}
    checked = 0
    for seq_id, text in rows:
        if seq_id not in clip_of:
            continue
        lines = (outs["sequences"] / "texts" / f"{clip_of[seq_id]}.txt").read_text().splitlines()
        [line] = [ln for ln in lines if ln.split("#")[0] == text]
        assert line.endswith("#0.0#0.0"), line
        checked += 1
    assert checked >= 3
    # timed captions stay sub-clips, relative to the clip; with caption rows every clip is whole, no sub-clip entry
    subs = [ln for p in (outs["sequences"] / "texts").glob("*.txt") for ln in p.read_text().splitlines()
            if not ln.endswith("#0.0#0.0")]
    assert subs and all(0.0 <= float(ln.split("#")[2]) < float(ln.split("#")[3]) for ln in subs)
    entries = _loader_entries(outs["captions"], "train.txt")
    assert entries and not [k for k in entries if k.startswith("sub")]
