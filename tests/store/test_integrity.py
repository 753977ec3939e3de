"""Nothing lost, nothing stale (issue 20, stores): immutable S3 builds, a fenced S3 lock, content build ids,
staging after a failed publish, readers across publishes, read-only SQL, and a kill-point / full-disk property test."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.build.orchestrate import build
from amass_arrow.cli import main
from amass_arrow.config import load_build_config
from amass_arrow.errors import SQLError, StoreError, StoreLockedError
from amass_arrow.io.remote import Tree
from amass_arrow.query.sql import connect, query
from amass_arrow.store.amend import amend
from amass_arrow.store.layout import StoreLayout
from amass_arrow.store.open import open_store
from amass_arrow.store.remote import ObjectLayout
from amass_arrow.store.verify import verify

BUCKET = "integrity"
FAULT_ENV = "AMASS_ARROW_FAULT"  # the writer's fault-injection seam (atomic.fault): "<point>=<kill|stop|enospc>"
#: the issue's fault points: while converting, while writing each meta file, just before and after the publish swap
FAULT_POINTS = ("convert", "write:sequences.parquet", "write:rejects.parquet", "write:meta/info.json",
                "publish:before", "publish:after")
FRAMES = 60  # frames per tiny take: builds of the tiny archive take well under a second


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), workers=1, **kw)


def _trim(src: Path, dst: Path, shift: float = 0.0) -> None:
    """A copy of a synthetic SMPL+H take cut to FRAMES frames (numeric keys only), its translation shifted by `shift` m."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {}
        for k in z.files:
            try:
                a = z[k]
            except ValueError:
                continue  # an object array: not ours to carry
            if a.ndim >= 1 and a.shape[0] > FRAMES and k in ("poses", "trans", "dmpls"):
                a = a[:FRAMES]
            arrays[k] = a
    arrays["trans"] = arrays["trans"] + shift
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dst, **arrays)


@pytest.fixture(scope="module")
def tiny(synthetic_root, tmp_path_factory):
    """A tiny archive (KIT: 2 subjects x 2 takes of FRAMES frames); returns (root, the take that toggles, its variant)."""
    root = tmp_path_factory.mktemp("tiny") / "amass"
    src = Path(synthetic_root.amass_root) / "KIT"
    for p in sorted(src.rglob("*.npz")):
        rel = p.relative_to(src.parent)
        if p.name == "shape.npz":
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, root / rel)
        else:
            _trim(p, root / rel)
    take = root / "KIT" / "3" / "walking_medium01_poses.npz"
    variant = root.parent / "variant.npz"  # outside the archive
    _trim(src / "3" / "walking_medium01_poses.npz", variant, shift=0.25)
    return root, take, variant


def _archive(tiny, tmp_path) -> tuple[Path, Path, Path]:
    root, take, variant = tiny
    mine = tmp_path / "amass"
    shutil.copytree(root, mine)
    return mine, mine / take.relative_to(root), variant


def _toggle(take: Path, variant: Path, original: bytes) -> None:
    """Swap the take between its original bytes and the variant (every toggle changes one file's content)."""
    take.write_bytes(variant.read_bytes() if take.read_bytes() == original else original)


# ---------------------------------------------------------------- S3 (moto on 127.0.0.1)
@pytest.fixture(scope="module")
def s3(s3_server):
    """The local S3 (conftest's s3_server): (env, client)."""
    return s3_server


def _objects(client, prefix: str) -> dict[str, str]:
    """key -> ETag of every object under `prefix`."""
    out, token = {}, None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        got = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix, **kw)
        out.update({o["Key"]: o["ETag"] for o in got.get("Contents", [])})
        if not got.get("IsTruncated"):
            return out
        token = got["NextContinuationToken"]


def test_s3_rebuild_never_writes_under_a_published_prefix(s3, tiny, synthetic_root, tmp_path):
    """Item 1: a rebuild (re-uploaded bytes, --force) writes a new prefix; the published one is untouched."""
    env, client = s3
    url = f"s3://{BUCKET}/immutable"
    root = tiny[0]
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.npz"))}

    def upload():
        for rel, data in files.items():
            client.put_object(Bucket=BUCKET, Key=f"tiny/{rel}", Body=data)

    upload()
    src = f"s3://{BUCKET}/tiny"
    first = build(_cfg(src, synthetic_root.body_models, url), progress=False)
    live = json.loads(client.get_object(Bucket=BUCKET, Key="immutable/_current.json")["Body"].read())["root"]
    published = _objects(client, f"immutable/{live}/")
    assert len(published) == first.sequences + 3  # parts, sequences, rejects, info.json

    before = {o: client.head_object(Bucket=BUCKET, Key=f"tiny/{o}")["LastModified"] for o in files}
    _wait(lambda: time.time() > max(before.values()).timestamp() + 1.01, "a new second for LastModified")
    upload()  # the same bytes re-uploaded: a new LastModified, so every take is converted again
    again = build(_cfg(src, synthetic_root.body_models, url), progress=False)
    assert again.converted == first.sequences
    assert _objects(client, f"immutable/{live}/") == published  # not one object of the published build rewritten
    rep = verify(url)
    assert rep.ok, rep.text()

    live = json.loads(client.get_object(Bucket=BUCKET, Key="immutable/_current.json")["Body"].read())["root"]
    published = _objects(client, f"immutable/{live}/")
    forced = build(_cfg(src, synthetic_root.body_models, url, force=True), progress=False)
    assert forced.converted == first.sequences and forced.changed
    assert _objects(client, f"immutable/{live}/") == published
    rep = verify(url)
    assert rep.ok, rep.text()
    assert open_store(url).info.build_id == forced.build_id


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except (OSError, IndexError):
        return False


def _wait(cond, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


_BUILD = ("import sys; from amass_arrow.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.mark.parametrize("pause", ["convert", "publish:before"])
def test_s3_writer_that_lost_its_lock_publishes_nothing(pause, s3, tiny, synthetic_root, tmp_path):
    """Item 2: a writer paused (SIGSTOP) while converting or at the pointer swap, whose lease ran out, is fenced off:
    it exits non-zero, publishes nothing over the new owner's store and leaves the new owner's lock alone."""
    env, client = s3
    url = f"s3://{BUCKET}/fenced-{pause.replace(':', '-')}"
    prefix = url.split("/", 3)[3]
    src, take, variant = _archive(tiny, tmp_path)
    first = build(_cfg(src, synthetic_root.body_models, url), progress=False)
    pointer0 = client.get_object(Bucket=BUCKET, Key=f"{prefix}/_current.json")["Body"].read()
    _toggle(take, variant, take.read_bytes())  # writer A would publish a new build
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, "build", str(src), "--body-models", str(synthetic_root.body_models),
                             "--out", url, "--workers", "1", "--quiet"],
                            env={**os.environ, **env, FAULT_ENV: f"{pause}=stop", "AMASS_ARROW_LOCK_TTL": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: _stopped(proc.pid) or proc.poll() is not None, f"writer A to pause at {pause}")
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        lock = lambda: json.loads(client.get_object(Bucket=BUCKET, Key=f"{prefix}/_lock")["Body"].read())  # noqa: E731
        assert lock()["pid"] == proc.pid
        _wait(lambda: lock()["expires"] < time.time(), "A's 1 s lease to run out")
        with ObjectLayout(url).lock(ttl=600):  # B takes the lapsed lock over ...
            os.kill(proc.pid, signal.SIGCONT)  # ... and A wakes up at its pointer swap
            rc = proc.wait(timeout=60)
            err = proc.stderr.read().decode()
            assert rc == 2, err[-2000:]
            assert "lost its write lock" in err or "another writer published" in err, err[-2000:]
            assert lock()["pid"] == os.getpid()  # A did not delete B's lock
        assert client.get_object(Bucket=BUCKET, Key=f"{prefix}/_current.json")["Body"].read() == pointer0  # nothing published
        assert verify(url).ok and open_store(url).info.build_id == first.build_id
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    res = build(_cfg(src, synthetic_root.body_models, url), progress=False)  # the next writer publishes normally
    assert res.changed and res.build_id != first.build_id and verify(url).ok


def test_s3_pointer_swap_is_conditional_on_the_pointer_the_writer_started_from(s3):
    """Item 2: a pointer written by someone else after this writer took the lock makes its publish fail."""
    env, client = s3
    url = f"s3://{BUCKET}/ifmatch"
    layout = ObjectLayout(url)
    staged = Tree(f"{url}/builds/k.1")
    staged.write_bytes("x", b"1")
    info = json.dumps({"build_id": "mine"})
    with layout.lock():
        client.put_object(Bucket=BUCKET, Key="ifmatch/_current.json", Body=b'{"root": "builds/other", "build_id": "theirs"}')
        with pytest.raises(StoreLockedError, match="another writer published"):
            layout.publish(staged, info, keep=set(), previous=None)
    assert layout.pointer()["build_id"] == "theirs"


# ---------------------------------------------------------------- content build ids (item 3)
def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_force_over_a_flipped_byte_publishes_a_store_that_verifies(tiny, synthetic_root, tmp_path):
    src, _, _ = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    good = query(out, "SELECT seq_id, frame, trans FROM frames ORDER BY ALL").to_pylist()
    part = sorted(open_store(out).frame_files())[0]
    _flip_byte(part)
    assert not verify(out).ok
    forced = build(_cfg(src, synthetic_root.body_models, out, force=True), progress=False)
    rep = verify(out)
    assert rep.ok, rep.text()
    assert forced.changed and forced.build_id == first.build_id  # the same content under the same id, repaired
    assert query(out, "SELECT seq_id, frame, trans FROM frames ORDER BY ALL").to_pylist() == good


def test_rebuild_replaces_a_damaged_reused_part_and_never_records_it(tiny, synthetic_root, tmp_path):
    src, _, _ = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    recorded = dict(open_store(out).info.files)
    part = sorted(open_store(out).frame_files())[-1]
    rel = part.relative_to(open_store(out).root).as_posix()
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])  # truncated
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert res.converted == 1 and res.changed and res.damaged == [rel]
    assert f"repaired 1 damaged part(s) of the published build (content differed from info.json), e.g. {rel}" in res.summary()
    rep = verify(out)
    assert rep.ok, rep.text()
    assert open_store(out).info.files[rel] == recorded[rel]  # the good part's size and hash, not the damaged one's
    _flip_byte(open_store(out).file(rel))
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)  # a flipped byte: same size, other hash
    assert res.converted == 1 and verify(out).ok and res.build_id == first.build_id


def test_build_ids_name_content(tiny, synthetic_root, tmp_path):
    """Different contents never share an id: a label import is a new id, a rebuild carrying it keeps it."""
    src, take, variant = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    first = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    table = pa.Table.from_pylist([], schema=schema.LABEL_SEGMENT_SCHEMA)
    amend(out, {f"{schema.LABELS_DIR}/test.parquet": table}, labels={"test": {"rows": 0}})
    labelled = open_store(out).info.build_id
    assert labelled != first.build_id
    again = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert (again.changed, again.build_id) == (False, labelled)
    _toggle(take, variant, take.read_bytes())
    changed = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert changed.build_id not in (first.build_id, labelled)
    ids = {}
    for d in StoreLayout(out).builds.iterdir():
        info = json.loads((d / schema.INFO_PATH).read_text())
        ids.setdefault(info["build_id"], set()).add(json.dumps(info["files"], sort_keys=True))
    assert all(len(v) == 1 for v in ids.values()), ids


# ---------------------------------------------------------------- a failed publish (item 4)
def test_enospc_writing_info_json_with_labels_does_not_block_later_builds(tiny, synthetic_root, tmp_path, monkeypatch):
    src, take, variant = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    amend(out, {f"{schema.LABELS_DIR}/test.parquet": pa.Table.from_pylist([], schema=schema.LABEL_SEGMENT_SCHEMA)},
          labels={"test": {"rows": 0}})
    before = open_store(out).info.build_id
    _toggle(take, variant, take.read_bytes())

    import amass_arrow.build.orchestrate as b

    real = b.write_text_atomic

    def full_disk(text, path):
        if Path(path).name == "info.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(text, path)

    monkeypatch.setattr(b, "write_text_atomic", full_disk)
    with pytest.raises(StoreError, match="intact"):
        build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert open_store(out).info.build_id == before and verify(out).ok
    staged = [p.relative_to(s).as_posix() for s in StoreLayout(out).stagings() for p in s.rglob("*") if p.is_file()]
    assert staged and all(r.startswith(schema.FRAMES_DIR + "/") for r in staged), staged  # only the parts are kept
    monkeypatch.setattr(b, "write_text_atomic", real)
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)  # space freed: the rebuild completes
    assert res.changed and res.reused == res.sequences  # the converted part was kept
    assert open_store(out).info.labels == {"test": {"rows": 0}} and verify(out).ok
    forced = build(_cfg(src, synthetic_root.body_models, out, force=True), progress=False)
    assert forced.sequences == res.sequences and verify(out).ok


# ---------------------------------------------------------------- readers (item 5)
def test_a_reader_keeps_its_build_across_three_publishes(tiny, synthetic_root, tmp_path):
    src, take, variant = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    con = connect(out)
    want = con.execute("SELECT count(*), sum(trans[1]) FROM frames").fetchone()
    assert want[0] == open_store(out).info.num_frames
    for k in range(3):  # like `make labels`: three publishes (three new contents) while the reader is open
        _trim(Path(synthetic_root.amass_root) / "KIT" / "3" / take.name, take, shift=0.1 * (k + 1))
        assert build(_cfg(src, synthetic_root.body_models, out), progress=False).changed
    assert con.execute("SELECT count(*), sum(trans[1]) FROM frames").fetchone() == want
    assert con.execute("SELECT sum(num_frames) FROM sequences").fetchone()[0] == want[0]


def test_a_dead_reader_s_lease_does_not_keep_its_build(tiny, synthetic_root, tmp_path):
    src, take, variant = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    code = f"from amass_arrow.query.sql import connect; connect({str(out)!r}).execute('SELECT count(*) FROM frames').fetchone()"
    subprocess.run([sys.executable, "-c", code], check=True)
    layout = StoreLayout(out)
    leased = {p.name.split("@")[2] for p in layout.readers.iterdir()}
    assert leased == {layout.current().name}
    original = take.read_bytes()
    for _ in range(3):
        _toggle(take, variant, original)
        build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert len(list(layout.builds.iterdir())) == 2  # current + previous: the dead reader's build was pruned
    assert not list(layout.readers.iterdir())


# ---------------------------------------------------------------- read-only SQL (item 6)
def test_sql_cannot_write_attach_or_read_elsewhere(tiny, synthetic_root, tmp_path, capsys):
    src, _, _ = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    seqs = open_store(out).file(schema.SEQUENCES_PATH)
    attach = tmp_path / "evil.duckdb"
    for sql in (f"COPY (SELECT * FROM sequences LIMIT 0) TO '{seqs}' (FORMAT parquet)",
                f"ATTACH '{attach}' AS evil", f"EXPORT DATABASE '{tmp_path / 'dump'}'", "INSTALL httpfs"):
        assert main(["query", str(out), sql]) == 2
        err = capsys.readouterr().err
        assert "is not allowed: SQL on a store is read-only" in err and err.count("\n") == 1, err
    assert not attach.exists() and not (tmp_path / "dump").exists()
    con = connect(out)
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "SET enable_external_access = true",
                f"SELECT * FROM read_parquet('{tmp_path}/**/*.parquet')"):
        with pytest.raises(Exception, match="disabled by configuration|configuration has been locked|Permission"):
            con.execute(sql).fetchall()
    assert con.execute("SELECT count(*) FROM frames").fetchone()[0] == open_store(out).info.num_frames  # reads still work
    rep = verify(out)
    assert rep.ok, rep.text()


def test_a_split_file_that_copies_is_refused_and_the_store_kept(tiny, synthetic_root, tmp_path, capsys):
    src, _, _ = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    seqs = open_store(out).file(schema.SEQUENCES_PATH)
    split = tmp_path / "evil.sql"
    split.write_text(f"-- a split\nCOPY (SELECT * FROM sequences LIMIT 0) TO '{seqs}' (FORMAT parquet);\n"
                     "SELECT seq_id, 'train' AS split FROM sequences;\n")
    assert main(["export", str(out), "--sql", str(split), "--kind", "torch", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{split}:2: COPY is not allowed" in err, err
    assert pq.read_table(seqs).num_rows == open_store(out).info.num_sequences > 0 and verify(out).ok
    with pytest.raises(SQLError, match="ATTACH is not allowed"):
        query(out, f"ATTACH '{tmp_path / 'a.db'}'")


# ---------------------------------------------------------------- kill points and full disks (the property)
def _state(store: str) -> tuple[str, list[tuple[str, int]]]:
    """(build id, [(seq_id, frames)]) of the published store, checked: verify passes and info counts = query counts."""
    rep = verify(store)
    assert rep.ok, rep.text()
    st = open_store(store)
    con = connect(st)
    n_seq, n_frames = con.execute("SELECT (SELECT count(*) FROM sequences), (SELECT count(*) FROM frames)").fetchone()
    assert (n_seq, n_frames) == (st.info.num_sequences, st.info.num_frames)
    rows = con.execute("SELECT seq_id, num_frames FROM sequences ORDER BY seq_id").fetchall()
    assert sum(n for _, n in rows) == n_frames
    return st.info.build_id, rows


def _faulted_build(src: Path, models, out: str, point: str, action: str, env: dict[str, str]) -> None:
    spec = f"{point}={action}"
    if action == "kill":
        code = ("import sys; from amass_arrow.build.orchestrate import build; from amass_arrow.config import load_build_config;"
                "build(load_build_config(None, amass_root=sys.argv[1], body_models=sys.argv[2], out=sys.argv[3], workers=1),"
                " progress=False)")
        proc = subprocess.run([sys.executable, "-c", code, str(src), str(models), out], env={**os.environ, **env, FAULT_ENV: spec},
                              stderr=subprocess.PIPE)
        assert proc.returncode == -signal.SIGKILL, (spec, proc.stderr.decode()[-2000:])
    else:
        os.environ[FAULT_ENV] = spec
        try:
            with pytest.raises(StoreError, match="No space left"):
                build(_cfg(src, models, out), progress=False)
        finally:
            del os.environ[FAULT_ENV]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_kill_or_full_disk_at_every_fault_point_leaves_old_or_new_store(where, tiny, synthetic_root, tmp_path, request):
    env = {}
    if where == "s3":
        env, _client = request.getfixturevalue("s3")
        out = f"s3://{BUCKET}/property"
    else:
        out = str(tmp_path / "store")
    from amass_arrow.io import atomic

    assert atomic.FAULT_POINTS == FAULT_POINTS and atomic.FAULT_ENV == FAULT_ENV
    src, take, variant = _archive(tiny, tmp_path)
    original = take.read_bytes()
    models = synthetic_root.body_models
    build(_cfg(src, models, out), progress=False)
    for point in FAULT_POINTS:
        for action in ("kill", "enospc"):
            old_id, old_rows = _state(out)
            reader = connect(out)  # a reader open on the old build through the fault and the re-run
            _toggle(take, variant, original)  # the next build converts one file and publishes a new build
            _faulted_build(src, models, out, point, action, env)
            got_id, got_rows = _state(out)  # verify passes; the store is the old build or the new one
            res = build(_cfg(src, models, out), progress=False)  # re-running completes
            new_id, new_rows = _state(out)
            assert new_id == res.build_id != old_id, (point, action)
            assert (got_id, got_rows) in ((old_id, old_rows), (new_id, new_rows)), (point, action)
            if point != "publish:after":
                assert got_id == old_id, (point, action)  # published only once the swap happened
            assert reader.execute("SELECT count(*) FROM frames").fetchone()[0] == sum(n for _, n in old_rows)
            reader.close()


def test_another_users_stale_lease_does_not_fail_a_publish(tiny, synthetic_root, tmp_path, monkeypatch):
    """A stale lease the builder may not remove (another user's, in a shared store) is left alone: the build
    publishes and exits cleanly instead of reporting the previous store 'intact' after the new one went live."""
    src, take, variant = _archive(tiny, tmp_path)
    out = tmp_path / "store"
    build(_cfg(src, synthetic_root.body_models, out), progress=False)
    readers = out.parent / f".{out.name}.amass-arrow" / "readers"
    readers.mkdir(parents=True, exist_ok=True)
    theirs = readers / f"999999999@{socket.gethostname()}@gone-build"  # a dead pid: stale
    theirs.write_text("")
    real_unlink = Path.unlink

    def unlink(self, *a, **kw):
        if self == theirs:
            raise PermissionError(13, "Operation not permitted", str(self))
        return real_unlink(self, *a, **kw)

    monkeypatch.setattr(Path, "unlink", unlink)
    _toggle(take, variant, take.read_bytes())
    res = build(_cfg(src, synthetic_root.body_models, out), progress=False)
    assert open_store(out, lease=False).info.build_id == res.build_id and verify(out).ok
    assert theirs.exists()
