"""`amass-arrow metrics` on a HumanML3D export, on a folder of joint files with padded lengths, and on a store
split (ground truth), each number checked against the definitions applied by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amass_arrow.cli import main
from amass_arrow.motion.paper_metrics import GT_JERK, jerk, skating_ratio
from amass_arrow.query.splits import Definition, materialize
from amass_arrow.query.sql import connect, query


@pytest.fixture(scope="module")
def hml3d_export(demo_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    assert main(["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "humanml3d",
                 "--out", str(tmp / "out"), "--quiet"]) == 0
    return tmp / "out" / "amass_official" / "humanml3d"


def _by_hand(clips: list[np.ndarray]) -> dict:
    sr = [skating_ratio(c[None])[0] for c in clips]
    pf = [jerk(c[None], [len(c)])[0] for c in clips]
    width = max(len(p) for p in pf)
    table = np.stack([np.pad(p, (0, width - len(p))) for p in pf])
    return {"skating_ratio": float(np.mean(sr)), "jerk": float(np.mean([p.mean() for p in pf])),
            "peak_jerk": float(table.mean(0).max()), "auj": float(np.abs(table.mean(0) - GT_JERK["humanml3d"]).sum())}


def test_metrics_of_a_humanml3d_export_per_split(hml3d_export, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["metrics", str(hml3d_export), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skating ratio (GMD)" in printed and "jerk (FlowMDM)" in printed
    got = json.loads(out.read_text())
    splits = {s["split"]: s for s in got["splits"]}
    for name in splits:
        ids = (hml3d_export / f"{name}.txt").read_text().split()
        clips = [np.load(hml3d_export / "new_joints" / f"{i}.npy") for i in ids
                 if (hml3d_export / "new_joints" / f"{i}.npy").exists()]
        want = _by_hand(clips)
        assert splits[name]["clips"] == len(clips) > 0
        for k, v in want.items():
            assert splits[name][k] == pytest.approx(v, rel=1e-6, abs=1e-9), (name, k)
        assert splits[name]["skating_ratio_ci"] >= 0


def test_new_joint_vecs_alone_give_the_same_numbers(hml3d_export, tmp_path, capsys):
    """A folder with only new_joint_vecs/ is recovered with recover_joints: the numbers match new_joints'."""
    import shutil

    only = tmp_path / "vecs"
    shutil.copytree(hml3d_export / "new_joint_vecs", only / "new_joint_vecs")
    assert main(["metrics", str(only), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["metrics", str(hml3d_export), "--json", str(tmp_path / "b.json")]) == 0
    capsys.readouterr()
    a = json.loads((tmp_path / "a.json").read_text())["splits"]
    assert [s["split"] for s in a] == ["all"]  # no split lists beside the folder: one group
    clips = [np.load(p) for p in sorted((hml3d_export / "new_joints").glob("*.npy"))]
    assert a[0]["skating_ratio"] == pytest.approx(_by_hand(clips)["skating_ratio"], abs=1e-6)


def test_generated_folder_with_padded_lengths(tmp_path, capsys):
    rng = np.random.default_rng(0)
    gen = tmp_path / "gen"
    gen.mkdir()
    clips = {}
    for k, n in enumerate([30, 50]):
        j = rng.normal(0, 0.05, (60, 22, 3)).astype(np.float32)
        j[n:] = j[n - 1]  # padded by repeating the last frame
        np.save(gen / f"{k:03d}.npy", j)
        clips[f"{k:03d}"] = (j, n)
    (tmp_path / "lengths.json").write_text(json.dumps({k: n for k, (_, n) in clips.items()}))
    assert main(["metrics", str(gen), "--lengths", str(tmp_path / "lengths.json"), "--json", str(tmp_path / "o.json")]) == 0
    capsys.readouterr()
    s = json.loads((tmp_path / "o.json").read_text())["splits"][0]
    pf = np.stack([jerk(j[None], [n])[0] for j, n in clips.values()])
    assert s["peak_jerk"] == pytest.approx(float(pf.mean(0).max()), rel=1e-6)
    want_jerk = np.mean([jerk(j[None], [n])[0][: n - 3].mean() for j, n in clips.values()])
    assert s["jerk"] == pytest.approx(float(want_jerk), rel=1e-6)
    assert s["frames"] == 80


def test_store_ground_truth_matches_an_independent_conversion(demo_store, tmp_path, capsys):
    out = tmp_path / "gt.json"
    assert main(["metrics", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "HumanML3D's Y-up frame" in printed
    got = {s["split"]: s for s in json.loads(out.read_text())["splits"]}
    assert "train" in got
    # independently: the train sequences' 22 body joints, (x, y, z) -> (-x, z, y), np.interp to 20 fps
    names = json.loads((demo_store / "meta" / "info.json").read_text())["joint_names"]
    from amass_arrow.schema import SKELETONS

    idx = [names.index(n) for n in SKELETONS["smpl"][0][:22]]
    frames = query(demo_store, "SELECT f.seq_id, f.t, f.joints FROM frames f ORDER BY f.seq_id, f.frame")
    seq = np.array(frames["seq_id"].to_pylist())
    t = np.array(frames["t"].to_pylist())
    jj = np.array(frames["joints"].to_pylist()).reshape(len(t), -1, 3)[:, idx]
    rows = got["train"]
    con = connect(demo_store)  # the split's rows (the selection is the split SQL's; the numbers are computed here)
    table = materialize(con, Definition(name="gt", sql="sql/splits/amass_official.sql")).rows
    con.close()
    train = [r for r in table.to_pylist() if r["split"] == "train"]
    clips = []
    for r in train:
        sid = r["seq_id"]
        m = seq == sid
        ts, js = t[m], jj[m]
        y = np.stack([-js[..., 0], js[..., 2], js[..., 1]], axis=-1)
        tq = ts[0] + np.arange(int(np.floor((ts[-1] - ts[0]) * 20 + 1e-6)) + 1) / 20.0
        clip = np.stack([[np.interp(tq, ts, y[:, k, c]) for c in range(3)] for k in range(22)]).transpose(2, 0, 1)
        clips.append(clip.astype(np.float32))
    want = _by_hand(clips)
    assert rows["clips"] == len(clips)
    assert rows["skating_ratio"] == pytest.approx(want["skating_ratio"], abs=1e-6)
    assert rows["jerk"] == pytest.approx(want["jerk"], rel=1e-4)


def test_errors_are_one_line(demo_store, tmp_path, capsys):
    assert main(["metrics", str(tmp_path)]) == 2
    assert "no motion found" in capsys.readouterr().err
    assert main(["metrics", str(demo_store)]) == 2
    assert "give --sql" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "x.npy", np.zeros((10, 21, 3)))
    assert main(["metrics", str(bad)]) == 2
    assert "want (T, 22, 3)" in capsys.readouterr().err


def test_sequences_column_is_the_gmd_ratio_of_each_take(demo_store):
    """`skating_ratio_gmd` = GMD's definition on the take: Z-up joints turned Y-up, np.interp to 20 fps."""
    from amass_arrow.schema import SKELETONS

    names = json.loads((demo_store / "meta" / "info.json").read_text())["joint_names"]
    idx = [names.index(n) for n in SKELETONS["smpl"][0][:22]]
    seqs = query(demo_store, "SELECT seq_id, store_fps, skating_ratio_gmd FROM sequences ORDER BY seq_id").to_pylist()
    checked = 0
    for s in seqs[:12]:
        f = query(demo_store, f"SELECT t, joints FROM frames WHERE seq_id = '{s['seq_id']}' ORDER BY frame")
        j = np.array(f["joints"].to_pylist()).reshape(f.num_rows, -1, 3)[:, idx][..., [0, 2, 1]]
        t = np.arange(f.num_rows) / s["store_fps"]
        tq = np.arange(int(np.floor(t[-1] * 20 + 1e-6)) + 1) / 20.0
        j20 = np.stack([[np.interp(tq, t, j[:, k, c]) for c in range(3)] for k in range(22)]).transpose(2, 0, 1)
        want = skating_ratio(j20[None].astype(np.float32))[0]
        assert s["skating_ratio_gmd"] == pytest.approx(want, abs=1e-6), s["seq_id"]
        checked += 1
    assert checked >= 5


def test_unreadable_motion_and_bad_lengths_are_one_line_errors(tmp_path, capsys):
    vecs = tmp_path / "kit" / "new_joint_vecs"
    vecs.mkdir(parents=True)
    np.save(vecs / "000001.npy", np.zeros((30, 251), np.float32))  # KIT-ML's 251 features, not HumanML3D's 263
    assert main(["metrics", str(tmp_path / "kit")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "000001.npy: cannot read its motion" in err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.npy").write_bytes(b"not an npy file")
    assert main(["metrics", str(junk)]) == 2
    assert "x.npy: cannot read its motion" in capsys.readouterr().err
    gen = tmp_path / "gen"
    gen.mkdir()
    np.save(gen / "a.npy", np.zeros((10, 22, 3), np.float32))
    (tmp_path / "len.json").write_text('{"a": null}')
    assert main(["metrics", str(gen), "--lengths", str(tmp_path / "len.json")]) == 2
    assert "lengths must be whole numbers" in capsys.readouterr().err


def test_a_symlinked_folder_of_motion_is_not_taken_for_a_store(tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    np.save(gen / "a.npy", np.random.default_rng(0).normal(0, 0.1, (20, 22, 3)).astype(np.float32))
    (tmp_path / "link").symlink_to(gen)
    assert main(["metrics", str(tmp_path / "link")]) == 0
    assert "skating ratio (GMD)" in capsys.readouterr().out
