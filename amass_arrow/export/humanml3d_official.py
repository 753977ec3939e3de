"""HumanML3D, id for id: their published dataset rebuilt from a store (`export --kind humanml3d --recipe official`).

EricGuo5513/HumanML3D makes it in three notebooks; this module does their steps, quirks kept, from a store built
with `--resample none` (source frames) and a clone of their repository (index.csv, HumanML3D/ split lists, texts):

raw_pose_processing (per AMASS file, then per index.csv row)
1. frames: every k-th source frame, k = int(mocap_framerate / 20) (59.94 fps -> 2, i.e. ~30 fps; 100 -> 5;
   120 -> 6; 250 -> 12); a file without `mocap_framerate` (SMPL-X's `mocap_frame_rate`) is skipped by them;
2. body: their SMPL+H male model iff `gender == 'male'` is true for the file's gender array (a bytes gender or
   'neutral' gets the female model), betas[:10], no DMPLs; the model's joints, then (x, y, z) -> (x, z, y);
3. head trims in those frames, by dataset (HEAD_TRIM, from schema.HML3D_HEAD_SECONDS; by canonical dataset here, so HDM05/ is
   trimmed like MPI_HDM05/), then Python's `data[start_frame:end_frame]` (end -1 drops the last frame), then x *= -1;
   HumanAct12 rows: no trim, no slice, no flip;
4. the mirror `M<id>` = their swap_left_right of that clip: x negated again, left/right chains swapped.
motion_representation: `features` (their process_file, first 22 joints) -> new_joint_vecs; `recover_joints` of them
(float32) -> new_joints. cal_mean_variance: Mean/Std over every clip written (mirrors and test too; NaN clips
skipped), std averaged within each feature group.

Written into the export folder OUT (fresh; run_export's publish_export swaps it in):

    HumanML3D/new_joints/<id>.npy, new_joint_vecs/<id>.npy, texts/<id>.txt (the clone's, unchanged),
    HumanML3D/Mean.npy, Std.npy, train.txt val.txt test.txt train_val.txt all.txt (the clone's lists, unchanged)
    HumanML3D/params/<id>.npz   with --with-params: poses, trans, betas, gender, fps, source_frames, mirrored
    reconciliation.csv          one row per official id (M ids too): status, reason, seq_id, frames used
    reconciliation.json         counts by status and by dataset; provenance.json (run_export's mark)
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amass_arrow.motion.bodymodel import BodyModelRegistry, load_body_model
from amass_arrow.motion.kinematics import forward_kinematics
from amass_arrow.source.discover import canonical_dataset, seq_id_for
from amass_arrow.store.reader import Store

from ..errors import AmassArrowError, ConfigError, ExportError
from ..schema import FRM, HML3D_HEAD_SECONDS, HML3D_INDEX, NPZ, SEQ, SKELETONS
from ..source.hml3d_index import read_index, rel_path
from . import MARK, check_folder_name, publish_export
from .humanml3d import FPS, GROUPS, NUM_JOINTS, features, group_std, mirror, recover_joints
from .stats import RunningStats

HML_FPS = int(FPS)  # their pose_data rate, 20
#: canonical dataset -> head trim in their 20 fps frames: int(seconds * 20), as their data[int(k*fps):]
HEAD_TRIM = {ds: int(s * HML_FPS) for ds, s in HML3D_HEAD_SECONDS.items()}
DIR = "HumanML3D"
LISTS = ("train.txt", "val.txt", "test.txt", "train_val.txt", "all.txt")
HUMANACT12 = "humanact12"
#: reconciliation statuses
WRITTEN, NO_TEXTS, NOT_IN_STORE, NO_HUMANACT12, FAILED, DIFFERS = (
    "written", "no texts", "source not in the store", "humanact12 not given", "failed", "source differs from HumanML3D's")
#: statuses whose clip files were written
HAS_CLIP = (WRITTEN, NO_TEXTS, DIFFERS)
COLUMNS = ("id", "status", "reason", "seq_id", "source_path", "dataset", "source_start", "source_end", "stride",
           "frames")
#: their swap_left_right's chains: body (the first 22 joints: `humanml3d.MIRROR`), then the two hands' 15 joints
HAND_LEFT = (22, 23, 24, 34, 35, 36, 25, 26, 27, 31, 32, 33, 28, 29, 30)
HAND_RIGHT = (43, 44, 45, 46, 47, 48, 40, 41, 42, 37, 38, 39, 49, 50, 51)


@dataclass
class Clone:
    """A clone of EricGuo5513/HumanML3D as users have it: index.csv, HumanML3D/{lists, texts.zip or texts/}."""

    root: Path
    rows: list[dict[str, str]]
    texts_dir: Path | None
    texts_zip: Path | None
    _zip_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> Clone:
        root = Path(path)
        index = root / "index.csv"
        if not index.is_file():
            raise ConfigError(f"{root}: no index.csv; --humanml3d-dir is a clone of EricGuo5513/HumanML3D")
        rows = read_index(index)
        texts_dir, texts_zip = root / DIR / "texts", root / DIR / "texts.zip"
        c = cls(root, rows, texts_dir if texts_dir.is_dir() else None, texts_zip if texts_zip.is_file() else None)
        if c.texts_dir is None and c.texts_zip is not None:
            try:
                with zipfile.ZipFile(texts_zip) as z:
                    c._zip_names = {Path(n).name: n for n in z.namelist() if n.endswith(".txt")}
            except zipfile.BadZipFile:
                raise ConfigError(f"{texts_zip}: not a zip file (a Git LFS pointer? fetch it with git lfs pull, "
                                  "or extract texts/ beside it)") from None
        if c.texts_dir is None and c.texts_zip is None:
            raise ConfigError(f"{root / DIR}: neither texts.zip nor texts/; the clone is incomplete")
        return c

    def text_files(self, ids: set[str]) -> dict[str, bytes]:
        """id -> the bytes of its texts/<id>.txt, for the ids the clone has."""
        out = {}
        if self.texts_dir is not None:
            for i in ids:
                p = self.texts_dir / f"{i}.txt"
                if p.is_file():
                    out[i] = p.read_bytes()
            return out
        with zipfile.ZipFile(self.texts_zip) as z:
            for i in ids:
                n = self._zip_names.get(f"{i}.txt")
                if n is not None:
                    out[i] = z.read(n)
        return out


@dataclass
class OfficialResult:
    out: Path
    rows: list[dict]
    counts: dict[str, int]

    @property
    def summary(self) -> str:
        n = sum(self.counts.values())
        written = sum(self.counts.get(s, 0) for s in HAS_CLIP)
        rest = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if k not in HAS_CLIP)
        return (f"written {written} of {n} HumanML3D clips ({self.counts.get(DIFFERS, 0)} from a source that differs, "
                f"{self.counts.get(NO_TEXTS, 0)} without texts){'; ' + rest if rest else ''}: {self.out / 'reconciliation.csv'}")


class _Sources:
    """index.csv paths -> the store's sequences, through the dataset aliases (MPI_HDM05/x = HDM05/x); SMPL+H first."""

    def __init__(self, seqs: dict[str, dict]):
        self.by_key: dict[tuple[str, str], list[str]] = {}
        for sid in sorted(seqs, key=lambda s: (seqs[s][SEQ.surface_model] != "smplh", s)):
            r = seqs[sid]
            self.by_key.setdefault((r[SEQ.canonical_dataset], sid.split("/", 1)[-1]), []).append(sid)

    def lookup(self, rel: str) -> str | None:
        sid = seq_id_for(rel[:-4] + ".npz" if rel.endswith(".npy") else rel)
        if "/" not in sid:
            return None
        dataset, rest = sid.split("/", 1)
        hit = self.by_key.get((canonical_dataset(dataset), rest))
        return hit[0] if hit else None


def check_store(store) -> None:
    """Refuse a store that cannot give their frames: resampled (their stride needs source frames) or Y-up."""
    info = store.info
    if info.resample != "none":
        raise ConfigError(
            f"{store.layout.path}: built with --resample {info.resample}; the official HumanML3D recipe takes every "
            f"int(fps/20)-th *source* frame, so it needs a store of source frames: rebuild with "
            f"`amass-arrow build AMASS --body-models BM --out STORE --resample none`")
    if info.frame != "z_up":
        raise ConfigError(f"{store.layout.path}: built with --frame {info.frame}; the official HumanML3D recipe poses "
                          f"the files' own parameters: rebuild with --frame z_up (the default)")


def stride(fps_in_file: float) -> int:
    """Their down_sample = int(mocap_framerate / 20) (0 below 20 fps: their slice then fails)."""
    return int(fps_in_file / HML_FPS)


def is_male(gender) -> bool:
    """Their `if bdata['gender'] == 'male'` on the file's gender array: a text array equal to 'male' (bytes: no)."""
    g = np.asarray(gender)
    return g.dtype.kind == "U" and g.size == 1 and str(g.reshape(-1)[0]) == "male"


def swap_left_right(joints: np.ndarray) -> np.ndarray:
    """Their swap_left_right: (T, J, 3) -> x negated, left/right body chains swapped (and the hands when J > 24)."""
    m = mirror(joints[:, :NUM_JOINTS])
    if joints.shape[1] == NUM_JOINTS:
        return m
    out = joints.copy()
    out[..., 0] *= -1
    out[:, :NUM_JOINTS] = m
    if joints.shape[1] > 24:
        out[:, HAND_LEFT], out[:, HAND_RIGHT] = out[:, HAND_RIGHT].copy(), out[:, HAND_LEFT].copy()
    return out


class _Bodies:
    """The SMPL+H male and female models their notebook poses with (the store's files, else --body-models)."""

    def __init__(self, store, body_models: str):
        self.store, self.body_models, self.models = store, body_models, {}
        self.parents = np.asarray(SKELETONS["smplh"][1][:NUM_JOINTS])

    def get(self, gender: str):
        if gender not in self.models:
            key = f"smplh/{gender}"
            root = self.body_models or self.store.info.config.get("body_models") or ""
            try:
                if self.body_models or key not in self.store.info.body_models:
                    self.models[gender] = BodyModelRegistry(root).get("smplh", gender)
                else:
                    self.models[gender] = load_body_model(self.store.info.body_models[key], "smplh", gender)
            except (OSError, ValueError, KeyError, AmassArrowError) as exc:
                raise ConfigError(f"humanml3d --recipe official poses every file with the SMPL+H {gender} model, which "
                                  f"could not be loaded ({exc}); pass --body-models DIR (smplh/SMPLH_{gender.upper()}.npz "
                                  f"or smplh/{gender}/model.npz)") from None
        return self.models[gender]

    def joints(self, gender: str, betas: np.ndarray, pose: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """(T, 22, 3) float64 joints, AMASS Z-up: FK of root + body pose with betas[:10]."""
        rest = self.get(gender).rest_joints(np.asarray(betas, np.float64)[:10])[:NUM_JOINTS]
        return forward_kinematics(pose.astype(np.float64), rest, self.parents, trans.astype(np.float64))


def _file_gender(store, seq: dict) -> tuple[bool | None, str]:
    """(is_male by their rule on the file's own gender array, note); None when the file has no gender (they fail)."""
    root = (store.info.source or {}).get("root")
    path = Path(root) / seq[SEQ.source_path] if root else None
    if path is None or not path.is_file():
        return seq[SEQ.gender] == "male", "gender encoding not checked (source file not found)"
    try:
        with np.load(path, allow_pickle=False) as z:
            if NPZ.gender not in z.files:
                return None, "the file has no gender (their amass_to_pose raises KeyError)"
            return is_male(z[NPZ.gender]), ""
    except ValueError:  # an object array: never unpickled
        return seq[SEQ.gender] == "male", "gender is an object array; not read"
    except (OSError, zipfile.BadZipFile) as exc:
        return seq[SEQ.gender] == "male", f"gender encoding not checked ({path}: {exc})"


def _source_frames(store, seq: dict, k: int) -> dict[str, np.ndarray]:
    """The sequence's every k-th stored (= source) frame: root_orient, pose_body, pose_hand, trans (file's z)."""
    cols = [FRM.seq_id, FRM.frame, FRM.root_orient, FRM.pose_body, FRM.pose_hand, FRM.trans]
    t = pq.read_table(store.file(seq[SEQ.part]), columns=cols)
    t = t.filter(pc.equal(t[FRM.seq_id], seq[SEQ.seq_id])).sort_by(FRM.frame)
    out = {}
    for c, w in ((FRM.root_orient, 3), (FRM.pose_body, 63), (FRM.pose_hand, 90), (FRM.trans, 3)):
        col = t[c]
        if col.null_count:
            out[c] = np.zeros((t.num_rows, w), np.float32)
        else:
            out[c] = col.combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(-1, w)
    out = {c: v[::k] for c, v in out.items()}
    out[FRM.trans] = out[FRM.trans].astype(np.float64)
    out[FRM.trans][:, 2] += float(seq[SEQ.floor_height])  # the build took the floor off; theirs did not
    return out


def export_official(store, out: Path, clone_dir: str | Path, *, humanact12: str = "", with_params: bool = False,
                    body_models: str = "", progress: bool = True) -> OfficialResult:
    """Write HumanML3D's dataset (see the module docstring) into the fresh folder `out`."""
    from tqdm.auto import tqdm

    check_store(store)
    clone = Clone.open(clone_dir)
    act_dir = Path(humanact12) if humanact12 else None
    if act_dir is not None and not act_dir.is_dir():
        raise ConfigError(f"{act_dir}: --humanact12 must be the extracted pose_data/humanact12/ folder")
    seqs = {r[SEQ.seq_id]: r for r in store.sequences().to_pylist()}
    index = _Sources(seqs)
    bodies = _Bodies(store, body_models)
    hml = out / DIR
    for d in ("new_joints", "new_joint_vecs", "texts") + (("params",) if with_params else ()):
        (hml / d).mkdir(parents=True, exist_ok=True)
    report: dict[str, dict] = {}
    stats: RunningStats | None = None
    # rows grouped by source so that each file is read and posed once
    groups: dict[str, list[tuple[int, dict]]] = {}
    for n, row in enumerate(clone.rows):
        name = row[HML3D_INDEX.new_name].strip()
        name = name[:-4] if name.endswith(".npy") else name
        rel = rel_path(row[HML3D_INDEX.source_path])
        base = {"id": name, "source_path": row[HML3D_INDEX.source_path].strip(), "seq_id": "", "dataset": "",
                "reason": "", "source_start": "", "source_end": "", "stride": "", "frames": ""}
        report[name] = dict(base, status=FAILED)
        report["M" + name] = dict(base, id="M" + name, status=FAILED)
        if rel.split("/")[0] == HUMANACT12:
            base["dataset"] = HUMANACT12
            groups.setdefault(f"{HUMANACT12}:{rel}", []).append((n, row))
            continue
        sid = index.lookup(rel)
        if sid is None:
            for i in (name, "M" + name):
                report[i].update(status=NOT_IN_STORE, dataset=canonical_dataset(rel.split("/")[0]),
                                 reason=f"no store sequence for {rel}")
            continue
        groups.setdefault(sid, []).append((n, row))
    clips_written: list[str] = []
    for key, rows in tqdm(groups.items(), desc="humanml3d official", disable=None if progress else True, leave=False):
        if key.startswith(f"{HUMANACT12}:"):
            clips = _humanact12_clips(key.split(":", 1)[1], rows, act_dir, report)
        else:
            clips = _amass_clips(store, seqs[key], rows, bodies, report, with_params)
        for cid, joints, params in clips:
            r = report[cid]
            try:
                f = features(joints)
            except ValueError as exc:
                r.update(status=FAILED, reason=f"{len(joints)} frame(s): {exc}")
                continue
            np.save(hml / "new_joint_vecs" / f"{cid}.npy", f)
            np.save(hml / "new_joints" / f"{cid}.npy", recover_joints(f).astype(np.float32))
            if params is not None:
                np.savez(hml / "params" / f"{cid}.npz", **params)
            r["frames"] = len(f)
            clips_written.append(cid)
            if np.isfinite(f).all():
                st = RunningStats.of(f)
                stats = st if stats is None else stats.merge(st)
    texts = clone.text_files(set(clips_written))
    for cid in clips_written:
        if cid in texts:
            (hml / "texts" / f"{cid}.txt").write_bytes(texts[cid])
        elif report[cid]["status"] == WRITTEN:
            report[cid].update(status=NO_TEXTS, reason=f"the clone has no texts/{cid}.txt")
    if stats is not None:
        np.save(hml / "Mean.npy", stats.mean.astype(np.float32))
        np.save(hml / "Std.npy", group_std(stats.std).astype(np.float32))
    for name in LISTS:
        src = clone.root / DIR / name
        if src.is_file():
            (hml / name).write_bytes(src.read_bytes())
    return _write_report(out, list(report.values()), stats)


def _amass_clips(store, seq: dict, rows: list[tuple[int, dict]], bodies: _Bodies, report: dict, with_params: bool):
    """(id, (T, 22, 3) joints in their frame, params or None) for every clip of one store sequence (+ mirrors)."""
    sid, ds = seq[SEQ.seq_id], seq[SEQ.canonical_dataset]
    names = []
    for _, row in rows:
        name = row[HML3D_INDEX.new_name].strip()
        name = name[:-4] if name.endswith(".npy") else name
        names.append((name, row))
        for i in (name, "M" + name):
            report[i].update(seq_id=sid, dataset=ds)

    def fail(reason: str):
        for name, _ in names:
            for i in (name, "M" + name):
                report[i].update(status=FAILED, reason=reason)
        return []

    if seq[SEQ.fps_key] != NPZ.mocap_framerate:
        return fail(f"no mocap_framerate in the file (it has {seq[SEQ.fps_key]}): their amass_to_pose skips it")
    if seq[SEQ.surface_model] != "smplh":
        return fail(f"a {seq[SEQ.surface_model]} file: their notebook poses SMPL+H files only")
    file_fps = float(seq[SEQ.fps_in_file] or seq[SEQ.source_fps])
    k = stride(file_fps)
    if k < 1:
        return fail(f"mocap_framerate {file_fps:g} < 20: their stride int(fps/20) is 0")
    male, note = _file_gender(store, seq)
    if male is None:
        return fail(note)
    gender = "male" if male else "female"
    src = _source_frames(store, seq, k)
    pose = np.concatenate([src[FRM.root_orient], src[FRM.pose_body]], 1).reshape(-1, NUM_JOINTS, 3)
    j = bodies.joints(gender, np.asarray(seq[SEQ.betas]), pose, src[FRM.trans])
    j = j[..., [0, 2, 1]]  # their np.dot(Jtr, trans_matrix): (x, y, z) -> (x, z, y)
    trim = HEAD_TRIM.get(ds, 0)
    n_src = len(j)
    out = []
    for name, row in names:
        try:
            a, b = int(row[HML3D_INDEX.start_frame]), int(row[HML3D_INDEX.end_frame])
        except ValueError:
            for i in (name, "M" + name):
                report[i].update(status=FAILED, reason=f"start_frame/end_frame not integers: {row}")
            continue
        have = max(0, n_src - trim)
        lo, hi, _ = slice(a, b).indices(have)
        clip = j[trim:][a:b].copy()  # exactly their data[trim:][start:end]
        clip[..., 0] *= -1
        status, reasons = WRITTEN, [note] if note else []
        if b > have or a >= have:
            status = DIFFERS
            reasons.append(f"row needs frames [{a}:{b}] of the {trim}-trimmed file; it has {have} at stride {k}")
        if seq[SEQ.fps_override_reason]:
            status = DIFFERS
            reasons.append(f"the store corrects the rate: {seq[SEQ.fps_override_reason]}")
        if seq.get(SEQ.source_frame) == "y_up":
            status = DIFFERS
            reasons.append("a Y-up file: the store stood it upright, their notebook poses it as it is")
        first, last = (trim + lo) * k, (trim + max(hi, lo + 1) - 1) * k
        info = dict(status=status, reason="; ".join(reasons), source_start=first if hi > lo else "",
                    source_end=last + 1 if hi > lo else "", stride=k)
        report[name].update(info)
        report["M" + name].update(info)
        params = None
        if with_params:
            sel = slice(trim + lo, trim + max(hi, lo))
            params = {"poses": np.concatenate([src[FRM.root_orient], src[FRM.pose_body], src[FRM.pose_hand]], 1)[sel],
                      "trans": src[FRM.trans][sel].astype(np.float32), "betas": np.asarray(seq[SEQ.betas], np.float32)[:10],
                      "gender": np.array(gender), "fps": np.array(file_fps / k), "source_fps": np.array(file_fps),
                      "source_frames": np.arange(n_src)[sel] * k, "seq_id": np.array(sid),
                      "frame": np.array("AMASS Z-up; clip joints = FK then (x, y, z) -> (-x, z, y)")}
        out.append((name, clip, None if params is None else dict(params, mirrored=np.array(False))))
        out.append(("M" + name, swap_left_right(clip), None if params is None else dict(params, mirrored=np.array(True))))
    return out


def _humanact12_clips(rel: str, rows: list[tuple[int, dict]], act_dir: Path | None, report: dict):
    """HumanAct12 rows: their joint file as is (no trim, slice or flip) and its mirror."""
    names = []
    for _, row in rows:
        name = row[HML3D_INDEX.new_name].strip()
        names.append(name[:-4] if name.endswith(".npy") else name)
    for name in names:
        for i in (name, "M" + name):
            report[i].update(dataset=HUMANACT12)

    def mark(status: str, reason: str):
        for name in names:
            for i in (name, "M" + name):
                report[i].update(status=status, reason=reason)
        return []

    if act_dir is None:
        return mark(NO_HUMANACT12, "HumanAct12 is not in AMASS: pass --humanact12 DIR (pose_data/humanact12/)")
    tail = rel.split("/", 1)[1] if "/" in rel else rel
    path = next((p for p in (act_dir / tail, act_dir / Path(tail).name, act_dir / HUMANACT12 / Path(tail).name)
                 if p.is_file()), None)
    if path is None:
        return mark(FAILED, f"{act_dir / tail}: not found")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        return mark(FAILED, f"{path}: cannot read ({exc})")
    if data.ndim == 2 and data.shape[1] % 3 == 0:
        data = data.reshape(len(data), -1, 3)
    if data.ndim != 3 or data.shape[1] < NUM_JOINTS or data.shape[2] != 3:
        return mark(FAILED, f"{path}: joints of shape {data.shape}, expected (T, >=22, 3)")
    data = data.astype(np.float64)
    out = []
    for name in names:
        for i in (name, "M" + name):
            report[i].update(status=WRITTEN, source_start=0, source_end=len(data), stride=1)
        out.append((name, data[:, :NUM_JOINTS], None))
        out.append(("M" + name, swap_left_right(data)[:, :NUM_JOINTS], None))
    return out


def _write_report(out: Path, rows: list[dict], stats) -> OfficialResult:
    with open(out / "reconciliation.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS})
    counts = Counter(r["status"] for r in rows)
    by_ds: dict[str, Counter] = {}
    for r in rows:
        by_ds.setdefault(r["dataset"] or "?", Counter())[r["status"]] += 1
    meta = {"clips": len(rows), "by_status": dict(sorted(counts.items())),
            "by_dataset": {d: dict(sorted(c.items())) for d, c in sorted(by_ds.items())},
            "mean_std": None if stats is None else {"clips": "every clip written (mirrors, all splits; NaN skipped)",
                                                    "frames": int(stats.count), "groups": [list(g) for g in GROUPS]}}
    (out / "reconciliation.json").write_text(json.dumps(meta, indent=1))
    return OfficialResult(out, rows, dict(counts))


def run_official(store_path, out: str | Path, clone_dir: str | Path, *, humanact12: str = "", with_params: bool = False,
                 body_models: str = "", progress: bool = True) -> OfficialResult:
    """`amass-arrow export STORE --kind humanml3d --recipe official --humanml3d-dir CLONE --out OUT`: checks the store
    and the clone before writing anything, writes into a fresh folder and swaps it in as OUT (export.publish_export)."""

    store = store_path if isinstance(store_path, Store) else Store(store_path)
    check_store(store)
    Clone.open(clone_dir)  # a bad clone stops here, before any folder is made
    out = Path(out)
    check_folder_name(out.name, "export output folder")
    result: list[OfficialResult] = []

    def write(fresh: Path) -> None:
        result.append(export_official(store, fresh, clone_dir, humanact12=humanact12, with_params=with_params,
                                      body_models=body_models, progress=progress))
        i = store.info
        prov = {"store": str(store.layout.path), "store_root": str(store.root), "format_version": i.format_version,
                "build_id": i.build_id, "resample": i.resample, "frame": i.frame,
                "export": {"kind": "humanml3d", "recipe": "official", "humanml3d_dir": str(clone_dir),
                           "humanact12": humanact12, "with_params": with_params, "body_models": body_models},
                "reconciliation": result[0].counts}
        (fresh / MARK).write_text(json.dumps(prov, indent=1))  # last: only a complete export carries it

    try:
        publish_export(out, write)
    except OSError as exc:
        raise ExportError(f"{out}: cannot write the HumanML3D export ({exc})") from None
    res = result[0]
    res.out = out
    return res
