"""read: every variant parses to the documented pose split; bad files raise InputError with a reason code."""

import numpy as np
import pytest

from amass_arrow.errors import InputError
from amass_arrow.source.discover import discover
from amass_arrow.source.read import peek, read_sequence

RNG = np.random.default_rng(0)


def _src(root, rel):
    d = discover(root)
    [f] = [f for f in d.files if f.rel == rel]
    return f


def _write(root, rel, **arrays):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "wb") as fh:
        np.savez(fh, **arrays)
    return _src(root, rel)


def _smplh(T=5, **over):
    d = dict(poses=RNG.normal(size=(T, 156)) * 0.1, trans=RNG.normal(size=(T, 3)), betas=RNG.normal(size=16),
             gender="female", mocap_framerate=np.array(120.0), dmpls=np.zeros((T, 8)))
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def test_smplh_poses_split(tmp_path):
    a = _smplh()
    s = read_sequence(_write(tmp_path, "CMU/01/01_01_poses.npz", **a))
    assert (s.surface_model, s.gender, s.fps, s.fps_key, s.betas.shape) == ("smplh", "female", 120.0, "mocap_framerate", (16,))
    np.testing.assert_array_equal(s.root_orient, a["poses"][:, :3].astype(np.float32))
    np.testing.assert_array_equal(s.pose_body, a["poses"][:, 3:66].astype(np.float32))
    np.testing.assert_array_equal(s.pose_hand, a["poses"][:, 66:].astype(np.float32))
    assert s.pose_jaw is None and s.pose_eye is None and s.pose_smpl_hands is None
    assert s.root_orient.dtype == np.float32 and s.seq_id == "CMU/01/01_01"
    assert "dmpls_all_zero" in s.quality_flags
    assert s.content_hash.startswith("zip-") and len(s.content_hash) == 36


@pytest.mark.parametrize("chunked", [False, True], ids=["np.load", "chunked"])
def test_fingerprint_follows_content_and_flipped_bytes_fail_the_crc(tmp_path, monkeypatch, chunked):
    from amass_arrow.source import read
    from amass_arrow.source.read import source_fingerprint

    # the memory-mapped row-chunked reader (every stored member), or np.load's own reader
    monkeypatch.setattr(read, "CHUNKED_BYTES", 0 if chunked else 1 << 62)
    monkeypatch.setattr(read, "CHUNK_BYTES", 1000)  # several chunks even for this short take
    monkeypatch.setattr(read, "RELEASE_BYTES", 0)  # and each chunk's pages given back, as for hour-long takes
    a = _smplh(T=50)
    src = _write(tmp_path, "CMU/01/a_poses.npz", **a)
    same = _write(tmp_path, "CMU/02/b_poses.npz", **a)
    changed = _write(tmp_path, "CMU/03/c_poses.npz", **{**a, "trans": a["trans"] + 1e-9})
    assert source_fingerprint(src.path) == source_fingerprint(same.path) != source_fingerprint(changed.path)
    data = bytearray(src.path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the poses array: the zip's CRC-32 no longer matches
    src.path.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        read_sequence(_src(tmp_path, "CMU/01/a_poses.npz"))
    assert e.value.code == "corrupt" and "CRC" in e.value.message


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<f4", "<i2"])
def test_memory_mapped_reader_equals_np_load(tmp_path, monkeypatch, dtype):
    """The chunked memory-map reader gives np.load's values (as float32), whatever the member's dtype."""
    from amass_arrow.source import read

    a = _smplh(T=301, poses=(RNG.normal(size=(301, 156)) * (100 if dtype == "<i2" else 0.1)).astype(dtype),
               trans=RNG.normal(size=(301, 3)).astype(dtype))
    src = _write(tmp_path, "CMU/01/m_poses.npz", **a)
    monkeypatch.setattr(read, "CHUNKED_BYTES", 1 << 62)
    ref = read_sequence(src)
    monkeypatch.setattr(read, "CHUNKED_BYTES", 0)
    monkeypatch.setattr(read, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(read, "RELEASE_BYTES", 0)
    got = read_sequence(src)
    for k in ("root_orient", "pose_body", "pose_hand", "trans"):
        assert getattr(got, k).dtype == np.float32
        np.testing.assert_array_equal(getattr(got, k), getattr(ref, k))
    np.testing.assert_array_equal(got.trans, a["trans"].astype(np.float32))


@pytest.mark.parametrize("gender", [b"male", np.array(b"male"), np.array("male"), "Male ", "m"])
def test_gender_encodings(tmp_path, gender):
    s = read_sequence(_write(tmp_path, "CMU/01/g_poses.npz", **_smplh(gender=gender)))
    assert s.gender == "male"


def test_smplx_stageii_uses_split_keys_and_ignores_object_arrays(tmp_path):
    T = 4
    poses = RNG.normal(size=(T, 165)) * 0.1
    p = tmp_path / "GRAB/s1/apple_stageii.npz"
    p.parent.mkdir(parents=True)
    np.savez(p, poses=poses, root_orient=poses[:, :3], pose_body=poses[:, 3:66], pose_jaw=poses[:, 66:69],
             pose_eye=poses[:, 69:75], pose_hand=poses[:, 75:], trans=np.zeros((T, 3)), betas=np.zeros(300),
             gender=np.array("neutral"), mocap_frame_rate=np.array(59.99), surface_model_type=np.array("smplx"),
             markers_latent_vids=np.array([{"a": 1}], dtype=object))
    s = read_sequence(_src(tmp_path, "GRAB/s1/apple_stageii.npz"))
    assert (s.surface_model, s.fps, s.fps_key, s.betas.size) == ("smplx", 59.99, "mocap_frame_rate", 300)
    np.testing.assert_array_equal(s.pose_eye, poses[:, 69:75].astype(np.float32))
    np.testing.assert_array_equal(s.pose_hand, poses[:, 75:].astype(np.float32))


def test_old_165_file_is_smplx(tmp_path):
    a = _smplh(poses=RNG.normal(size=(5, 165)))
    s = read_sequence(_write(tmp_path, "KIT/3/old_poses.npz", **a))
    assert s.surface_model == "smplx"
    np.testing.assert_array_equal(s.pose_jaw, a["poses"][:, 66:69].astype(np.float32))
    assert peek(_src(tmp_path, "KIT/3/old_poses.npz")) == ("smplx", "female")


def test_smpl_72(tmp_path):
    a = _smplh(poses=RNG.normal(size=(5, 72)), betas=np.zeros(10))
    s = read_sequence(_write(tmp_path, "CMU/02/s_poses.npz", **a))
    assert s.surface_model == "smpl" and s.pose_hand is None
    np.testing.assert_array_equal(s.pose_smpl_hands, a["poses"][:, 66:72].astype(np.float32))
    assert s.full_pose().shape == (5, 24, 3)


def test_missing_gender_and_betas_come_from_shape_npz(tmp_path):
    (tmp_path / "CMU/05").mkdir(parents=True)
    np.savez(tmp_path / "CMU/05/shape.npz", betas=np.arange(16.0), gender=np.array("male"))
    s = read_sequence(_write(tmp_path, "CMU/05/a_poses.npz", **_smplh(gender=None, betas=None)))
    assert s.gender == "male" and s.betas[3] == 3.0


# ---------------------------------------------------------------- bad input: each names a reason
def _bad(tmp_path, rel, code, **arrays):
    src = _write(tmp_path, rel, **arrays)
    with pytest.raises(InputError) as e:
        read_sequence(src)
    assert e.value.code == code, e.value
    assert rel in str(e.value)
    return e.value


def test_bad_inputs_have_reasons(tmp_path):
    _bad(tmp_path, "A/1/nan_poses.npz", "non_finite", **_smplh(trans=np.full((5, 3), np.nan)))
    _bad(tmp_path, "A/1/inf_poses.npz", "non_finite", **_smplh(poses=np.full((5, 156), np.inf)))
    _bad(tmp_path, "A/1/zero_poses.npz", "zero_frames", **_smplh(T=0))
    _bad(tmp_path, "A/1/one_poses.npz", "too_few_frames", **_smplh(T=1))
    _bad(tmp_path, "A/1/gender_poses.npz", "unknown_gender", **_smplh(gender="robot"))
    _bad(tmp_path, "A/1/width_poses.npz", "bad_shape", **_smplh(poses=np.zeros((5, 100))))
    _bad(tmp_path, "A/1/rows_poses.npz", "bad_shape", **_smplh(trans=np.zeros((4, 3))))
    _bad(tmp_path, "A/1/nofps_poses.npz", "missing_fps", **_smplh(mocap_framerate=None))
    _bad(tmp_path, "A/1/fps0_poses.npz", "bad_fps", **_smplh(mocap_framerate=np.array(0.0)))
    _bad(tmp_path, "A/1/fpsneg_poses.npz", "bad_fps", **_smplh(mocap_framerate=np.array(-60.0)))
    _bad(tmp_path, "A/1/fpshuge_poses.npz", "bad_fps", **_smplh(mocap_framerate=np.array(1e9)))
    _bad(tmp_path, "A/1/notrans_poses.npz", "missing_key", **_smplh(trans=None))
    _bad(tmp_path, "A/1/noposes_poses.npz", "missing_key", **_smplh(poses=None))
    _bad(tmp_path, "A/1/mismatch_poses.npz", "model_mismatch", **_smplh(surface_model_type=np.array("smplx")))
    _bad(tmp_path, "A/1/x72_stageii.npz", "model_mismatch", **_smplh(poses=np.zeros((5, 72))))
    _bad(tmp_path, "A/1/strposes_poses.npz", "bad_dtype", **_smplh(poses=np.array(["a"] * 5)))


def test_object_array_only_file_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    p = tmp_path / "A/1/evil_poses.npz"
    p.parent.mkdir(parents=True)
    np.savez(p, poses=np.array([Payload()], dtype=object), gender=np.array([Payload()], dtype=object))
    with pytest.raises(InputError) as e:
        read_sequence(_src(tmp_path, "A/1/evil_poses.npz"))
    assert e.value.code == "object_array"
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, code",
    [(b"", "empty_file"), (b"this is not a zip at all", "not_npz"), (None, "corrupt")],
    ids=["empty", "not-a-zip", "truncated"],
)
def test_unreadable_files(tmp_path, content, code):
    p = tmp_path / "A/1/f_poses.npz"
    p.parent.mkdir(parents=True)
    if content is None:
        np.savez(p, **_smplh(T=200))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    else:
        p.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_sequence(_src(tmp_path, "A/1/f_poses.npz"))
    assert e.value.code == code


def test_fps_override_is_recorded(tmp_path):
    s = read_sequence(_write(tmp_path, "A/1/o_poses.npz", **_smplh()), fps_override=(60.0, "known wrong upstream"))
    assert (s.fps, s.fps_in_file, s.fps_override_reason) == (60.0, 120.0, "known wrong upstream")


# ---------------------------------------------------------------- every synthetic variant vs the generator's truth
def test_every_synthetic_variant_parses_to_what_the_generator_wrote(synthetic_root, monkeypatch):
    import pickle

    def no_unpickling(*a, **k):
        raise AssertionError("a reader must never unpickle an input file")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    by_rel = {f.rel: f for f in discover(synthetic_root.amass_root).files}
    variants, fps_seen = set(), set()
    for truth in synthetic_root.files:
        s = read_sequence(by_rel[truth.rel_path])
        a = truth.arrays
        variants.add(truth.variant)
        fps_seen.add(truth.fps)
        assert (s.seq_id, s.surface_model, s.gender) == (truth.seq_id, truth.surface_model, truth.gender), truth.rel_path
        assert (s.fps, s.fps_key, s.betas.size, s.num_frames) == (truth.fps, truth.fps_key, truth.num_betas, truth.num_frames)
        poses = a["poses"] if "poses" in a else np.concatenate(
            [a[k] for k in ("root_orient", "pose_body", "pose_jaw", "pose_eye", "pose_hand")], axis=1)
        f32 = poses.astype(np.float32)
        np.testing.assert_array_equal(s.root_orient, f32[:, :3])
        np.testing.assert_array_equal(s.pose_body, f32[:, 3:66])
        if truth.surface_model == "smplh":
            np.testing.assert_array_equal(s.pose_hand, f32[:, 66:156])
        elif truth.surface_model == "smplx":
            np.testing.assert_array_equal(s.pose_jaw, f32[:, 66:69])
            np.testing.assert_array_equal(s.pose_eye, f32[:, 69:75])
            np.testing.assert_array_equal(s.pose_hand, f32[:, 75:165])
        else:
            np.testing.assert_array_equal(s.pose_smpl_hands, f32[:, 66:72])
        np.testing.assert_array_equal(s.trans, a["trans"].astype(np.float32))
        np.testing.assert_array_equal(s.betas, a["betas"].astype(np.float32).ravel())
    assert variants == {"smplh_g", "smplx_stageii", "smplx_split_only", "smpl", "smplx_old165"}
    assert fps_seen >= {60.0, 100.0, 120.0, 120.00004578, 250.0, 59.99}
    encodings = {(f.gender_encoding) for f in synthetic_root.files}
    assert encodings == {"str", "bytes", "array1"}
