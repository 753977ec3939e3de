"""HumanML3D annotations (index.csv + texts/) -> caption segments keyed by the store's seq_id.

`index.csv` rows are `source_path,start_frame,end_frame,new_name`, e.g.
`./pose_data/KIT/3/kick_high_left02_poses.npy,0,117,000000.npy`. HumanML3D's raw_pose_processing
(EricGuo5513/HumanML3D) made each clip as follows, and we invert exactly that:

1. the AMASS file is decimated by `step = int(fps_in_file / 20)` (the rate the file states, which
   HumanML3D read), so pose_data frame k is source frame k*step, at store time t = k*step / source_fps
   (source_fps: the rate the store uses, which differs from the file's when `fps_overrides` corrects it;
   a 120 -> 60 override doubles every time HumanML3D's 20 fps clock implies);
2. the head is trimmed by a per-dataset amount counted in pose_data frames (HEAD_TRIM: 3*20 frames
   for Eyes_Japan_Dataset and MPI_HDM05, 1*20 for TotalCapture and MPI_Limits, int(0.5*20) for
   Transitions_mocap);
3. the clip is Python's `data[start_frame:end_frame]` of the trimmed array, so `end_frame = -1`
   means "to the end *minus the last frame*" and an end past the data is clamped.

A clip of trimmed frames [a, b) spans store time [(trim + a)*step/source_fps, (trim + b)*step/source_fps).
Each caption line of `texts/<new_name>.txt` is `caption#tokens#start#end` with seconds relative
to the clip (the tokens, word/POS as HumanML3D tagged them, are kept in the `tokens` column);
`0.0#0.0` (or nan) is the whole clip, otherwise clip frames [int(start*20), int(end*20)).
Rows whose new_name starts with 'M' are HumanML3D's mirrored copies: imported once, flagged
'mirrored' (their captions swap left/right). humanact12 clips are not AMASS and are reported.
If `train.txt`/`val.txt`/`test.txt` sit beside texts/, they fill `source_split`.
"""

from __future__ import annotations

import math
from pathlib import Path

from amass_arrow.motion.contacts import HUMANML3D
from amass_arrow.source.discover import canonical_dataset

from ..errors import LabelError
from ..schema import HML3D_HEAD_SECONDS, HML3D_INDEX, SEQ
from ..source.hml3d_index import read_index, rel_path
from . import CLIP_TOLERANCE, KIND_CLIP, ImportResult, SequenceIndex, open_index

HML_FPS = int(HUMANML3D["fps"])  # their pose_data rate (one definition: contacts.HUMANML3D)
#: canonical dataset -> head HumanML3D cuts off, in seconds (one definition: schema.HML3D_HEAD_SECONDS)
HEAD_SECONDS = HML3D_HEAD_SECONDS
#: the same in pose_data frames, as their int(k * fps) cut
HEAD_TRIM = {ds: int(s * HML_FPS) for ds, s in HEAD_SECONDS.items()}
def read_captions(path: Path) -> list[tuple[str, str, float, float]]:
    """(caption, tokens, start_s, end_s) per line of a HumanML3D texts/<name>.txt; nan -> 0.0."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.split("#")
        if len(parts) < 4:
            raise LabelError(f"{path}: line {line!r} is not caption#tokens#start#end")
        start, end = (float(x) if x.strip() else 0.0 for x in parts[-2:])
        start, end = (0.0 if math.isnan(v) else v for v in (start, end))
        out.append(("#".join(parts[:-3]).strip(), parts[-3], start, end))
    return out


def _splits(texts_dir: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for split in ("train", "val", "test"):
        p = texts_dir.parent / f"{split}.txt"
        if p.is_file():
            for name in p.read_text().split():
                out.setdefault(name, split)
    return out


def import_humanml3d(store_path: str | Path, index_csv: str | Path, texts_dir: str | Path,
                     index: SequenceIndex | None = None) -> ImportResult:
    """Every caption of every index.csv clip as a segment of the store at `store_path` (nothing is written)."""
    if index is None:
        _, index = open_index(store_path)
    texts_dir = Path(texts_dir)
    if not texts_dir.is_dir():
        raise LabelError(f"{texts_dir}: not a folder; pass HumanML3D's texts/ folder")
    res = ImportResult("humanml3d", inputs=[str(index_csv), str(texts_dir)])
    splits = _splits(texts_dir)
    for line_no, row in enumerate(read_index(index_csv), start=2):
        _import_row(res, index, texts_dir, splits, row, f"{Path(index_csv).name}:{line_no}")
    return res


def _import_row(res, index, texts_dir, splits, row, where) -> None:
    name = row[HML3D_INDEX.new_name].strip()
    name = name[: -len(".npy")] if name.endswith(".npy") else name
    src = row[HML3D_INDEX.source_path].strip()
    rel = rel_path(src)
    if rel.split("/")[0] == "humanact12":
        res.report(name, "not_amass", f"{src} is a HumanAct12 clip, not AMASS", source_file=where)
        return
    try:
        a, b = int(row[HML3D_INDEX.start_frame]), int(row[HML3D_INDEX.end_frame])
    except ValueError:
        res.report(name, "bad_entry", f"start_frame/end_frame not integers: {row}", source_file=where)
        return
    seq_ids = index.lookup(rel)
    if not seq_ids:
        res.report(name, "no_sequence", f"no store sequence for {src}", source_file=where)
        return
    text_file = texts_dir / f"{name}.txt"
    if not text_file.is_file():
        res.report(name, "no_text", f"{text_file} is missing", seq_id=seq_ids[0], source_file=where)
        return
    captions = read_captions(text_file)
    flags = ["mirrored"] if name.startswith("M") else []
    base = name[1:] if name.startswith("M") else name
    source_split = splits.get(name) or splits.get(base)
    for seq_id in seq_ids:
        seq = index.rows[seq_id]
        step, trim, length, lo, hi = _pose_data_clip(seq, rel.split("/")[0], a, b)
        if hi <= lo:
            res.report(name, "empty_clip", f"frames [{a}:{b}] of {length} pose_data frames after a {trim}-frame "
                       f"head trim select nothing", seq_id=seq_id, source_file=where)
            continue
        period = step / float(seq[SEQ.source_fps])  # store seconds per pose_data frame (after any fps override)
        _add_captions(res, seq_id, index.length(seq_id), captions, (lo, hi), trim, period,
                      ref=name, where=where, flags=flags, source_split=source_split)


def _pose_data_clip(seq: dict, dataset: str, a: int, b: int) -> tuple[int, int, int, int, int]:
    """HumanML3D's clip `data[a:b]` of one store sequence (a SequenceIndex row), in pose_data frames:
    (decimation step, head trim, length after the trim, first frame, end frame)."""
    file_fps = seq[SEQ.fps_in_file] or seq[SEQ.source_fps]  # what HumanML3D's processing read
    step = max(1, int(file_fps / HML_FPS))
    n = math.ceil(int(seq[SEQ.source_frames]) / step)  # pose_data frames
    trim = HEAD_TRIM.get(canonical_dataset(dataset), 0)
    length = max(0, n - trim)
    lo, hi, _ = slice(a, b).indices(length)  # exactly python's data[a:b]
    return step, trim, length, lo, hi


def _add_captions(res, seq_id: str, duration: float, captions, clip: tuple[int, int], trim: int, period: float, *,
                  ref: str, where: str, flags: list[str], source_split) -> None:
    """One segment per caption of a clip (pose_data frames `clip`), in store seconds, clipped to `duration`."""
    lo, hi = clip
    for caption, tokens, cs, ce in captions:
        if cs == 0.0 and ce == 0.0:
            f0, f1 = lo, hi
        else:
            f0 = lo + int(cs * HML_FPS)
            f1 = min(lo + int(ce * HML_FPS), hi)
            if f1 <= f0:
                res.report(ref, "empty_caption_span", f"caption {caption!r}: {cs}-{ce} s selects no frame of "
                           "the clip", seq_id=seq_id, source_file=where)
                continue
        start, end = (trim + f0) * period, (trim + f1) * period
        fl = list(flags)
        if end > duration + CLIP_TOLERANCE:  # the store is shorter than HumanML3D's decimated copy
            fl.append("clipped")
            res.report(ref, "clipped", f"caption {caption!r} ends at {end:.3f} s, after the store's "
                       f"{duration:.3f} s", seq_id=seq_id, source_file=where, imported=True)
        end = min(end, duration)
        res.add(seq_id, start, end, kind=KIND_CLIP, source_ref=ref, text=caption, tokens=tokens.strip() or None,
                source_split=source_split, flags=fl)
