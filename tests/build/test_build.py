"""build + store: counts, determinism, rejects, incremental updates, resume after SIGKILL, lock, ENOSPC, verify."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.errors import BodyModelError, StoreError, StoreLockedError
from amass_arrow.store.layout import StoreLayout, WriteLock
from amass_arrow.store.reader import Store
from amass_arrow.store.verify import verify


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), **kw)


def _frames(store_path) -> list[dict]:
    s = Store(store_path)
    t = s.frames_dataset().to_table()
    return t.sort_by([("seq_id", "ascending"), ("frame", "ascending")]).to_pylist()


@pytest.fixture(scope="module")
def archive(synthetic_root, tmp_path_factory):
    """A private copy of a few datasets of the synthetic archive (tests here modify it)."""
    root = tmp_path_factory.mktemp("archive")
    for ds in ("CMU", "SFU", "GRAB", "KIT"):
        shutil.copytree(Path(synthetic_root.amass_root) / ds, root / ds)
    return root


@pytest.fixture(scope="module")
def built(archive, synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "store"
    res = build(_cfg(archive, synthetic_root.body_models, out), progress=False)
    return out, res


def test_counts_match_sequences_and_hive_keys_are_strings(built):
    out, res = built
    con = duckdb.connect()
    per_part = dict(
        ((d, s), n)
        for d, s, n in con.execute(
            "SELECT dataset, subject, count(*) FROM read_parquet(?, hive_partitioning=true) GROUP BY ALL",
            [f"{out}/frames/**/*.parquet"],
        ).fetchall()
    )
    expected = dict(
        ((d, s), int(n))
        for d, s, n in con.execute("SELECT dataset, subject, sum(num_frames) FROM read_parquet(?) GROUP BY ALL",
                                   [f"{out}/sequences.parquet"]).fetchall()
    )
    assert per_part == expected and len(per_part) >= 4
    assert ("CMU", "01") in per_part  # subject '01' stays the string '01'
    assert res.sequences == len(pq.read_table(out / "sequences.parquet"))
    info = json.loads((out / "meta/info.json").read_text())
    assert info["num_frames"] == sum(expected.values()) == res.frames


def test_sequence_rows_record_provenance(built, synthetic_root):
    out, _ = built
    seqs = {r["seq_id"]: r for r in pq.read_table(out / "sequences.parquet").to_pylist()}
    truth = {f.seq_id: f for f in synthetic_root.files}
    for sid, row in seqs.items():
        t = truth[sid]
        assert row["source_fps"] == pytest.approx(t.fps)
        assert row["fps_key"] == t.fps_key
        assert row["gender"] == t.gender and row["num_betas"] == t.num_betas
        assert row["surface_model"] == t.surface_model
        assert row["source_frames"] == t.num_frames
        expected_frames = int(np.floor((t.num_frames - 1) / t.fps * 30 + 1e-6)) + 1
        assert row["num_frames"] == expected_frames
        assert row["store_fps"] == 30.0 and row["resample_mode"] == "interpolate"
        assert row["canonical_dataset"] == row["dataset"]  # CMU, SFU, GRAB, KIT have no SMPL-X alias


def test_rebuild_gives_identical_rows(built, archive, synthetic_root, tmp_path):
    out, res = built
    res2 = build(_cfg(archive, synthetic_root.body_models, tmp_path / "again", workers=2), progress=False)
    assert res2.build_id == res.build_id
    assert _frames(out) == _frames(tmp_path / "again")
    a = pq.read_table(out / "sequences.parquet")
    b = pq.read_table(tmp_path / "again" / "sequences.parquet")
    assert a.drop(["file_mtime_ns"]).equals(b.drop(["file_mtime_ns"]))


def test_rerun_is_a_no_op(built, archive, synthetic_root):
    out, res = built
    again = build(_cfg(archive, synthetic_root.body_models, out), progress=False)
    assert (again.converted, again.reused, again.changed) == (0, res.sequences, False)
    assert not list(StoreLayout(out).side.glob("staging-*"))


def _bad_archive(archive, tmp_path) -> Path:
    root = tmp_path / "bad"
    shutil.copytree(archive, root)
    good = next((root / "CMU/01").glob("*_poses.npz"))
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files if z[k].dtype != object}
    bad = root / "CMU/01"
    (bad / "trunc_poses.npz").write_bytes(good.read_bytes()[:5000])
    (bad / "notzip_poses.npz").write_text("hello")
    (bad / "empty_poses.npz").write_bytes(b"")
    np.savez(bad / "nan_poses.npz", **{**arrays, "trans": np.full_like(arrays["trans"], np.nan)})
    np.savez(bad / "zero_poses.npz", **{**arrays, "poses": arrays["poses"][:0], "trans": arrays["trans"][:0]})
    np.savez(bad / "robot_poses.npz", **{**arrays, "gender": np.array("robot")})
    np.savez(bad / "nokeys_poses.npz", betas=arrays["betas"])
    np.savez(bad / "nofps_poses.npz", **{k: v for k, v in arrays.items() if k != "mocap_framerate"})
    for name, fps in (("fps0", 0.0), ("fpsneg", -120.0), ("fpsabsurd", 1e7)):
        np.savez(bad / f"{name}_poses.npz", **{**arrays, "mocap_framerate": np.array(fps)})
    np.savez(bad / "one_poses.npz", **{**arrays, "poses": arrays["poses"][:1], "trans": arrays["trans"][:1]})
    np.savez(bad / "dims_stageii.npz", **{**arrays, "poses": arrays["poses"][:, :72]})  # 72 where SMPL-X is declared
    np.savez(bad / "objonly_poses.npz", poses=np.array([{"a": 1}], dtype=object), trans=np.array([None], dtype=object))
    os.symlink(bad / "does-not-exist.npz", bad / "dangling_poses.npz")  # unreadable: stat fails
    # a duplicate sequence name in another dataset is a different sequence, converted normally
    (root / "SFU" / "dup").mkdir(parents=True)
    shutil.copy(good, root / "SFU" / "dup" / good.name)
    return root


EXPECTED_REASONS = {
    "CMU/01/trunc_poses.npz": "corrupt",
    "CMU/01/notzip_poses.npz": "not_npz",
    "CMU/01/empty_poses.npz": "empty_file",
    "CMU/01/nan_poses.npz": "non_finite",
    "CMU/01/zero_poses.npz": "zero_frames",
    "CMU/01/robot_poses.npz": "unknown_gender",
    "CMU/01/nokeys_poses.npz": "missing_key",
    "CMU/01/nofps_poses.npz": "missing_fps",
    "CMU/01/fps0_poses.npz": "bad_fps",
    "CMU/01/fpsneg_poses.npz": "bad_fps",
    "CMU/01/fpsabsurd_poses.npz": "bad_fps",
    "CMU/01/one_poses.npz": "too_few_frames",
    "CMU/01/dims_stageii.npz": "model_mismatch",
    "CMU/01/objonly_poses.npz": "object_array",
    "CMU/01/dangling_poses.npz": "unreadable",
}


def test_bad_inputs_are_rejected_with_reasons_and_the_rest_converts(built, archive, synthetic_root, tmp_path):
    out, res = built
    root = _bad_archive(archive, tmp_path)
    res2 = build(_cfg(root, synthetic_root.body_models, tmp_path / "store"), progress=False)
    rejects = {r["source_path"]: r["reason"] for r in pq.read_table(tmp_path / "store/rejects.parquet").to_pylist()}
    assert rejects == EXPECTED_REASONS
    assert res2.sequences == res.sequences + 1  # + the same-named sequence in SFU/dup
    assert "rejects by reason" in res2.summary() and "unknown_gender" in res2.summary()
    dup = [r for r in _frames(tmp_path / "store") if r["seq_id"].startswith("SFU/dup/")]
    assert dup and _frames(tmp_path / "store") == sorted(_frames(out) + dup, key=lambda r: (r["seq_id"], r["frame"]))


def test_missing_body_model_fails_up_front(archive, synthetic_root, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(synthetic_root.body_models, models)
    shutil.rmtree(models / "smplx")
    with pytest.raises(BodyModelError, match="smplx"):
        build(_cfg(archive, models, tmp_path / "store"), progress=False)
    assert not (tmp_path / "store").exists()


def test_incremental_add_change_delete(built, archive, synthetic_root, tmp_path):
    out0, res0 = built
    root = tmp_path / "src"
    shutil.copytree(archive, root)
    out = tmp_path / "store"
    build(_cfg(root, synthetic_root.body_models, out), progress=False)
    files = sorted(root.rglob("*_poses.npz"))
    victim, changed = files[0], files[1]
    victim.unlink()
    with np.load(changed) as z:
        arrays = {k: z[k] for k in z.files if z[k].dtype != object}
    arrays["trans"] = arrays["trans"] + np.array([1.0, 0.0, 0.0])
    np.savez(changed, **arrays)
    added = changed.with_name("zz_added_poses.npz")
    shutil.copy(files[2], added)
    res = build(_cfg(root, synthetic_root.body_models, out), progress=False)
    assert (res.converted, res.reused) == (2, res0.sequences - 2)
    ids = set(pq.read_table(out / "sequences.parquet")["seq_id"].to_pylist())
    from amass_arrow.source.discover import seq_id_for

    rel = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    assert seq_id_for(rel(victim)) not in ids and seq_id_for(rel(added)) in ids
    assert verify(out).ok
    # the changed file's rows moved by +1 m in x (floor fix only touches z)
    sid = seq_id_for(rel(changed))
    new = Store(out).read_sequence_frames(sid, ["trans"])["trans"].to_numpy(zero_copy_only=False)
    old = Store(out0).read_sequence_frames(sid, ["trans"])["trans"].to_numpy(zero_copy_only=False)
    np.testing.assert_allclose(np.stack(new)[:, 0] - np.stack(old)[:, 0], 1.0, atol=1e-5)
    # force rebuilds everything
    res_f = build(_cfg(root, synthetic_root.body_models, out, force=True), progress=False)
    assert res_f.reused == 0 and res_f.converted == res.sequences


def test_sigkill_mid_build_then_resume_equals_clean_build(built, archive, synthetic_root, tmp_path):
    out0, _ = built
    out = tmp_path / "store"
    code = (
        "import sys; from amass_arrow.build.orchestrate import build; from amass_arrow.config import load_build_config;"
        f"build(load_build_config(None, amass_root={str(archive)!r}, body_models={str(synthetic_root.body_models)!r},"
        f" out={str(out)!r}, workers=1), progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    side = StoreLayout(out).side
    deadline = time.time() + 60
    while time.time() < deadline:
        parts = list(side.glob("staging-*/frames/**/part-*.parquet"))
        if len(parts) >= 3:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(parts) >= 3, "build finished before it could be killed"
    assert not out.exists(), "nothing may be published by a killed build"
    res = build(_cfg(archive, synthetic_root.body_models, out), progress=False)
    assert res.reused >= 3  # resumed from the killed run's parts
    assert _frames(out) == _frames(out0)
    assert verify(out).ok


def test_second_writer_fails_at_once_and_stale_lock_is_ignored(built, archive, synthetic_root):
    out, _ = built
    layout = StoreLayout(out)
    with WriteLock(layout):
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            build(_cfg(archive, synthetic_root.body_models, out), progress=False)
    layout.lock_path.write_text("pid 999999 since yesterday\n")  # a dead holder's leftover
    res = build(_cfg(archive, synthetic_root.body_models, out), progress=False)
    assert res.sequences > 0


def test_enospc_during_publish_keeps_previous_store(built, archive, synthetic_root, tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(archive, src)
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    before = _frames(out)
    next(src.rglob("*_poses.npz")).unlink()  # force a new build

    import amass_arrow.build.orchestrate as b

    real = b.write_parquet_atomic

    def full_disk(table, path, **kw):
        if Path(path).name == schema.SEQUENCES_PATH:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(table, path, **kw)

    monkeypatch.setattr(b, "write_parquet_atomic", full_disk)
    with pytest.raises(StoreError, match="intact"):
        build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert Store(out).info.build_id == first.build_id
    assert _frames(out) == before and verify(out).ok


def test_readers_pinned_to_a_build_survive_a_publish(built, archive, synthetic_root, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(archive, src)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    from amass_arrow import connect

    con = connect(out)  # a DuckDB session opened before the next build
    n_old = con.execute("SELECT count(*) FROM frames").fetchone()[0]
    assert n_old == Store(out).info.num_frames
    next(src.rglob("*_poses.npz")).unlink()
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    # the old build is kept one generation: the open session still sees the whole old state
    assert con.execute("SELECT count(*) FROM frames").fetchone()[0] == n_old
    assert con.execute("SELECT sum(num_frames) FROM sequences").fetchone()[0] == n_old
    n_new = connect(out).execute("SELECT count(*) FROM frames").fetchone()[0]
    assert n_new == Store(out).info.num_frames < n_old


@pytest.mark.parametrize("dataset, subject", [("we ird=1%", "s..1 ü"), ("%2e%2e", "=")])
def test_odd_partition_names_stay_inside_and_round_trip(synthetic_root, archive, tmp_path, dataset, subject):
    src = tmp_path / "src"
    f = next((archive / "CMU/01").glob("*_poses.npz"))
    (src / dataset / subject).mkdir(parents=True)
    shutil.copy(f, src / dataset / subject / "x y_poses.npz")
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    root = Store(out).root
    for p in (root / "frames").rglob("*.parquet"):
        assert root in p.resolve().parents
    got = duckdb.sql(f"SELECT DISTINCT dataset, subject, seq_id FROM read_parquet('{root}/frames/**/*.parquet', hive_partitioning=true)").fetchall()
    assert got == [(dataset, subject, f"{dataset}/{subject}/x y")]


def _corrupt_copy(built, tmp_path) -> Path:
    out, _ = built
    dst = tmp_path / "copy"
    shutil.copytree(Store(out).root, dst)  # a plain (non-symlink) store copy is readable
    return dst


def test_verify_ok_then_catches_each_corruption(built, tmp_path):
    out, _ = built
    assert verify(out).ok
    part = next((Store(out).root / "frames").rglob("*.parquet")).relative_to(Store(out).root)

    d = _corrupt_copy(built, tmp_path / "a")
    p = d / part
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    rep = verify(d)
    assert not rep.ok and str(part) in rep.text()

    d = _corrupt_copy(built, tmp_path / "b")
    (d / part).unlink()
    rep = verify(d)
    assert not rep.ok and f"{part}: missing" in rep.text()

    d = _corrupt_copy(built, tmp_path / "c")
    shutil.copy(d / part, d / part.with_name("part-orphan.parquet"))
    assert "orphan" in verify(d).text()

    d = _corrupt_copy(built, tmp_path / "d")
    info = json.loads((d / "meta/info.json").read_text())
    info["format_version"] = 999
    (d / "meta/info.json").write_text(json.dumps(info))
    rep = verify(d)
    assert not rep.ok and "format version 999" in rep.text()

    d = _corrupt_copy(built, tmp_path / "e")
    t = pq.read_table(d / "sequences.parquet")
    pq.write_table(t.filter(pc.invert(pc.equal(t["seq_id"], t["seq_id"][0]))), d / "sequences.parquet")
    assert "sequences.parquet" in verify(d).text()


def test_verify_cli_exit_codes(built, tmp_path):
    out, _ = built
    cli = [sys.executable, "-m", "amass_arrow", "verify"]
    ok = subprocess.run(cli + [str(out)], capture_output=True, text=True)
    assert ok.returncode == 0 and "no problems" in ok.stdout
    d = _corrupt_copy(built, tmp_path)
    part = next((d / "frames").rglob("*.parquet"))
    part.write_bytes(b"garbage")
    bad = subprocess.run(cli + [str(d)], capture_output=True, text=True)
    assert bad.returncode == 1 and part.relative_to(d).as_posix() in bad.stdout


def test_memory_stays_bounded_for_one_hour_at_250fps(synthetic_root, tmp_path):
    """A 1-hour 250 fps SMPL+H take (900k frames, 1.1 GB float64 file) converts within 2.5x its float32 pose size.

    Measured: ~1.9x (interpreter + libraries ~0.15 GB, the float32 poses 0.56 GB, source-rate foot
    positions and contact temporaries ~0.35 GB); before chunked reading and slerp it was 6.6x.
    """
    T = 250 * 3600
    p = tmp_path / "src/Long/s1/hour_poses.npz"
    p.parent.mkdir(parents=True)
    t = np.arange(T) / 250.0
    poses = np.zeros((T, 156))
    poses[:, 0] = np.pi / 2
    poses[:, 3] = 0.4 * np.sin(2 * np.pi * t)  # left hip swing
    trans = np.stack([0.5 * t % 10.0, np.zeros(T), 0.95 + 0.01 * np.sin(t)], 1)
    np.savez(p, poses=poses, trans=trans, betas=np.zeros(16), gender="male", mocap_framerate=np.array(250.0))
    float32_bytes = poses.size * 4
    del poses, trans, t
    code = (
        "import json; from amass_arrow.build.orchestrate import build; from amass_arrow.config import load_build_config;"
        f"r = build(load_build_config(None, amass_root={str(tmp_path / 'src')!r}, body_models={str(synthetic_root.body_models)!r},"
        f" out={str(tmp_path / 'store')!r}, workers=1), progress=False);"
        # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so it would include this pytest process
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "print(json.dumps([r.frames, int(hwm) * 1024]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    frames, peak = json.loads(out.stdout.strip().splitlines()[-1])
    assert frames == int((T - 1) / 250.0 * 30) + 1  # 108000: the last source frame is at 3599.996 s
    assert peak < 2.5 * float32_bytes, f"peak RSS {peak / 1e9:.2f} GB for a {float32_bytes / 1e9:.2f} GB float32 take"


def test_pool_build_cleans_up_the_workers_rest_models(archive, synthetic_root, tmp_path):
    """A 2-worker build writes the reduced body models for its workers beside the store and removes them."""
    out = tmp_path / "pool"
    res = build(_cfg(archive, synthetic_root.body_models, out, workers=2), progress=False)
    assert res.converted > 0
    assert not list(StoreLayout(out).side.glob(".models-*"))
