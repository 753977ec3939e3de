"""discover: paths -> dataset/subject/seq_id, skips, aliases, loops, duplicates."""

import os

import pytest

from amass_arrow.errors import InputError
from amass_arrow.source.discover import canonical_dataset, discover, inventory, parse_rel, seq_id_for


def _touch(root, rel, data=b"x"):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_seq_id_strips_suffixes():
    assert seq_id_for("CMU/01/01_01_poses.npz") == "CMU/01/01_01"
    assert seq_id_for("HDM05/bk/HDM_bk_01-01_01_120_stageii.npz") == "HDM05/bk/HDM_bk_01-01_01_120"
    assert seq_id_for("KIT/3/walk.npz") == "KIT/3/walk"


def test_parse_rel_layouts():
    assert parse_rel("CMU/01/01_01_poses.npz") == ("CMU", "01", "01_01")
    assert parse_rel("DS/file_poses.npz") == ("DS", "_", "file")
    assert parse_rel("DS/s1/take/a_poses.npz") == ("DS", "s1", "take/a")


def test_aliases_are_canonical_smplh_names():
    assert canonical_dataset("HDM05") == "MPI_HDM05"
    assert canonical_dataset("MoSh") == "MPI_mosh"
    assert canonical_dataset("Transitions") == "Transitions_mocap"
    assert canonical_dataset("SSM") == "SSM_synced"
    assert canonical_dataset("CMU") == "CMU"


def test_discover_skips_shape_and_stagei_and_sorts(tmp_path):
    _touch(tmp_path, "CMU/01/shape.npz")
    _touch(tmp_path, "CMU/01/01_02_poses.npz")
    _touch(tmp_path, "CMU/01/01_01_poses.npz")
    _touch(tmp_path, "GRAB/s1/apple_stagei.npz")
    _touch(tmp_path, "GRAB/s1/apple_stageii.npz")
    _touch(tmp_path, "CMU/01/readme.txt")
    d = discover(tmp_path)
    assert [f.seq_id for f in d.files] == ["CMU/01/01_01", "CMU/01/01_02", "GRAB/s1/apple"]
    assert [f.subject for f in d.files] == ["01", "01", "s1"]
    assert d.problems == []
    inv = inventory(d)
    assert inv["CMU"] == {"files": 2, "bytes": 2, "subjects": 1}


def test_discover_filters_datasets_by_either_alias(tmp_path):
    _touch(tmp_path, "HDM05/bk/a_stageii.npz")
    _touch(tmp_path, "CMU/01/b_poses.npz")
    d = discover(tmp_path, datasets=["MPI_HDM05"])
    assert [f.seq_id for f in d.files] == ["HDM05/bk/a"]


def test_duplicate_seq_id_is_a_problem_not_a_silent_drop(tmp_path):
    _touch(tmp_path, "CMU/01/x_poses.npz")
    _touch(tmp_path, "CMU/01/x_stageii.npz")
    d = discover(tmp_path)
    assert [f.rel for f in d.files] == ["CMU/01/x_poses.npz"]
    assert [(p.path, p.code) for p in d.problems] == [("CMU/01/x_stageii.npz", "duplicate_seq_id")]


def test_symlink_loop_is_walked_once(tmp_path):
    _touch(tmp_path, "CMU/01/a_poses.npz")
    os.symlink(tmp_path / "CMU", tmp_path / "CMU" / "01" / "loop")
    d = discover(tmp_path)
    assert [f.seq_id for f in d.files] == ["CMU/01/a"]


def test_file_directly_under_root_is_reported(tmp_path):
    _touch(tmp_path, "stray_poses.npz")
    d = discover(tmp_path)
    assert d.files == [] and [p.code for p in d.problems] == ["bad_layout"]


def test_missing_root_raises(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        discover(tmp_path / "nope")


def test_odd_names_are_parsed_verbatim(tmp_path):
    _touch(tmp_path, "sp ace=%ü/s..1/x_poses.npz")
    d = discover(tmp_path)
    assert (d.files[0].dataset, d.files[0].subject, d.files[0].seq_id) == ("sp ace=%ü", "s..1", "sp ace=%ü/s..1/x")


def test_an_unreadable_folder_with_a_non_utf8_name_is_reported_printable(tmp_path, monkeypatch):
    """os.walk's error for a folder whose name is not UTF-8 carries surrogates: the problem row escapes them, so the
    rejects table (Arrow strings must be UTF-8) can hold it."""
    import os

    import pyarrow as pa

    from amass_arrow.source import discover as d

    (tmp_path / "CMU" / "01").mkdir(parents=True)
    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/KIT\xff")
    real = os.walk

    def walk(top, **kw):
        kw["onerror"](PermissionError(13, "Permission denied", bad))
        return real(top, **kw)

    monkeypatch.setattr(d.os, "walk", walk)
    disc = d.discover(tmp_path)
    [p] = [p for p in disc.problems if "cannot list folder" in str(p)]
    assert "KIT\\xff" in str(p)
    pa.array([str(p)])  # encodable: raised UnicodeEncodeError with the raw name
