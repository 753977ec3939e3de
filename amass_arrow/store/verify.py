"""`amass-arrow verify`: check a published store against its own manifest.

Checks: manifest valid and of this format version; every listed file present with its size,
hash and row count; no orphan or missing frames files; schemas match schema.py; every frames
file fully readable; per-sequence frame counts and totals agree with sequences.parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from amass_arrow import schema
from amass_arrow.errors import AmassArrowError
from amass_arrow.schema import SEQ

from .open import open_store
from .reader import Store


@dataclass
class Report:
    store: str
    checked_files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"{self.store}: {self.checked_files} files checked, "
        if self.ok:
            return head + "no problems"
        return head + f"{len(self.problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in self.problems)


def verify(path: str | Path, *, quick: bool = False) -> Report:
    """Verify a store; `quick` skips content hashes and full decoding (footers and sizes only)."""
    try:
        store = open_store(path)
    except AmassArrowError as exc:
        return Report(str(path), 0, [str(exc)])
    rep = Report(str(store.layout.path))
    _check_listed_files(rep, store, quick)
    _check_orphans(rep, store)
    _check_sequences(rep, store)
    return rep


def _check_listed_files(rep: Report, store: Store, quick: bool) -> None:
    """Every file info.json lists: present, its size, content hash (unless `quick`) and row count, readable."""
    for rel, entry in sorted(store.info.files.items()):
        size = store.file_size(rel)
        if size is None:
            rep.problems.append(f"{rel}: missing (listed in info.json)")
            continue
        rep.checked_files += 1
        if size != entry.get("bytes"):
            rep.problems.append(f"{rel}: {size} bytes, info.json says {entry.get('bytes')}")
            continue
        if not quick and entry.get("blake2b") and store.file_hash(rel) != entry["blake2b"]:
            rep.problems.append(f"{rel}: content hash differs from info.json (file changed or corrupt)")
            continue
        try:
            pf = store.parquet_file(rel)
            rows = pf.metadata.num_rows
            if not quick:
                pf.read()
        except (OSError, pa.ArrowException) as exc:
            rep.problems.append(f"{rel}: unreadable Parquet ({exc})")
            continue
        if rows != entry.get("rows"):
            rep.problems.append(f"{rel}: {rows} rows, info.json says {entry.get('rows')}")


def _check_orphans(rep: Report, store: Store) -> None:
    """Frames files in the build that info.json does not list (a local store's; an object-store build's prefix
    holds only listed files)."""
    for rel in store.unlisted_frame_files():
        rep.problems.append(f"{rel}: orphan file not listed in info.json")


def _check_sequences(rep: Report, store: Store) -> None:
    """sequences.parquet: its schema, its counts against info.json, and each sequence's part (listed, rows, schema)."""
    info = store.info
    try:
        seqs = store.sequences()
    except (OSError, pa.ArrowException) as exc:
        rep.problems.append(f"{schema.SEQUENCES_PATH}: unreadable ({exc})")
        return
    if not seqs.schema.equals(schema.SEQUENCE_SCHEMA, check_metadata=False):
        rep.problems.append(f"{schema.SEQUENCES_PATH}: schema differs from this version's sequences schema")
    rows = seqs.select([SEQ.seq_id, SEQ.part, SEQ.num_frames]).to_pylist()
    if len(rows) != info.num_sequences:
        rep.problems.append(f"{schema.SEQUENCES_PATH}: {len(rows)} sequences, info.json says {info.num_sequences}")
    total = sum(r[SEQ.num_frames] for r in rows)
    if total != info.num_frames:
        rep.problems.append(f"{schema.SEQUENCES_PATH}: {total} frames in all, info.json says {info.num_frames}")
    expected = schema.frame_schema(info.num_joints, info.joint_velocities)
    for r in rows:
        part, seq_id, num_frames = r[SEQ.part], r[SEQ.seq_id], r[SEQ.num_frames]
        entry = info.files.get(part)
        if entry is None:
            rep.problems.append(f"{part}: frames of {seq_id} missing from info.json")
        elif entry.get("rows") != num_frames:
            rep.problems.append(f"{part}: {entry.get('rows')} rows but {seq_id} has {num_frames} frames")
        if store.file_size(part) is not None:
            try:
                got = store.parquet_file(part).schema_arrow
            except (OSError, pa.ArrowException):
                continue  # reported above
            if not got.equals(expected, check_metadata=False):
                rep.problems.append(f"{part}: frame schema differs from info.json's joint set/options")
