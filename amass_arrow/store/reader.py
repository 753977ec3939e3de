"""Reading a published local store: `Store` pins one build for its life (open one with `store.open.open_store`,
which gives the object-storage twin, `store.remote.ObjectStore`, for a URL)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from amass_arrow import schema
from amass_arrow.errors import StoreError
from amass_arrow.io.atomic import content_hash
from amass_arrow.schema import SEQ

from .layout import StoreLayout
from .manifest import Manifest


class Store:
    """A published store, pinned to one build directory for its whole life.

    Opening one leases its build (`StoreLayout.hold`): later publishes keep that build while this process runs.
    `open_store(path)` (store/open.py) is the way to open one: it gives an `ObjectStore` for a URL.
    """

    remote = False  # True for a store on object storage

    def __init__(self, path: str | Path, lease: bool = True):
        """`lease=False`: a writer's own look at the current build (no reader lease is left behind)."""
        self.layout = StoreLayout(path)
        for _ in range(5):  # lease the build, then check it was not pruned between resolving and leasing
            root = self.layout.current()
            if root is None:
                raise StoreError(f"no amass-arrow store at {self.layout.path}; build one with: amass-arrow build AMASS_ROOT --out {path}")
            if not lease:
                break
            self.layout.hold(root)
            if root.is_dir():
                break
        self.root = root
        info = root / schema.INFO_PATH
        try:
            data = json.loads(info.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"{info}: cannot read manifest: {exc}") from None
        self.info = Manifest.from_dict(data, str(info), str(path))

    @property
    def location(self) -> str:
        """The store's path as the user gave it (resolved), or its URL on object storage."""
        return str(self.layout.path)

    def file(self, rel: str) -> Path:
        return self.root / rel

    def file_size(self, rel: str) -> int | None:
        """Bytes of the build's file `rel`, None if it does not exist."""
        p = self.root / rel
        return p.stat().st_size if p.is_file() else None

    def file_hash(self, rel: str) -> str:
        """The content hash info.json records for a file (io.atomic.content_hash) of the build's file `rel`."""
        return content_hash(self.root / rel)

    def parquet_file(self, rel: str) -> pq.ParquetFile:
        return pq.ParquetFile(self.root / rel)

    def unlisted_frame_files(self) -> list[str]:
        """Frames files in the build that info.json does not list (orphans), store-relative."""
        listed = {r for r in self.info.files if r.startswith(schema.FRAMES_DIR + "/")}
        on_disk = {p.relative_to(self.root).as_posix() for p in (self.root / schema.FRAMES_DIR).rglob("*") if p.is_file()}
        return sorted(on_disk - listed)

    def sequences(self) -> pa.Table:
        return pq.read_table(self.file(schema.SEQUENCES_PATH))

    def rejects(self) -> pa.Table:
        return pq.read_table(self.file(schema.REJECTS_PATH))

    def frame_files(self) -> list[Path]:
        return sorted((self.root / schema.FRAMES_DIR).rglob("*.parquet"))

    def frames_dataset(self):
        """A pyarrow dataset over the frames with string hive keys."""
        import pyarrow.dataset as ds

        part = ds.partitioning(pa.schema([(k, pa.string()) for k in schema.HIVE_KEYS]), flavor="hive")
        return ds.dataset(self.root / schema.FRAMES_DIR, format="parquet", partitioning=part)

    def read_sequence_frames(self, seq_id: str, columns: list[str] | None = None) -> pa.Table:
        """All frame rows of one sequence, ordered by frame (reads only its partition)."""
        import pyarrow.compute as pc

        seqs = self.sequences()
        mask = pc.equal(seqs[SEQ.seq_id], seq_id)
        hit = seqs.filter(mask)
        if hit.num_rows == 0:
            raise StoreError(f"{self.layout.path}: no sequence {seq_id!r}; list them with: amass-arrow query STORE \"SELECT seq_id FROM sequences\"")
        d, s = hit[SEQ.dataset][0].as_py(), hit[SEQ.subject][0].as_py()
        files = sorted((self.root / schema.partition_dir(d, s)).glob("*.parquet"))
        t = pa.concat_tables([pq.read_table(f, columns=columns and list(dict.fromkeys([schema.SEQ_ID, schema.FRAME] + columns))) for f in files])
        t = t.filter(pc.equal(t[schema.SEQ_ID], seq_id))
        return t.sort_by(schema.FRAME)
