"""BABEL- and HumanML3D-format annotation files for a synthetic archive, in those projects' real formats.

    out_dir/babel/{train,val,test,extra_train,extra_val}.json     BABEL v1.0 release layout
    out_dir/humanml3d/index.csv, texts/<name>.txt, {train,val,test}.txt   HumanML3D layout

Labels come from each file's motion kind (SyntheticFile.motion), so a 'walk' segment really is
walking. What the files exercise: BABEL `feat_p` with archive names (HDM05/MPI_HDM05/...), seq and
frame annotations, null `frame_ann`, per-annotator lists in extra_*.json, a sequence missing from
the archive and a test-split entry without labels; HumanML3D head trims (counted in 20 fps frames
after `int(fps/20)` decimation), `end_frame=-1`, mirrored `M` rows, whole-clip (`0.0#0.0`) and
timed captions, and a humanact12 row (not AMASS).
"""

from __future__ import annotations

import csv
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from amass_arrow.schema import BABEL as B
from amass_arrow.schema import HML3D_INDEX
from amass_arrow.source.discover import SMPLH_TO_SMPLX, canonical_dataset

# kind -> (raw_label, proc_label, act_cat, captions)
KIND_LABELS = {
    "walk": ("walk forward", "walk", ["walk"], ["a person walks forward.", "someone walks in a straight line to the left."]),
    "run": ("jog forward", "run", ["run"], ["a person runs forward.", "someone is running quickly to the right."]),
    "stand": ("stand still", "stand", ["stand"], ["a person stands still.", "someone stands with the left arm down."]),
    "jump": ("jump in place", "jump", ["jump"], ["a person jumps up and down.", "someone hops on the spot."]),
    "turn": ("turn around", "turn", ["turn"], ["a person turns around to the left.", "someone turns to the right."]),
}
_POS = {"a": "DET", "the": "DET", "someone": "PRON", "person": "NOUN", "line": "NOUN", "arm": "NOUN", "spot": "NOUN",
        "in": "ADP", "to": "ADP", "on": "ADP", "with": "ADP", "is": "AUX", "and": "CCONJ"}
HML_TRIM_FRAMES = {"Eyes_Japan_Dataset": 60, "MPI_HDM05": 60, "TotalCapture": 20, "MPI_Limits": 20, "Transitions_mocap": 10}


@dataclass
class AnnotationPaths:
    babel_dir: Path
    humanml3d_index: Path
    humanml3d_texts: Path
    files: list[Path] = field(default_factory=list)


def _tokens(caption: str) -> str:
    words = caption.rstrip(".").split()
    return " ".join(f"{w}/{_POS.get(w, 'VERB' if w.endswith('s') and w not in ('arms',) else 'ADV')}" for w in words)


def _mirror(caption: str) -> str:
    swap = {"left": "right", "right": "left"}
    return " ".join(swap.get(w.rstrip("."), w.rstrip(".")) + ("." if w.endswith(".") else "") for w in caption.split())


def _rest(f) -> tuple[str, str]:
    """(canonical dataset, '<subject>/<name>') of a synthetic file."""
    ds, rest = f.seq_id.split("/", 1)
    return canonical_dataset(ds), rest


def make_annotations(out_dir: str | Path, files, seed: int = 0) -> AnnotationPaths:
    """Write BABEL and HumanML3D annotation files for `files` (SyntheticFile: seq_id, fps, num_frames, motion)."""
    rng = random.Random(seed)
    out = Path(out_dir)
    babel, hml = out / "babel", out / "humanml3d"
    texts = hml / "texts"
    texts.mkdir(parents=True, exist_ok=True)
    babel.mkdir(parents=True, exist_ok=True)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    written = _write_babel(babel, files, rng, uid)
    index, hml_written = _write_humanml3d(hml, texts, files, rng)
    written += hml_written + sorted(texts.glob("*.txt"))
    return AnnotationPaths(babel, index, texts, written)


def _write_babel(babel: Path, files, rng: random.Random, uid) -> list[Path]:
    """BABEL's <split>.json files (train, val, test, extra_train, extra_val) for `files`; the paths written."""
    written: list[Path] = []
    splits = {k: {} for k in ("train", "val", "test", "extra_train", "extra_val")}
    for i, f in enumerate(sorted(files, key=lambda f: f.seq_id)):
        canon, rest = _rest(f)
        archive = SMPLH_TO_SMPLX.get(canon, canon)
        feat_p = f"{archive}/{canon}/{rest}_poses.npz"
        dur = round(f.num_frames / f.fps, 3)
        raw, proc, cats, _ = KIND_LABELS[f.motion]
        sid = 1000 + i
        split = "val" if i % 4 == 3 else "train"
        entry = {B.babel_sid: sid, B.url: f"https://babel-renderings.s3.amazonaws.com/{sid:06d}.mp4",
                 B.feat_p: feat_p, B.dur: dur}
        seq_labels = [{B.raw_label: raw, B.proc_label: proc, B.seg_id: uid(), B.act_cat: cats}]
        cut = round(dur * rng.uniform(0.35, 0.65), 3)
        frame_labels = [
            {B.raw_label: raw, B.proc_label: proc, B.seg_id: uid(), B.act_cat: cats, B.start_t: 0.0, B.end_t: cut},
            {B.raw_label: f"keep {proc}ing" if proc != "run" else "keep running", B.proc_label: proc, B.seg_id: uid(),
             B.act_cat: cats, B.start_t: cut, B.end_t: dur},
        ]
        ann = uid()
        entry[B.seq_ann] = {B.babel_lid: uid(), B.anntr_id: ann, B.labels: seq_labels}
        entry[B.frame_ann] = None if i % 3 == 2 else {B.babel_lid: uid(), B.anntr_id: ann, B.labels: frame_labels}
        splits[split][str(sid)] = entry
        if i % 4 in (0, 3):  # a second and third annotator in extra_<split>.json
            extra = {k: entry[k] for k in (B.babel_sid, B.url, B.feat_p, B.dur)}
            extra[B.seq_anns] = [{B.babel_lid: uid(), B.anntr_id: uid(), B.labels: [{**seq_labels[0], B.seg_id: uid()}]}
                                 for _ in range(2)]
            extra[B.frame_anns] = [{B.babel_lid: uid(), B.anntr_id: uid(),
                                    B.labels: [{**lab, B.seg_id: uid()} for lab in frame_labels]}]
            splits[f"extra_{split}"][str(sid)] = extra
    missing = {B.babel_sid: 9001, B.url: "", B.feat_p: "CMU/CMU/99/99_99_poses.npz", B.dur: 3.0,
               B.seq_ann: {B.babel_lid: uid(), B.anntr_id: uid(),
                           B.labels: [{B.raw_label: "walk", B.proc_label: "walk", B.seg_id: uid(), B.act_cat: ["walk"]}]},
               B.frame_ann: None}
    splits["val"]["9001"] = missing  # not in the archive: an import must report it
    if files:
        f0 = sorted(files, key=lambda f: f.seq_id)[0]
        canon, rest = _rest(f0)
        splits["test"]["9002"] = {B.babel_sid: 9002, B.url: "", B.dur: round(f0.num_frames / f0.fps, 3),
                                  B.feat_p: f"{SMPLH_TO_SMPLX.get(canon, canon)}/{canon}/{rest}_poses.npz",
                                  B.seq_ann: None, B.frame_ann: None}  # BABEL's test split: labels withheld
    for split, data in splits.items():
        p = babel / f"{split}.json"
        p.write_text(json.dumps(data, indent=1))
        written.append(p)
    return written


def _write_humanml3d(hml: Path, texts: Path, files, rng: random.Random) -> tuple[Path, list[Path]]:
    """HumanML3D's index.csv, texts/<name>.txt and <split>.txt for `files`: (index.csv, the paths written but texts/)."""
    written: list[Path] = []
    rows: list[tuple[str, int, int, str]] = []
    hsplit: dict[str, str] = {}
    n = 0

    def emit(source: str, a: int, b: int, captions: list[tuple[str, float, float]], mirror: bool) -> None:
        nonlocal n
        name = f"{n:06d}"
        n += 1
        variants = [(name, captions)] + ([("M" + name, [(_mirror(c), s, e) for c, s, e in captions])] if mirror else [])
        for nm, caps in variants:
            rows.append((source, a, b, f"{nm}.npy"))
            lines = [f"{c}#{_tokens(c)}#{s:.1f}#{e:.1f}" for c, s, e in caps]
            (texts / f"{nm}.txt").write_text("\n".join(lines) + "\n")
            hsplit[nm] = ("train", "train", "val", "test")[int(name) % 4]

    for i, f in enumerate(sorted(files, key=lambda f: f.seq_id)):
        canon, rest = _rest(f)
        step = int(f.fps / 20)
        if step < 1:
            continue
        length = math.ceil(f.num_frames / step) - HML_TRIM_FRAMES.get(canon, 0)  # pose_data frames after the trim
        if length < 60:
            continue
        source = f"./pose_data/{canon}/{rest}_poses.npy"
        caps = KIND_LABELS[f.motion][3]
        if i % 3 == 0:  # the whole (trimmed) file, HumanML3D's -1 end
            emit(source, 0, -1, [(caps[0], 0.0, 0.0)], mirror=True)
        else:  # a window of at most 10 s, whole-clip and timed captions
            a = rng.randrange(0, max(1, length - 200))
            b = min(length, a + rng.randrange(60, 201))
            emit(source, a, b, [(caps[0], 0.0, 0.0), (caps[1], 0.5, 2.0)], mirror=i % 2 == 0)
    emit("./pose_data/humanact12/humanact12/P01G01R01F0001T0064A0101.npy", 0, -1,
         [("a person waves with the right hand.", 0.0, 0.0)], mirror=False)
    index = hml / "index.csv"
    with open(index, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(list(HML3D_INDEX))
        w.writerows(rows)
    written.append(index)
    for split in ("train", "val", "test"):
        p = hml / f"{split}.txt"
        p.write_text("".join(f"{k}\n" for k, v in sorted(hsplit.items()) if v == split and not k.startswith("M")))
        written.append(p)
    return index, written
