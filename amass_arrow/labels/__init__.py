"""Label tables: annotations from BABEL, HumanML3D and file names as time segments keyed by `seq_id`.

Every source becomes rows of one schema (SEGMENT_SCHEMA) in `labels/<source>.parquet`; the
`labels` SQL view unions them. Times are seconds on the store's clock (`frames.t`); segments are
half-open like the slice tables: a frame belongs to a segment iff ``start_t <= t < end_t``.
Sequence-level labels span 0 -> the store length `num_frames / store_fps` (SequenceIndex.length).

Annotations that could not be placed (no such sequence in the store, humanact12 clips, empty
clips, ...) and imported ones with a warning (BABEL `dur` disagreeing with the store) go to
`labels/unmatched/<source>.parquet` (UNMATCHED_SCHEMA) — a sub-folder, so the `labels/*.parquet`
glob behind the view never picks them up — and to the import summary. Nothing is dropped silently.

    from amass_arrow.labels import babel, humanml3d, filename, write_labels
    res = babel.import_babel("store", "babel_v1.0_release/")
    write_labels("store", res)          # publishes a new immutable build via store.amend
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from amass_arrow.source.discover import canonical_dataset, seq_id_for
from amass_arrow.store.amend import amend
from amass_arrow.store.open import open_store
from amass_arrow.store.reader import Store

from .. import schema
from ..errors import LabelError
from ..schema import LAB, SEQ, UNM


@dataclass(frozen=True)
class LabelSource:
    """One annotation source: its CLI inputs and the importer that turns them into an ImportResult.

    `importer` is "module:function" (imported lazily); the function takes (store_path, *inputs).
    Adding a source = a module under labels/ with that function, plus one entry in SOURCES.
    """

    name: str
    help: str
    inputs: tuple[tuple[str, str], ...]  # (argument name, help) after STORE
    importer: str

    def run(self, store_path: str | Path, *inputs: str) -> ImportResult:
        import importlib

        module, func = self.importer.split(":")
        return getattr(importlib.import_module(module, __package__), func)(store_path, *inputs)


#: Every label source, by name (the CLI's `labels import SOURCE` choices and write_labels' check read it).
SOURCES: dict[str, LabelSource] = {
    s.name: s
    for s in (
        LabelSource("babel", "BABEL json files (train/val/extra_*.json)",
                    (("babel_dir", "babel_v1.0_release/ folder"),), ".babel:import_babel"),
        LabelSource("humanml3d", "HumanML3D index.csv and texts/",
                    (("index_csv", "HumanML3D index.csv"),
                     ("texts_dir", "HumanML3D texts/ folder (train/val/test.txt beside it fill source_split)")),
                    ".humanml3d:import_humanml3d"),
        LabelSource("filename", "keyword rules on sequence names (walk, run, jump, ...)", (), ".filename:import_filename"),
    )
}
#: values of the `kind` column: a whole-sequence label, a BABEL frame-level segment, a captioned clip
KIND_SEQUENCE, KIND_FRAME, KIND_CLIP = "sequence", "frame", "clip"
KINDS = (KIND_SEQUENCE, KIND_FRAME, KIND_CLIP)
#: seconds a segment may overhang the store sequence before it is flagged and reported 'clipped' (rates round)
CLIP_TOLERANCE = 0.25
# the label tables' schemas and paths are the store contract's (schema); these names are kept for callers
UNMATCHED_DIR = schema.LABELS_UNMATCHED_DIR
SEGMENT_SCHEMA = schema.LABEL_SEGMENT_SCHEMA
UNMATCHED_SCHEMA = schema.LABEL_UNMATCHED_SCHEMA
labels_path = schema.labels_path
unmatched_path = schema.unmatched_path


@dataclass
class ImportResult:
    """Segments and problems of one import; `table()`/`unmatched_table()` give the Arrow tables."""

    source: str
    segments: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    def add(self, seq_id: str, start_t: float, end_t: float, *, kind: str, source_ref: str, raw_label=None,
            proc_label=None, act_cat=None, text=None, tokens=None, source_split=None, annotator=None,
            flags=()) -> None:
        self.segments.append(dict(
            seq_id=seq_id, source=self.source, start_t=float(start_t), end_t=float(end_t), raw_label=raw_label,
            proc_label=proc_label, act_cat=list(act_cat or []), text=text, tokens=tokens, kind=kind,
            source_split=source_split,
            annotator=None if annotator is None else str(annotator), flags=list(flags), source_ref=source_ref,
        ))

    def report(self, source_ref: str, reason: str, message: str, *, seq_id: str | None = None,
               source_file: str | None = None, imported: bool = False) -> None:
        self.unmatched.append(dict(source=self.source, source_ref=source_ref, source_file=source_file,
                                   seq_id=seq_id, reason=reason, message=message, imported=imported))

    def table(self) -> pa.Table:
        rows = sorted(self.segments, key=lambda r: (r[LAB.seq_id], r[LAB.start_t], r[LAB.kind], r[LAB.end_t]))
        return pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA)

    def unmatched_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.unmatched, schema=UNMATCHED_SCHEMA)

    def summary(self) -> dict[str, Any]:
        """JSON-able counts: segments, sequences, and problems by reason (imported or not)."""
        skipped = Counter(u[UNM.reason] for u in self.unmatched if not u[UNM.imported])
        warned = Counter(u[UNM.reason] for u in self.unmatched if u[UNM.imported])
        return {
            "source": self.source,
            "segments": len(self.segments),
            "sequences": len({s[LAB.seq_id] for s in self.segments}),
            "unmatched": sum(skipped.values()),
            "unmatched_by_reason": dict(sorted(skipped.items())),
            "warnings_by_reason": dict(sorted(warned.items())),
        }


class SequenceIndex:
    """Resolves AMASS-relative paths (either download's folder names) to the store's seq_ids and facts."""

    def __init__(self, sequences: pa.Table):
        cols = [SEQ.seq_id, SEQ.dataset, SEQ.canonical_dataset, SEQ.num_frames, SEQ.store_fps, SEQ.source_fps,
                SEQ.fps_in_file, SEQ.source_frames, SEQ.name]
        rows = sequences.select(cols).to_pylist()
        self.rows = {r[SEQ.seq_id]: r for r in rows}
        self._by_key: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            sid = r[SEQ.seq_id]
            rest = sid.split("/", 1)[1] if "/" in sid else sid
            self._by_key.setdefault((r[SEQ.canonical_dataset], rest), []).append(sid)

    def length(self, seq_id: str) -> float:
        """Seconds covered by the store's frames of `seq_id`: schema.duration_seconds (num_frames / store_fps)."""
        r = self.rows[seq_id]
        return schema.duration_seconds(r[SEQ.num_frames], r[SEQ.store_fps])

    @classmethod
    def of_store(cls, store: Store) -> SequenceIndex:
        return cls(store.sequences())

    def lookup(self, rel: str) -> list[str]:
        """seq_ids for `<dataset>/<subject>/<name>_poses.npz` (suffix and .npz/.npy optional); [] if none."""
        rel = rel.replace("\\", "/")
        while rel.startswith("./"):
            rel = rel[2:]
        if rel.endswith(".npy"):
            rel = rel[: -len(".npy")] + ".npz"
        sid = seq_id_for(rel)
        if "/" not in sid:
            return []
        dataset, rest = sid.split("/", 1)
        return sorted(self._by_key.get((canonical_dataset(dataset), rest), []))


def open_index(store_path: str | Path) -> tuple[Store, SequenceIndex]:
    store = open_store(store_path)
    return store, SequenceIndex.of_store(store)


def clamp_segment(res: ImportResult, seq_id: str, duration: float, start: float, end: float, ref: str,
                  tolerance: float = CLIP_TOLERANCE) -> tuple[float, float, list[str]] | None:
    """Fit [start, end) into [0, duration); report and return None when nothing is left.

    Overhangs up to `tolerance` s are clipped silently (rounding between frame rates); longer ones
    are clipped, flagged 'clipped' and reported.
    """
    flags: list[str] = []
    if not (end >= start):
        res.report(ref, "bad_time", f"end_t {end} is before start_t {start}", seq_id=seq_id)
        return None
    if start >= duration or end <= 0:
        res.report(ref, "outside_sequence", f"segment {start:.3f}-{end:.3f} s lies outside the store sequence "
                   f"(0-{duration:.3f} s)", seq_id=seq_id)
        return None
    if start < 0 or end > duration:
        if start < -tolerance or end > duration + tolerance:
            flags.append("clipped")
            res.report(ref, "clipped", f"segment {start:.3f}-{end:.3f} s clipped to the store sequence "
                       f"(0-{duration:.3f} s)", seq_id=seq_id, imported=True)
        start, end = max(start, 0.0), min(end, duration)
    return start, end, flags


def write_labels(store_path: str | Path, result: ImportResult) -> Path:
    """Publish `labels/<source>.parquet` and `labels/unmatched/<source>.parquet` as a new store build."""
    if result.source not in SOURCES:
        raise LabelError(f"unknown label source {result.source!r}; expected one of {', '.join(SOURCES)}")
    info = {
        "file": labels_path(result.source),
        "unmatched_file": unmatched_path(result.source),
        "rows": len(result.segments),
        "unmatched": sum(1 for u in result.unmatched if not u[UNM.imported]),
        "inputs": result.inputs,
        "imported": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    return amend(store_path, {labels_path(result.source): result.table(),
                              unmatched_path(result.source): result.unmatched_table()},
                 labels={result.source: info})
