"""Issue 21: unlucky inputs and unlucky ends. Odd files in the archive are rejected (never hang, never stop
the build), a killed build leaves no process behind, and each command's failure is one line, exit 2."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.source.discover import discover

TESTS = Path(__file__).resolve().parent


def _small_archive(synthetic_root, dest: Path, n: int = 2) -> list[str]:
    """The first `n` CMU files of the synthetic archive copied under dest/CMU/01; returns their file names."""
    src = sorted((Path(synthetic_root.amass_root) / "CMU").rglob("*_poses.npz"))[:n]
    (dest / "CMU" / "01").mkdir(parents=True)
    for f in src:
        shutil.copy(f, dest / "CMU" / "01" / f.name)
    return [f.name for f in src]


def _build(root, models, out, workers=1):
    cfg = load_build_config(None, amass_root=str(root), body_models=str(models), out=str(out), workers=workers)
    return build(cfg, progress=False)


# ---------------------------------------------------------------- items 2, 3: odd files are rejected
def test_named_pipe_is_rejected_not_read(synthetic_root, tmp_path):
    root = tmp_path / "amass"
    names = _small_archive(synthetic_root, root)
    os.mkfifo(root / "CMU" / "01" / "pipe_poses.npz")  # opening it for reading would block forever
    disc = discover(root)
    assert sorted(f.rel for f in disc.files) == sorted(f"CMU/01/{n}" for n in names)
    assert [(p.path, p.code) for p in disc.problems] == [("CMU/01/pipe_poses.npz", "not_a_file")]


def test_file_name_not_utf8_is_rejected_and_the_build_publishes(synthetic_root, tmp_path):
    root = tmp_path / "amass"
    names = _small_archive(synthetic_root, root)
    bad = os.fsencode(root / "CMU" / "01") + b"/walk\xff_poses.npz"
    shutil.copy(root / "CMU" / "01" / names[0], bad)
    res = _build(root, synthetic_root.body_models, tmp_path / "store", workers=2)
    store = tmp_path / "store"
    seqs = sorted(pq.read_table(store / "sequences.parquet")["seq_id"].to_pylist())
    assert seqs == sorted(f"CMU/01/{n[:-len('_poses.npz')]}" for n in names)
    rej = pq.read_table(store / "rejects.parquet").to_pylist()
    assert [(r["source_path"], r["reason"]) for r in rej] == [("CMU/01/walk\\xff_poses.npz", "bad_filename")]
    assert res.converted == len(names)


# ---------------------------------------------------------------- item 4: workers die with their build
_KILL_SCRIPT = """
import sys
from amass_arrow.build import warmstart
warmstart.PRELOAD.append("hold_worker")  # the fork server's conversions report and block (tests/hold_worker.py)
from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
build(load_build_config(None, amass_root=sys.argv[1], body_models=sys.argv[2], out=sys.argv[3], workers=2), progress=False)
"""


def _gone(pid: int, timeout: float) -> bool:
    """True once process `pid` has ended (waits on a pidfd, at most `timeout` seconds)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfd_open to wait on non-child processes")
def test_kill_9_of_a_multi_worker_build_leaves_no_process(synthetic_root, tmp_path):
    root = tmp_path / "amass"
    _small_archive(synthetic_root, root, n=4)
    fifo = tmp_path / "workers.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep = os.open(fifo, os.O_WRONLY)  # no EOF between the workers' writes
    env = {**os.environ, "AMASS_ARROW_TEST_FIFO": str(fifo),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(root), str(synthetic_root.body_models),
                             str(tmp_path / "store")], env=env, stderr=subprocess.PIPE)
    pids: set[int] = set()
    try:
        buf = b""
        while buf.count(b"\n") < 2:  # both workers hold a conversion
            ready = select.select([rfd], [], [], 120)[0]
            assert ready, f"the build's workers never started: {proc.poll()=}"
            buf += os.read(rfd, 4096)
        lines = [ln.split() for ln in buf.decode().splitlines()]
        workers = {int(w) for w, _ in lines}
        server = {int(s) for _, s in lines}
        assert len(workers) == 2 and len(server) == 1 and proc.pid not in workers | server
        pids = workers | server
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        alive = [p for p in sorted(pids) if not _gone(p, 30)]
        assert alive == [], f"processes outlived their killed build: {alive}"
    finally:
        os.close(rfd)
        os.close(keep)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in pids:  # what this test started and the fix failed to end
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------- item 5: no leaked temporary folders
def test_disk_full_writing_reduced_body_models_leaves_no_folder(synthetic_root, tmp_path, monkeypatch):
    import errno

    from amass_arrow.errors import StoreError
    from amass_arrow.motion import bodymodel

    root = tmp_path / "amass"
    _small_archive(synthetic_root, root, n=3)

    def full(self, path):
        Path(path).write_bytes(b"half")  # a partial file, as a full disk leaves it
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(bodymodel.BodyModel, "save_rest", full)
    with pytest.raises(StoreError, match="No space left on device"):
        _build(root, synthetic_root.body_models, tmp_path / "store", workers=2)
    side = tmp_path / ".store.amass-arrow"
    assert sorted(p.name for p in side.glob(".models-*")) == []


def test_stale_reduced_model_folder_of_a_killed_build_is_removed(synthetic_root, tmp_path):
    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)
    stale = tmp_path / ".store.amass-arrow" / ".models-killed"
    stale.mkdir(parents=True)
    (stale / "smplh_male.npz").write_bytes(b"x" * 1000)
    _build(root, synthetic_root.body_models, tmp_path / "store")
    assert not stale.exists()
    assert len(pq.read_table(tmp_path / "store" / "sequences.parquet")) == 2


# ---------------------------------------------------------------- item 7: --out symlinked elsewhere
def test_out_symlink_to_an_ordinary_folder_is_refused(synthetic_root, tmp_path):
    from amass_arrow.errors import StoreError

    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)
    mine = tmp_path / "my_results"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (tmp_path / "store").symlink_to(mine)
    with pytest.raises(StoreError, match="not an amass-arrow store link"):
        _build(root, synthetic_root.body_models, tmp_path / "store")
    assert os.readlink(tmp_path / "store") == str(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


# ---------------------------------------------------------------- item 8: body-model paths in info.json
def test_body_model_paths_are_absolute_so_an_export_elsewhere_finds_them(synthetic_root, tmp_path, monkeypatch):
    import json

    from amass_arrow.cli import main

    work = tmp_path / "work"
    _small_archive(synthetic_root, work / "amass")
    shutil.copytree(synthetic_root.body_models, work / "models")
    monkeypatch.chdir(work)
    _build("amass", "models", "store")  # relative paths, as a user types them
    used = json.loads((work / "store" / "meta" / "info.json").read_text())["body_models"]
    assert used and all(Path(p).is_absolute() and Path(p).is_file() for p in used.values()), used
    assert all(Path(p).parent.parent == work / "models" for p in used.values())

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc = main(["export", str(work / "store"), "--sql", "sql/splits/amass_official.sql", "--kind", "protomotions",
               "--out", str(tmp_path / "pm")])
    assert rc == 0 and (tmp_path / "pm" / "amass_official" / "protomotions" / "train.pt").is_file()


# ---------------------------------------------------------------- items 9, 10: shards and empty splits
@pytest.fixture(scope="module")
def train_only_store(synthetic_root, tmp_path_factory):
    """A store of two CMU takes: the official split's validation and test are empty."""
    d = tmp_path_factory.mktemp("train_only")
    _small_archive(synthetic_root, d / "amass")
    _build(d / "amass", synthetic_root.body_models, d / "store")
    return d / "store"


def _export(store, kind, out, *extra):
    from amass_arrow.cli import main

    return main(["export", str(store), "--sql", "sql/splits/amass_official.sql", "--kind", kind, "--out", str(out),
                 "--quiet", *extra])


def test_protomotions_shards_above_the_motions_are_refused(train_only_store, tmp_path, capsys):
    rc = _export(train_only_store, "protomotions", tmp_path / "pm", "--shards", "3")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "train (2 motions)" in err and "--shards 2" in err
    assert not (tmp_path / "pm" / "amass_official" / "protomotions").exists()
    assert _export(train_only_store, "protomotions", tmp_path / "pm2", "--shards", "2") == 0
    import torch

    for rank in (0, 1):
        d = torch.load(tmp_path / "pm2" / "amass_official" / "protomotions" / f"train_{rank}.pt", weights_only=False)
        assert len(d["motion_lengths"]) == 1


def test_empty_splits_are_written_with_the_features_of_the_others(train_only_store, tmp_path):
    import datasets
    import torch

    assert _export(train_only_store, "hf", tmp_path / "hf") == 0
    dd = datasets.load_from_disk(str(tmp_path / "hf" / "amass_official" / "hf_frame"))
    assert sorted(dd) == ["test", "train", "validation"]
    assert (dd["train"].num_rows > 0, dd["validation"].num_rows, dd["test"].num_rows) == (True, 0, 0)
    assert dd["test"].features == dd["train"].features

    assert _export(train_only_store, "torch", tmp_path / "pt") == 0
    d = tmp_path / "pt" / "amass_official" / "torch_frame"
    train = torch.load(d / "train.pt", weights_only=False)
    test = torch.load(d / "test.pt", weights_only=False)
    assert sorted(test) == sorted(train)
    for k, v in train.items():
        if isinstance(v, torch.Tensor) and k != "betas":
            assert test[k].shape == (0, *v.shape[1:]) and test[k].dtype == v.dtype, k
    pm = tmp_path / "pm" / "amass_official" / "protomotions"
    assert _export(train_only_store, "protomotions", tmp_path / "pm") == 0
    assert sorted(p.name for p in pm.glob("*.pt")) == ["train.pt"]  # an empty MotionLib cannot be loaded


# ---------------------------------------------------------------- item 11: format version
def test_format_version_bumped_and_an_older_store_is_refused_with_the_command_that_rebuilds_it(
        synthetic_root, tmp_path, capsys):
    import json
    import shlex

    from amass_arrow import schema
    from amass_arrow.cli import main
    from amass_arrow.errors import StoreError
    from amass_arrow.store.reader import Store

    assert schema.FORMAT_VERSION >= 2  # version 1 stores exist with two different sequences schemas
    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)
    store = tmp_path / "store"
    _build(root, synthetic_root.body_models, store)
    assert Store(store).info.format_version == schema.FORMAT_VERSION  # this version's stores stay readable

    info = store / "meta" / "info.json"
    data = json.loads(info.read_text())
    data["format_version"] = 1
    os.chmod(info, 0o644)
    info.write_text(json.dumps(data))  # what a store from before the bump says
    old_build = store.resolve().parent / "built-by-version-1"  # older code gave its builds other ids
    store.resolve().rename(old_build)
    store.unlink()
    store.symlink_to(os.path.relpath(old_build, tmp_path))
    with pytest.raises(StoreError, match="store format version 1") as exc:
        Store(store)
    cmd = str(exc.value).split("rebuild it with: ", 1)[1]
    assert shlex.split(cmd)[:7] == ["amass-arrow", "build", str(root), "--body-models",
                                    str(synthetic_root.body_models), "--out", str(store)]
    assert main(["info", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and cmd in err

    assert main(shlex.split(cmd)[1:] + ["--workers", "1", "--quiet"]) == 0  # the printed command, as given
    rebuilt = Store(store)
    assert rebuilt.info.format_version == schema.FORMAT_VERSION and rebuilt.info.num_sequences == 2


# ---------------------------------------------------------------- item 6: render streams GIF frames
def test_render_streams_gif_frames_to_the_file(synthetic_root, tmp_path, monkeypatch):
    """Each frame is on disk before the next is drawn (memory does not grow with the take), and the GIF
    reads back with every frame."""
    import numpy as np
    from PIL import Image

    from amass_arrow.tools import render as rmod

    sizes: list[int] = []
    add = rmod.GifStream.add

    def watched(self, rgb):
        add(self, rgb)
        sizes.append(os.path.getsize(self.tmp))  # bytes written once this frame was added

    monkeypatch.setattr(rmod.GifStream, "add", watched)
    t = np.linspace(0, 1, 20)
    joints = np.zeros((20, 22, 3))
    joints[..., 2] = np.linspace(0.0, 1.6, 22)[None, :]
    joints[..., 0] = t[:, None]
    contacts = np.zeros((20, 4), bool)
    contacts[::2, 0] = True
    out = rmod.render({"joints": joints, "contacts": contacts}, tmp_path / "w.gif", fps=30.0, joint_set="body22")
    assert len(sizes) == 20 and all(b > a for a, b in zip(sizes, sizes[1:]))  # the file grew frame by frame
    img = Image.open(out)
    assert img.n_frames == 20 and img.size == rmod.GIF_PX and img.info["loop"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.gif"]


# ---------------------------------------------------------------- item 1: one line, exit 2
def _one_line_exit_2(capsys, argv, *needles):
    from amass_arrow.cli import main

    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_render_to_an_unknown_suffix_is_one_line(train_only_store, tmp_path, capsys):
    _one_line_exit_2(capsys, ["render", str(train_only_store), "CMU/01/01_01", "-o", str(tmp_path / "x.mp4")],
                     "x.mp4", ".gif")
    assert not (tmp_path / "x.mp4").exists()


def test_report_into_an_existing_folder_is_one_line_and_leaves_nothing(train_only_store, tmp_path, capsys):
    folder = tmp_path / "reports"
    folder.mkdir()
    _one_line_exit_2(capsys, ["report", str(train_only_store), "-o", str(folder), "--worst", "0"], str(folder), "report.html")
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_disk_full_during_conversion_is_one_line(synthetic_root, tmp_path, monkeypatch, capsys):
    import errno

    from amass_arrow.build import convert

    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)

    def full(table, rel, staging):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(staging) / rel))

    monkeypatch.setattr(convert, "_write_part", full)
    _one_line_exit_2(capsys, ["build", str(root), "--body-models", str(synthetic_root.body_models),
                              "--out", str(tmp_path / "store"), "--workers", "1", "--quiet"],
                     "No space left on device", "free space and re-run")
    assert not (tmp_path / "store").exists()  # nothing published


def test_export_into_a_path_that_cannot_be_a_folder_is_one_line(train_only_store, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # --out below a regular file: the OS refuses (as root too, unlike chmod)
    _one_line_exit_2(capsys, ["export", str(train_only_store), "--sql", "sql/splits/amass_official.sql", "--kind", "torch",
                              "--out", str(blocker / "out"), "--quiet"], str(blocker))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the NotADirectory test covers the CLI path")
def test_export_into_a_read_only_folder_is_one_line(train_only_store, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _one_line_exit_2(capsys, ["export", str(train_only_store), "--sql", "sql/splits/amass_official.sql", "--kind",
                                  "torch", "--out", str(ro / "out"), "--quiet"], "Permission denied")
    finally:
        ro.chmod(0o755)


def test_labels_import_on_a_store_it_cannot_write_is_one_line(synthetic_root, tmp_path, monkeypatch, capsys):
    from amass_arrow.store import amend
    from amass_arrow.store.reader import Store

    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)
    _build(root, synthetic_root.body_models, tmp_path / "store")
    before = Store(tmp_path / "store").info.build_id

    def denied(src, dst, *a, **k):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(amend, "link_tree", denied)  # what a store owned by someone else answers
    _one_line_exit_2(capsys, ["labels", "import", "filename", str(tmp_path / "store")], "Permission denied")
    assert Store(tmp_path / "store").info.build_id == before


def test_query_on_a_store_where_every_file_was_rejected(synthetic_root, tmp_path, capsys):
    """frames is an empty view with the store's columns, so rejects (and sequences) can still be read."""
    import pyarrow as pa

    from amass_arrow import schema
    from amass_arrow.cli import main
    from amass_arrow.query.sql import connect, scan
    from amass_arrow.store.amend import amend
    from amass_arrow.store.reader import Store

    root = tmp_path / "amass"
    _small_archive(synthetic_root, root)
    store = tmp_path / "store"
    _build(root, synthetic_root.body_models, store)
    st = Store(store)
    rejects = pa.Table.from_pylist([{"source_path": "CMU/01/x_poses.npz", "dataset": "CMU", "subject": "01",
                                     "reason": "invalid_data", "message": "broken", "content_hash": None}],
                                   schema=schema.REJECT_SCHEMA)
    # the store an all-rejected build published: no frame files, no sequences, the rejects
    amend(store, {schema.SEQUENCES_PATH: st.sequences().slice(0, 0), schema.REJECTS_PATH: rejects},
          remove={r for r in st.info.files if r.startswith(schema.FRAMES_DIR + "/")})
    assert not list((store / schema.FRAMES_DIR).rglob("*.parquet"))

    con = connect(store)
    assert con.execute("SELECT count(*) FROM frames").fetchone() == (0,)
    cols = [r[0] for r in con.execute("DESCRIBE frames").fetchall()]
    assert cols[:3] == ["seq_id", "frame", "t"] and {"joints", "dataset", "subject"} <= set(cols)
    assert con.execute("SELECT reason FROM rejects").fetchall() == [("invalid_data",)]
    assert scan(store)["frames"].collect().height == 0
    assert main(["query", str(store), "SELECT count(*) AS n FROM frames WHERE dataset = 'CMU'", "--format", "json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"n": 0}


def test_ray_worker_crash_is_one_line(monkeypatch):
    ray = pytest.importorskip("ray")
    from types import SimpleNamespace

    from amass_arrow.build.executor.ray import RayExecutor
    from amass_arrow.errors import AmassArrowError, StoreError

    def crashed(ref):
        raise ray.exceptions.WorkerCrashedError()

    ex = RayExecutor.__new__(RayExecutor)  # no cluster: Ray's answers are scripted
    ex.ray = SimpleNamespace(exceptions=ray.exceptions, put=lambda x: x, get=crashed,
                             wait=lambda refs, num_returns: (refs[:1], refs[1:]))
    ex.workers, ex.owned = 2, False
    ex.task = SimpleNamespace(remote=lambda fn, chunk, args: object())
    with pytest.raises(AmassArrowError) as exc:
        list(ex.map(len, ["a", "b"]))
    msg = str(exc.value)
    assert "\n" not in msg and "WorkerCrashedError" in msg and "re-run the build" in msg

    def store_full(ref):  # the task's own deliberate error comes back as itself
        raise ray.exceptions.RayTaskError("convert_task", "tb", StoreError("disk full")).as_instanceof_cause()

    ex.ray.get = store_full
    with pytest.raises(StoreError, match="disk full"):
        list(ex.map(len, ["a"]))


# ---------------------------------------------------------------- item 12: tests never change the machine
def test_no_test_installs_software():
    import re

    words = ["a" + "pt-get", "a" + "pt", "s" + "udo", "d" + "pkg"]  # spelled apart: this line must not match
    installer = re.compile("[\"'](?:%s)[\"']" % "|".join(words))
    hits = [f"{p.name}:{n}" for p in sorted(TESTS.glob("*.py"))
            for n, line in enumerate(p.read_text().splitlines(), 1) if installer.search(line)]
    assert hits == [], f"tests that would run a package installer: {hits}"
    ci = (TESTS.parent / ".ci" / "run").read_text()
    assert ci.index("apt-get install -y -qq chromium") < ci.index("make test")  # CI installs it instead


def test_report_check_without_a_browser_skips_with_the_reason(tmp_path, monkeypatch):
    import subprocess

    import test_report

    monkeypatch.setenv("PATH", str(tmp_path))  # no browser (and no installer) on PATH
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    exe, why = test_report.chromium_or_reason()
    assert exe is None and "on PATH" in why and "chromium" in why
