"""BABEL annotations (babel_v1.0_release/*.json) -> label segments keyed by the store's seq_id.

Files: `train.json`, `val.json` (`seq_ann` and `frame_ann` objects; `frame_ann` may be null;
`test.json` has neither) and `extra_train.json`, `extra_val.json` (`seq_anns` / `frame_anns`:
one object per annotator). Each entry is keyed by babel_sid::

    {"babel_sid": 12, "url": ..., "feat_p": "CMU/CMU/07/07_01_poses.npz", "dur": 4.2,
     "seq_ann": {"babel_lid": ..., "anntr_id": ..., "labels": [{"raw_label", "proc_label", "seg_id", "act_cat"}]},
     "frame_ann": null | {..., "labels": [{..., "start_t", "end_t"}]}}

`feat_p`'s first component is the AMASS *archive* name (BMLrub, HDM05, ...), the second the SMPL+H
folder; either download's folder names resolve (SequenceIndex). Sequence labels span 0 -> the
store length (num_frames / store_fps); frame labels keep their seconds (the store clock starts at
the file's first frame), rescaled by fps_in_file / source_fps when `fps_overrides` corrected the
file's rate: BABEL counted seconds at the rate the file states, so with a 120 -> 60 override its
second 1.0 is source frame 120, store time 2.0 (`dur` likewise). A `dur` that disagrees with the store
length by more than DUR_TOLERANCE s is reported and flagged 'duration_mismatch' (and imported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import LabelError
from ..schema import BABEL, LAB, SEQ
from . import KIND_FRAME, KIND_SEQUENCE, ImportResult, SequenceIndex, clamp_segment, open_index

#: file stem -> source_split, in reading order
BABEL_FILES = ("train", "val", "test", "extra_train", "extra_val")
DUR_TOLERANCE = 0.25  # seconds


def read_babel(babel_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{split: {babel_sid: entry}} for each BABEL json present in `babel_dir`."""
    d = Path(babel_dir)
    if not d.is_dir():
        raise LabelError(f"{d}: not a folder; pass the babel_v1.0_release/ folder holding train.json and val.json")
    out: dict[str, dict[str, Any]] = {}
    for split in BABEL_FILES:
        p = d / f"{split}.json"
        if not p.is_file():
            continue
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LabelError(f"{p}: not readable JSON: {exc}") from None
        if not isinstance(data, dict):
            raise LabelError(f"{p}: expected an object keyed by babel_sid, got {type(data).__name__}")
        out[split] = data
    if not out:
        raise LabelError(f"{d}: no BABEL files ({', '.join(s + '.json' for s in BABEL_FILES)})")
    return out


def _annotations(entry: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The annotation objects of one entry: `seq_ann`/`frame_ann` (one or null) or `seq_anns`/`frame_anns` (list)."""
    many = entry.get(key + "s")
    if isinstance(many, list):
        return [a for a in many if isinstance(a, dict)]
    one = entry.get(key)
    return [one] if isinstance(one, dict) else []


def import_babel(store_path: str | Path, babel_dir: str | Path, index: SequenceIndex | None = None) -> ImportResult:
    """All BABEL labels in `babel_dir` as segments of the store at `store_path` (nothing is written)."""
    if index is None:
        _, index = open_index(store_path)
    res = ImportResult("babel")
    for split, entries in read_babel(babel_dir).items():
        fname = f"{split}.json"
        res.inputs.append(str(Path(babel_dir) / fname))
        for sid, entry in entries.items():
            _import_entry(res, index, split, fname, str(sid), entry)
    return res


def _import_entry(res: ImportResult, index: SequenceIndex, split: str, fname: str, sid: str, entry: Any) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get(BABEL.feat_p), str):
        res.report(f"babel_sid {sid}", "bad_entry", "entry has no feat_p string", source_file=fname)
        return
    ref = entry[BABEL.feat_p]
    parts = ref.split("/")
    # drop the archive component; a path without one is tried as-is
    seq_ids = index.lookup("/".join(parts[1:])) if len(parts) >= 4 else []
    if not seq_ids:
        seq_ids = index.lookup(ref)
    if not seq_ids:
        res.report(ref, "no_sequence", f"babel_sid {sid}: no store sequence for {ref}", source_file=fname)
        return
    seq_anns, frame_anns = _annotations(entry, BABEL.seq_ann), _annotations(entry, BABEL.frame_ann)
    if not seq_anns and not frame_anns:
        res.report(ref, "no_annotation", f"babel_sid {sid}: neither seq_ann nor frame_ann (test split?)",
                   seq_id=seq_ids[0], source_file=fname)
        return
    for seq_id in seq_ids:
        duration = index.length(seq_id)
        scale = file_seconds_scale(index.rows[seq_id])
        flags = []
        dur = entry.get(BABEL.dur)
        if isinstance(dur, (int, float)) and abs(float(dur) * scale - duration) > DUR_TOLERANCE:
            flags.append("duration_mismatch")
            res.report(ref, "duration_mismatch", f"babel_sid {sid}: BABEL dur {float(dur) * scale:.3f} s, store length "
                       f"{duration:.3f} s", seq_id=seq_id, source_file=fname, imported=True)
        for ann in seq_anns:
            for lab in _labels(res, ref, fname, ann):
                res.add(seq_id, 0.0, duration, kind=KIND_SEQUENCE, source_ref=ref, source_split=split,
                        annotator=ann.get(BABEL.anntr_id), flags=flags, **_label_fields(lab))
        for ann in frame_anns:
            for lab in _labels(res, ref, fname, ann):
                try:
                    start, end = float(lab[BABEL.start_t]) * scale, float(lab[BABEL.end_t]) * scale
                except (KeyError, TypeError, ValueError):
                    res.report(ref, "bad_time", f"babel_sid {sid}: frame label {lab.get(BABEL.seg_id)} lacks numeric "
                               "start_t/end_t", seq_id=seq_id, source_file=fname)
                    continue
                fit = clamp_segment(res, seq_id, duration, start, end, ref)
                if fit is None:
                    continue
                res.add(seq_id, fit[0], fit[1], kind=KIND_FRAME, source_ref=ref, source_split=split,
                        annotator=ann.get(BABEL.anntr_id), flags=flags + fit[2], **_label_fields(lab))


def file_seconds_scale(seq: dict[str, Any]) -> float:
    """Store seconds per second of the file's own clock: fps_in_file / source_fps (1.0 without an override).

    `seq` is a SequenceIndex row. A file stating 120 fps whose override is 60 gives 2.0.
    """
    file_fps, used = seq.get(SEQ.fps_in_file), seq.get(SEQ.source_fps)
    if not file_fps or not used:
        return 1.0
    return float(file_fps) / float(used)


def _labels(res: ImportResult, ref: str, fname: str, ann: dict[str, Any]) -> list[dict[str, Any]]:
    labs = ann.get(BABEL.labels)
    if not isinstance(labs, list):
        res.report(ref, "bad_entry", f"annotation {ann.get(BABEL.babel_lid)} has no labels list", source_file=fname)
        return []
    return [lab for lab in labs if isinstance(lab, dict)]


def _label_fields(lab: dict[str, Any]) -> dict[str, Any]:
    cats = lab.get(BABEL.act_cat)
    # BABEL's label keys are named like our columns: the keys are ours (LAB), the values BABEL's json (BABEL)
    return {LAB.raw_label: lab.get(BABEL.raw_label), LAB.proc_label: lab.get(BABEL.proc_label),
            LAB.act_cat: [str(c) for c in cats] if isinstance(cats, list) else []}
