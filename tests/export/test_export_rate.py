"""`export --fps` on a store with per-sequence rates (resample 'decimate'): every exported row is at exactly
the asked rate (each sequence keeps every k-th of its own frames), or the export fails naming the rates."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from amass_arrow.cli import main
from amass_arrow.query.sql import connect


@pytest.fixture(scope="module")
def decimated(synthetic_root, tmp_path_factory):
    """CMU (120 Hz -> 30, k=4), KIT (100 Hz -> 50, k=2), TotalCapture (60 Hz -> 30) decimated toward 30 fps."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    out = tmp_path_factory.mktemp("decimate") / "store"
    cfg = load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(out), workers=1, datasets=["CMU", "KIT", "TotalCapture"], motion_resample="decimate")
    build(cfg, progress=False)
    return out


pytestmark = pytest.mark.filterwarnings("ignore::amass_arrow.query.splits.SplitWarning")  # one-split test definitions


def _split_sql(tmp_path):
    f = tmp_path / "all_train.sql"
    f.write_text("SELECT seq_id, 'train' AS split FROM sequences")
    return f


def test_store_has_per_sequence_rates(decimated):
    rates = dict(connect(decimated).sql("SELECT dataset, any_value(store_fps) FROM sequences GROUP BY ALL").fetchall())
    assert rates == {"CMU": 30.0, "KIT": 50.0, "TotalCapture": 30.0}


def test_export_fps_keeps_every_kth_frame_of_each_sequence(decimated, tmp_path):
    out = tmp_path / "hf10"
    assert main(["export", str(decimated), "--sql", str(_split_sql(tmp_path)), "--kind", "hf", "--fps", "10",
                 "--columns", "trans", "--out", str(out), "--quiet"]) == 0
    (path,) = [p for p in out.rglob("dataset_dict.json")]
    train = datasets.load_from_disk(str(path.parent))["train"].with_format("numpy")
    con = connect(decimated)
    seqs = con.sql("SELECT seq_id, store_fps, num_frames FROM sequences").fetchall()
    seq_ids = np.asarray(train["seq_id"])
    frames, t = np.asarray(train["frame"]), np.asarray(train["t"], np.float64)
    for sid, fps, n in seqs:
        k = round(fps / 10)  # 30 Hz -> every 3rd frame, 50 Hz -> every 5th
        mine = seq_ids == sid
        assert frames[mine].tolist() == list(range(0, n, k)), sid
        assert np.allclose(np.diff(t[mine]), 0.1, atol=1e-5), sid  # 10 Hz in store seconds
    assert len(frames) == sum(len(range(0, n, round(fps / 10))) for _, fps, n in seqs)
    prov = json.loads((path.parent / "provenance.json").read_text())
    assert prov["fps"] == 10.0 and prov["resample"] == "decimate"


def test_export_fps_that_does_not_divide_a_rate_fails(decimated, tmp_path, capsys):
    out = tmp_path / "hf20"
    # 20 Hz: 30 / 20 = 1.5 frames (CMU, TotalCapture) -> no exact export; 50 / 20 = 2.5 (KIT) likewise
    assert main(["export", str(decimated), "--sql", str(_split_sql(tmp_path)), "--kind", "hf", "--fps", "20",
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "export fps 20" in err and "30 Hz" in err and "50 Hz" in err and "--resample interpolate" in err
    assert not out.exists()  # checked before anything is written


def test_export_fps_on_a_none_store(synthetic_root, tmp_path):
    """resample 'none' keeps each file's rate (CMU 120, KIT 100, TotalCapture 60 Hz): --fps 20 keeps every
    6th, 5th and 3rd frame; --fps 40 (100 / 40 = 2.5) fails."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    store = tmp_path / "store"
    build(load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(store), workers=1, datasets=["CMU", "KIT", "TotalCapture"], motion_resample="none"),
          progress=False)
    seqs = connect(store).sql("SELECT seq_id, store_fps, num_frames FROM sequences").fetchall()
    assert {fps for _, fps, _ in seqs} == {120.0, 100.0, 60.0}
    out = tmp_path / "hf20"
    assert main(["export", str(store), "--sql", str(_split_sql(tmp_path)), "--kind", "hf", "--fps", "20",
                 "--columns", "trans", "--out", str(out), "--quiet"]) == 0
    (path,) = [p for p in out.rglob("dataset_dict.json")]
    train = datasets.load_from_disk(str(path.parent))["train"].with_format("numpy")
    seq_ids, frames = np.asarray(train["seq_id"]), np.asarray(train["frame"])
    for sid, fps, n in seqs:
        assert frames[seq_ids == sid].tolist() == list(range(0, n, {120.0: 6, 100.0: 5, 60.0: 3}[fps])), sid
    assert main(["export", str(store), "--sql", str(_split_sql(tmp_path)), "--kind", "hf", "--fps", "40",
                 "--out", str(tmp_path / "hf40"), "--quiet"]) == 2
