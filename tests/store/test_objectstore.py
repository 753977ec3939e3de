"""objectstore: build from and to S3 (a moto server on 127.0.0.1), kill and resume, verify, query with pruning."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.build.orchestrate import build
from amass_arrow.cli import main
from amass_arrow.config import load_build_config
from amass_arrow.errors import StoreLockedError
from amass_arrow.query.sql import connect, scan
from amass_arrow.store.open import open_store
from amass_arrow.store.remote import ObjectLayout
from amass_arrow.store.verify import verify

DATASETS = ("CMU", "KIT", "SFU")
BUCKET = "amass-test"


class _Requests(logging.Handler):
    """The moto server's request log lines ('GET /bucket/key?… HTTP/1.1')."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def frame_gets(self) -> list[str]:
        return [m.group(1) for ln in self.lines if (m := re.search(r'(?:GET|HEAD) (/\S*/frames/\S+\.parquet)', ln))]


@pytest.fixture(scope="module")
def s3(s3_server):
    """The local S3 (conftest's s3_server) with its request log: (env, log)."""
    env, _client = s3_server
    log = _Requests()
    logging.getLogger("werkzeug").addHandler(log)
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    yield env, log
    logging.getLogger("werkzeug").removeHandler(log)


@pytest.fixture(scope="module")
def s3_archive(s3, synthetic_root):
    """A few datasets of the synthetic archive uploaded to s3://BUCKET/amass; returns the URL."""
    fs = pafs.FileSystem.from_uri(f"s3://{BUCKET}")[0]
    root = Path(synthetic_root.amass_root)
    for p in sorted(root.rglob("*.npz")):
        rel = p.relative_to(root).as_posix()
        if rel.split("/")[0] in DATASETS:
            with fs.open_output_stream(f"{BUCKET}/amass/{rel}") as out:
                out.write(p.read_bytes())
    return f"s3://{BUCKET}/amass"


def _cfg(src, models, out, **kw):
    return load_build_config(None, amass_root=str(src), body_models=str(models), out=str(out), **kw)


def test_s3_build_killed_resumes_verifies_and_queries_with_pruning(s3, s3_archive, synthetic_root, demo_store, tmp_path, capsys):
    env, log = s3
    url = f"s3://{BUCKET}/store"
    layout = ObjectLayout(url)
    builds = ObjectLayout(url).tree

    # 1. a build from S3 to S3 in a subprocess, killed (SIGKILL) once some parts are written
    code = ("import sys; from amass_arrow.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "build", s3_archive, "--body-models", str(synthetic_root.body_models),
                             "--out", url, "--workers", "1", "--quiet"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    parts: list[str] = []
    while time.time() < deadline and proc.poll() is None:
        parts = [r for r in builds.files("builds") if "/frames/" in r]
        if len(parts) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(parts) >= 2, proc.stderr.read().decode()[-2000:]
    assert layout.pointer() is None  # nothing published: readers see no store yet
    assert builds.size("_lock") is not None  # the dead writer's lock is left behind

    # 2. resume: takes over the dead process's lock, reuses the parts it wrote, converts the rest
    cfg = _cfg(s3_archive, synthetic_root.body_models, url)
    res = build(_cfg(s3_archive, synthetic_root.body_models, url, workers=2), progress=False)  # parts PUT by 2 processes
    assert res.reused >= len(parts) and res.converted >= 1 and res.changed
    assert builds.size("_lock") is None  # released

    # 3. incremental: nothing to do; the lock is exclusive while held
    again = build(cfg, progress=False)
    assert (again.converted, again.changed, again.build_id) == (0, False, res.build_id)
    with layout.lock():
        with pytest.raises(StoreLockedError, match="is being written by pid"):
            build(cfg, progress=False)

    # 4. verify reads every listed object and checks it against the manifest
    rep = verify(url)
    assert rep.ok, rep.text()
    assert rep.checked_files == res.sequences + 2
    store = open_store(url)
    assert store.remote and store.info.build_id == res.build_id
    import pyarrow.compute as pc

    local = open_store(demo_store).sequences()
    local = local.filter(pc.is_in(local["dataset"], pa.array(DATASETS)))
    # the same rows as the local build of the same files, apart from the source's mtime (the object's upload
    # time) and the part name (its settings key hashes the body models used: the demo store needs SMPL-X too)
    remote = store.sequences()
    diff = [c for c in local.column_names if c not in ("file_mtime_ns", "part") and not remote[c].equals(local[c])]
    assert diff == [] and remote.num_rows == local.num_rows == res.sequences

    # 5. connect(): a filter on the hive key reads only that dataset's part files
    seqs = store.sequences().to_pylist()
    want = {d: sum(r["num_frames"] for r in seqs if r["dataset"] == d) for d in DATASETS}
    con = connect(url)
    log.lines.clear()
    n = con.execute("SELECT count(*), count(DISTINCT seq_id) FROM frames WHERE dataset = 'KIT'").fetchone()
    assert n[0] == want["KIT"] > 0
    gets = log.frame_gets()
    assert gets and all("/dataset=KIT/" in g for g in gets), gets
    plan = con.execute("EXPLAIN SELECT count(*) FROM frames WHERE dataset = 'KIT'").fetchall()[0][1]
    assert "ARROW_SCAN" in plan and re.search(r"Filters:\s*\"?dataset\"?\s*=\s*'KIT'", plan), plan  # pushed into the scan

    # 6. `amass-arrow query` on the URL: same pruning
    log.lines.clear()
    assert main(["query", url, "SELECT dataset, count(*) AS n FROM frames WHERE dataset = 'SFU' GROUP BY ALL", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"dataset": "SFU", "n": want["SFU"]}
    gets = log.frame_gets()
    assert gets and {re.search("dataset=([^/]+)", g).group(1) for g in gets} == {"SFU"}, gets

    # 7. polars reads the listed objects natively
    frames = scan(url)["frames"]
    import polars as pl

    got = frames.filter(pl.col("dataset") == "CMU").select(pl.len()).collect().item()
    assert got == want["CMU"]
    assert set(schema.HIVE_KEYS) <= set(frames.collect_schema().names())

    # 8. build-splits and an exporter read the S3 store through the same views
    import numpy as np
    import torch

    from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits
    from amass_arrow.query.splits import Definition, SplitWarning

    out = tmp_path / "splits"
    cfg = SplitsConfig(definitions=[Definition()], exports=[ExportSpec(kind="torch", unit="frame")])
    with pytest.warns(SplitWarning, match="split 'test' is empty"):  # no test-split dataset among DATASETS
        done = build_splits(url, cfg, out, progress=False, log=lambda *a, **k: None)
    assert [(d, f) for d, f, _ in done.outputs] == [("official", "torch_frame")]
    exported = 0
    for pt in sorted((out / "official" / "torch_frame").glob("*.pt")):
        d = torch.load(pt, mmap=True)
        exported += d["frame"].shape[0]
        if not d["seq_ids"]:  # the empty test split is written too, empty (issue 21 item 10)
            assert pt.stem == "test" and d["frame"].shape == (0,)
            continue
        first = d["seq_ids"][0]
        mask = (d["seq_index"] == 0).numpy()
        ref = store.read_sequence_frames(first, ["joints"]).to_pydict()
        by_frame = dict(zip(ref["frame"], ref["joints"]))
        want_joints = np.array([by_frame[f] for f in d["frame"][mask].tolist()], np.float32)
        assert np.array_equal(d["joints"][mask].numpy(), want_joints)  # the store's values, bit for bit
    assert exported == sum(r["num_frames"] for r in seqs if r["seq_id"] in
                           set(pq.read_table(out / "official" / "split_rows.parquet")["seq_id"].to_pylist()))


def test_lock_lease_other_host_blocks_until_it_expires(s3):
    """A live lease from another host blocks a writer and names its holder; an expired one is taken over."""
    import boto3

    env, _log = s3
    url = f"s3://{BUCKET}/locked"
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    held = {"host": "node-7", "pid": 4242, "since": "2026-01-01T00:00:00"}
    client.put_object(Bucket=BUCKET, Key="locked/_lock", Body=json.dumps(dict(held, expires=time.time() + 600)).encode())
    with pytest.raises(StoreLockedError, match="pid 4242 on node-7"):
        with ObjectLayout(url).lock():
            pass
    client.put_object(Bucket=BUCKET, Key="locked/_lock", Body=json.dumps(dict(held, expires=time.time() - 1)).encode())
    with ObjectLayout(url).lock(ttl=60):
        mine = json.loads(client.get_object(Bucket=BUCKET, Key="locked/_lock")["Body"].read())
        assert (mine["host"], mine["pid"]) == (socket.gethostname(), os.getpid()) and mine["expires"] > time.time()
    with pytest.raises(client.exceptions.NoSuchKey):  # released on exit
        client.get_object(Bucket=BUCKET, Key="locked/_lock")


def test_report_on_an_s3_store(s3, s3_archive, synthetic_root, tmp_path, capsys):
    """`amass-arrow report s3://…` writes the page (it raised AttributeError on the store's path and rejects)."""
    url = f"s3://{BUCKET}/report-store"
    build(_cfg(s3_archive, synthetic_root.body_models, url, workers=1), progress=False)
    out = tmp_path / "report.html"
    assert main(["report", url, "-o", str(out), "--worst", "1"]) == 0, capsys.readouterr().err
    page = out.read_text()
    assert url in page and all(f">{d}<" in page for d in DATASETS)
    assert "<img" in page  # the worst takes drawn from the bucket's frames


class _FailingS3:
    """A boto3 S3 client stand-in whose calls fail the way botocore does without credentials or an endpoint,
    or with AccessDenied."""

    def __init__(self, put_error: Exception | None = None, pointer_error: Exception | None = None):
        self.put_error, self.pointer_error = put_error, pointer_error

    def put_object(self, Key, **kw):  # noqa: N803 - boto3's names
        if Key.endswith("_current.json") and self.pointer_error:
            raise self.pointer_error
        if self.put_error:
            raise self.put_error
        return {"ETag": '"lock-1"'}

    def head_object(self, **kw):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "404"}}, "HeadObject")

    def delete_object(self, **kw):
        return {}


def test_s3_client_errors_are_store_errors_not_tracebacks(monkeypatch):
    """botocore's own errors (no credentials, no endpoint) and a refused pointer PUT (AccessDenied, or a server
    without conditional writes) become one-line StoreErrors naming the store (review finding)."""
    pytest.importorskip("boto3")
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    from amass_arrow.errors import StoreError
    from amass_arrow.store.remote import ObjectLayout, ObjectLock

    layout = ObjectLayout("s3://bucket-x/store")
    for err in (NoCredentialsError(), EndpointConnectionError(endpoint_url="http://127.0.0.1:9")):
        monkeypatch.setattr(ObjectLock, "_client", lambda self, e=err: _FailingS3(put_error=e))
        with pytest.raises(StoreError, match="s3://bucket-x/store: cannot create the lock object"):
            with ObjectLock(layout):
                pass
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
    monkeypatch.setattr(ObjectLock, "_client", lambda self: _FailingS3(pointer_error=denied))
    with ObjectLock(layout) as lock:
        with pytest.raises(StoreError, match="cannot publish the store pointer.*nothing was published"):
            lock.put_pointer(b"{}", None)


def test_s3_publish_refused_by_the_fence_keeps_its_parts_for_the_rerun(s3, s3_archive, synthetic_root, tmp_path, monkeypatch):
    """A pointer PUT the fence refuses (another writer published) publishes nothing and drops the prefix's manifest,
    so the re-run resumes the converted parts instead of converting everything again (review finding)."""
    from amass_arrow.io.remote import Tree
    from amass_arrow.store.remote import ObjectLock
    from amass_arrow.store.verify import verify

    url = f"s3://{BUCKET}/fenced"
    real = ObjectLock.put_pointer

    def refused(self, body, started_from):
        raise StoreLockedError(f"{url}: another writer published since this build started")

    monkeypatch.setattr(ObjectLock, "put_pointer", refused)
    with pytest.raises(StoreLockedError, match="another writer published"):
        build(_cfg(s3_archive, synthetic_root.body_models, url, workers=1), progress=False)
    layout = ObjectLayout(url)
    assert layout.pointer() is None  # nothing published
    [prefix] = [b for b in layout._builds()]
    assert Tree(f"{url}/builds/{prefix}").size("meta/info.json") is None
    monkeypatch.setattr(ObjectLock, "put_pointer", real)
    res = build(_cfg(s3_archive, synthetic_root.body_models, url, workers=1), progress=False)
    assert res.converted == 0 and res.reused > 0  # every part resumed from the refused build's prefix
    assert verify(url).ok
