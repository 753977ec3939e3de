"""Issue 10, items 1-4 and 9a: a build never replaces a store by accident, reuses parts by their own key
and verified content, turns every per-file problem into a reject; make's reading targets never rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.errors import StoreError
from amass_arrow.motion.bodymodel import BodyModelRegistry
from amass_arrow.source.discover import seq_id_for
from amass_arrow.store.reader import Store

REPO = Path(__file__).resolve().parents[2]


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), **kw)


def _copy(synthetic_root, dst: Path, datasets, *, keep_mtimes: bool = True) -> Path:
    for ds in datasets:
        shutil.copytree(Path(synthetic_root.amass_root) / ds, dst / ds, copy_function=shutil.copy2 if keep_mtimes else shutil.copy)
    return dst


def _ids(store) -> set[str]:
    return set(pq.read_table(Path(store) / "sequences.parquet")["seq_id"].to_pylist())


def _archive_ids(root: Path) -> set[str]:
    return {seq_id_for(p.relative_to(root).as_posix()) for p in root.rglob("*.npz")
            if p.name != "shape.npz" and not p.name.endswith("_stagei.npz")}


def _resave(path: Path, **changes) -> None:
    """Rewrite an .npz with `changes` (object arrays, which need pickle, are dropped)."""
    arrays = {}
    with np.load(path) as z:
        for k in z.files:
            try:
                arrays[k] = z[k]
            except ValueError:
                continue
    np.savez(path, **{**arrays, **changes})


# ---------------------------------------------------------------- 1. make targets that read a store
def _make_dry(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("AMASS_ROOT", "STORE", "BODY_MODELS", "MAKEFLAGS")}
    return subprocess.run(["make", "-n", "-o", ".venv/.installed", *args], cwd=REPO, capture_output=True, text=True, env=env)


def _build_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if "-m amass_arrow build " in ln]


def test_make_reading_targets_never_rebuild_a_given_store():
    for target in ("build-splits", "labels"):
        r = _make_dry(target, "STORE=/x/store", "OUT=/x/splits")
        assert r.returncode == 0, r.stderr
        assert _build_lines(r.stdout) == [], f"make {target} STORE=... would rebuild the store:\n{r.stdout}"
        assert "/x/store" in r.stdout and "demo/synth" not in r.stdout  # reads /x/store, no demo data at all
    # given AMASS_ROOT: rebuild that store from that root first
    r = _make_dry("build-splits", "AMASS_ROOT=/a", "BODY_MODELS=/b", "STORE=/x/store")
    assert [ln.split()[4:9] for ln in _build_lines(r.stdout)] == [["/a", "--body-models", "/b", "--out", "/x/store"]]
    # neither given: the demo
    r = _make_dry("build-splits")
    assert [ln.split()[4] for ln in _build_lines(r.stdout)] == ["demo/synth/amass"]
    # an exported AMASS_ROOT/STORE does not count as given
    env_run = subprocess.run(["make", "-n", "-o", ".venv/.installed", "build-splits"], cwd=REPO, capture_output=True,
                             text=True, env={**os.environ, "AMASS_ROOT": "/env/amass", "STORE": "/env/store"})
    assert "/env/" not in env_run.stdout
    # `make build STORE=...` without AMASS_ROOT would fill that store with the demo: refused
    r = _make_dry("build", "STORE=/x/store")
    assert r.returncode != 0 and "needs AMASS_ROOT" in r.stderr and not _build_lines(r.stdout)


# ---------------------------------------------------------------- 2. replacing a store needs --replace
def test_another_archive_is_refused_without_replace_and_listed(synthetic_root, tmp_path):
    a = _copy(synthetic_root, tmp_path / "a", ["CMU", "SFU"])
    b = _copy(synthetic_root, tmp_path / "b", ["KIT"])
    shutil.copytree(a / "CMU/01", b / "CMU/01")  # shares some files: still another archive (KIT added, SFU gone)
    for p in (b / "CMU/01").glob("*_poses.npz"):
        with np.load(p) as z:
            _resave(p, trans=z["trans"] + 1.0)  # same names, other content
    out = tmp_path / "store"
    first = build(_cfg(a, synthetic_root.body_models, out), progress=False)
    with pytest.raises(StoreError) as e:
        build(_cfg(b, synthetic_root.body_models, out), progress=False)
    gone = sorted(_archive_ids(a) - _archive_ids(b))
    msg = str(e.value)
    assert "--replace" in msg and f"remove {len(gone)} of its {first.sequences} sequences" in msg
    assert all(sid in msg for sid in gone[:10]) and str(a.resolve()) in msg
    assert Store(out).info.build_id == first.build_id and _ids(out) == _archive_ids(a)  # untouched
    res = build(_cfg(b, synthetic_root.body_models, out, replace=True), progress=False)
    assert _ids(out) == _archive_ids(b) and res.converted == len(_archive_ids(b))  # new content: nothing reused
    assert Store(out).info.source["root"] == str(b.resolve())


def test_dropping_more_than_half_is_refused_then_allowed_with_replace(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "SFU", "KIT"])
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    files = sorted(src.rglob("*_poses.npz"))
    gone = files[: len(files) // 2 + 1]
    for p in gone:
        p.unlink()
    with pytest.raises(StoreError, match=f"more than half.*remove {len(gone)} of its {first.sequences}"):
        build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert Store(out).info.build_id == first.build_id
    with pytest.raises(StoreError, match="more than half"):  # --force reconverts, it does not allow removals
        build(_cfg(src, synthetic_root.body_models, out, force=True), progress=False)
    res = build(_cfg(src, synthetic_root.body_models, out, replace=True), progress=False)
    assert _ids(out) == _archive_ids(src) and (res.converted, res.reused) == (0, len(files) - len(gone))


def test_moved_archive_with_same_content_is_recognised(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "SFU"])
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    info = Store(out).info.source
    assert info["root"] == str(src.resolve()) and info["files"] == first.sequences
    moved = tmp_path / "elsewhere" / "amass"
    shutil.copytree(src, moved, copy_function=shutil.copy)  # new mtimes, same bytes
    shutil.rmtree(src)
    victim = sorted(moved.rglob("*_poses.npz"))[0]
    victim.unlink()  # and one file deleted: an ordinary incremental update, not a replacement
    res = build(_cfg(moved, synthetic_root.body_models, out), progress=False)
    assert (res.converted, res.reused) == (0, first.sequences - 1)
    assert _ids(out) == _archive_ids(moved)
    new = Store(out).info.source
    assert new["root"] == str(moved.resolve()) and new["fingerprint"] != info["fingerprint"]
    # the fingerprint is the content's, not the path's: a second copy of the same files has the same one
    again = tmp_path / "third"
    shutil.copytree(moved, again, copy_function=shutil.copy)
    build(_cfg(again, synthetic_root.body_models, tmp_path / "store2"), progress=False)
    assert Store(tmp_path / "store2").info.source["fingerprint"] == new["fingerprint"]


# ---------------------------------------------------------------- 3. each part's own key
def test_adding_one_smplx_file_converts_only_that_file(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "SFU"])  # SMPL+H only
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    one = sorted((Path(synthetic_root.amass_root) / "HDM05").rglob("*_stageii.npz"))[0]
    (src / "HDM05/dg").mkdir(parents=True)
    shutil.copy2(one, src / "HDM05/dg" / one.name)
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert (res.converted, res.reused) == (1, first.sequences)
    assert any(k.startswith("smplx/") for k in Store(out).info.body_models)


def test_deleting_a_dataset_with_its_body_models_converts_nothing(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "GRAB"])  # SMPL+H and SMPL-X
    models = tmp_path / "models"
    shutil.copytree(synthetic_root.body_models, models)
    out = tmp_path / "store"
    build(_cfg(src, models, out), progress=False)
    n_cmu = len(_archive_ids(src / "CMU"))
    shutil.rmtree(src / "GRAB")
    shutil.rmtree(models / "smplx")
    res = build(_cfg(src, models, out), progress=False)  # aborted with 'body models missing' before
    assert (res.converted, res.reused) == (0, n_cmu) and _ids(out) == _archive_ids(src)
    again = build(_cfg(src, models, out), progress=False)  # and one build later: still nothing to convert
    assert (again.converted, again.reused, again.changed) == (0, n_cmu, False)


def test_a_changed_body_model_file_reconverts_only_its_users(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "GRAB"])
    models = tmp_path / "models"
    shutil.copytree(synthetic_root.body_models, models)
    out = tmp_path / "store"
    build(_cfg(src, models, out), progress=False)
    rows = pq.read_table(out / "sequences.parquet").to_pylist()
    path, used = BodyModelRegistry(models).resolve("smplx", "male")
    _resave(path, note=np.array("re-exported"))  # other bytes, same model
    users = sum(r["surface_model"] == "smplx" and r["model_gender"] == used for r in rows)
    assert users > 0
    res = build(_cfg(src, models, out), progress=False)
    assert (res.converted, res.reused) == (users, len(rows) - users)


# ---------------------------------------------------------------- 4. per-file problems are rejects
def test_unknown_surface_model_type_is_a_reject_not_an_abort(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "HDM05"])
    stageii = sorted((src / "HDM05").rglob("*_stageii.npz"))
    _resave(stageii[0], surface_model_type=np.array("smplx_locked_head"))
    _resave(stageii[1], surface_model_type=np.array("mano"))
    out = tmp_path / "store"
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    rejects = {r["source_path"]: r for r in pq.read_table(out / "rejects.parquet").to_pylist()}
    rel = [p.relative_to(src).as_posix() for p in stageii[:2]]
    assert set(rejects) == set(rel)
    assert rejects[rel[0]]["reason"] == "bad_model" and "'smplx_locked_head'" in rejects[rel[0]]["message"]
    assert rejects[rel[1]]["reason"] == "bad_model" and "'mano'" in rejects[rel[1]]["message"]
    assert _ids(out) == _archive_ids(src) - {seq_id_for(r) for r in rel} and res.sequences == len(_ids(out))


def test_an_unexpected_error_in_one_file_is_a_reject(synthetic_root, tmp_path, monkeypatch):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU"])
    victim = sorted(_archive_ids(src))[0]
    import amass_arrow.motion.pipeline as motion

    real = motion.process

    def flaky(seq, *a, **kw):
        if seq.seq_id == victim:
            raise KeyError("an odd layout nobody foresaw")
        return real(seq, *a, **kw)

    monkeypatch.setattr(motion, "process", flaky)  # workers=1 converts in this process
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out, workers=1), progress=False)
    (rej,) = pq.read_table(out / "rejects.parquet").to_pylist()
    assert seq_id_for(rej["source_path"]) == victim and rej["reason"] == "internal_error"
    assert "KeyError" in rej["message"] and "odd layout" in rej["message"]
    assert _ids(out) == _archive_ids(src) - {victim}


def test_an_unwritable_store_stops_up_front(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU"])
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot write the store"):
        build(_cfg(src, synthetic_root.body_models, tmp_path / "file" / "store"), progress=False)


# ---------------------------------------------------------------- 9a. reuse verifies content
def test_a_rewrite_keeping_size_and_mtime_is_reconverted(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["CMU"])
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    p = sorted(src.rglob("*_poses.npz"))[0]
    st = p.stat()
    with np.load(p) as z:
        _resave(p, trans=z["trans"] + np.array([0.5, 0.0, 0.0]))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p`, rsync -t or a restored backup leave it
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert (res.converted, res.reused) == (1, first.sequences - 1)
    sid = seq_id_for(p.relative_to(src).as_posix())
    x = np.stack(Store(out).read_sequence_frames(sid, ["trans"])["trans"].to_numpy(zero_copy_only=False))[:, 0]
    with np.load(p) as z:
        assert x[0] == pytest.approx(float(z["trans"][0, 0]), abs=1e-5)  # frame 0 copies the source frame


def test_info_json_records_root_and_content_fingerprint(synthetic_root, tmp_path):
    src = _copy(synthetic_root, tmp_path / "src", ["SFU"])
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    info = json.loads((out / "meta/info.json").read_text())
    rows = sorted(pq.read_table(out / "sequences.parquet").to_pylist(), key=lambda r: r["source_path"])
    h = hashlib.blake2b(digest_size=16)
    for r in rows:
        h.update(f"{r['source_path']}\0{r['content_hash']}\n".encode())
    assert info["source"] == {"root": str(src.resolve()), "fingerprint": h.hexdigest(), "files": len(rows)}


def test_a_build_names_the_sequences_it_removed(synthetic_root, tmp_path):
    """Removing up to half of a store needs no --replace, but the summary says what went (review finding)."""
    src = _copy(synthetic_root, tmp_path / "src", ["CMU", "SFU"])
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out, workers=1), progress=False)
    assert first.removed == []
    sfu = sorted(i for i in _ids(out) if i.startswith("SFU/"))
    assert 0 < 2 * len(sfu) <= len(_ids(out))
    shutil.rmtree(src / "SFU")
    res = build(_cfg(src, synthetic_root.body_models, out, workers=1), progress=False)
    assert res.removed == sfu and not (_ids(out) & set(sfu))
    assert f"removed {len(sfu)} sequence(s) the previous build held" in res.summary() and sfu[0] in res.summary()
