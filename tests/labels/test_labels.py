"""Label imports (BABEL, HumanML3D, file names), the synthetic annotation files, and sql/examples.

Expected seq_ids and seconds are worked out by hand in comments from the documented rules
(BABEL feat_p = <archive>/<SMPL+H folder>/...; HumanML3D: step = int(fps/20), head trim in
20 fps frames, python slicing, half-open [start, end) seconds), not taken from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.io.atomic import write_parquet_atomic, write_text_atomic
from amass_arrow.labels import babel, filename, humanml3d, write_labels
from amass_arrow.store.layout import StoreLayout
from amass_arrow.store.manifest import Manifest
from amass_arrow.store.reader import Store

FPS = 30.0
# (dataset folder, canonical, subject, name, source fps, source frames, store frames at 30 fps)
SEQS = [
    ("CMU", "CMU", "07", "07_01", 120.0, 601, 151),  # 5 s -> length 151/30
    ("HDM05", "MPI_HDM05", "bk", "HDM_bk_01-01_01_120", 120.0, 1201, 301),  # SMPL-X folder name
    ("KIT", "KIT", "3", "walking_slow01", 100.0, 401, 121),
    ("MoSh", "MPI_mosh", "50002", "running_on_spot_1", 59.99, 300, 150),
    ("Transitions_mocap", "Transitions_mocap", "mazen_c3d", "walk_jump", 120.0, 481, 121),
]
CMU, HDM, KIT, MOSH, TRANS = (f"{d}/{s}/{n}" for d, _, s, n, *_ in SEQS)


def make_store(path: Path, overrides: dict[str, tuple[float, int]] | None = None) -> Path:
    """A hand-made store: zero poses, left contact on even frames, right on odd.

    `overrides`: seq_id -> (fps used, store frames), as a build with `fps_overrides` records it
    (source_fps = the override, fps_in_file = what the file says).
    """
    layout = StoreLayout(path)
    staged = layout.side / "staging-labels-test"
    J = len(schema.JOINT_SETS["body22"])
    fschema = schema.frame_schema(J)
    rows, datasets = [], {}
    for ds, canon, subj, name, file_fps, sframes, n in SEQS:
        sid = f"{ds}/{subj}/{name}"
        sfps, n = (overrides or {}).get(sid, (file_fps, n))
        cols = {schema.SEQ_ID: pa.array([sid] * n), schema.FRAME: pa.array(np.arange(n, dtype=np.int32)),
                schema.T: pa.array((np.arange(n) / FPS).astype(np.float32))}
        for c, w in {**schema.POSE_COLUMNS, schema.JOINTS: 3 * J}.items():
            cols[c] = (pa.nulls(n, schema.fsl(w)) if c in schema.NULLABLE_POSE else
                       pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(n * w, np.float32)), w))
        even = np.arange(n) % 2 == 0
        for c in schema.CONTACT_COLUMNS:
            cols[c] = pa.array(even if c.startswith("left") else ~even)
        write_parquet_atomic(pa.table(cols, schema=fschema), staged / schema.partition_dir(ds, subj) / "part-0.parquet")
        rows.append(dict(
            seq_id=sid, dataset=ds, canonical_dataset=canon, subject=subj, name=name, source_path=f"{sid}_poses.npz",
            content_hash="0" * 32, file_size=1, file_mtime_ns=0, surface_model="smplh", gender="male",
            model_gender="male", betas=[0.0] * 16, num_betas=16, source_fps=sfps, fps_key="mocap_framerate",
            fps_in_file=file_fps, fps_override_reason="test override" if sfps != file_fps else None,
            source_frames=sframes, store_fps=FPS,
            resample_mode="interpolate", num_frames=n, duration=(n - 1) / FPS, floor_height=0.0, has_dmpls=False,
            quality_flags=[], part=f"{schema.partition_dir(ds, subj)}/part-0.parquet",
            # still joints, a foot down on every frame: what quality.measure gives for this motion
            foot_skating=0.0, floor_penetration=0.0, peak_joint_speed=0.0, jitter=0.0, contact_coverage=1.0,
            airborne_fraction=0.0))
        datasets[ds] = {"sequences": 1, "frames": n, "hours": n / FPS / 3600}
    write_parquet_atomic(pa.Table.from_pylist(rows, schema=schema.SEQUENCE_SCHEMA), staged / schema.SEQUENCES_PATH)
    write_parquet_atomic(pa.Table.from_pylist([], schema=schema.REJECT_SCHEMA), staged / schema.REJECTS_PATH)
    info = Manifest(
        format_version=schema.FORMAT_VERSION, build_id="labels0001", created="2024-01-01T00:00:00", fps=FPS,
        resample="interpolate", joint_set="body22", joint_names=schema.JOINT_SETS["body22"], frame="z_up",
        contacts={"speed_threshold": 0.15, "height_threshold": 0.1}, num_sequences=len(rows),
        num_frames=sum(r["num_frames"] for r in rows), num_rejects=0, datasets=datasets, body_models={},
        config={}, software={})
    write_text_atomic(info.to_json(), staged / schema.INFO_PATH)
    layout.publish(staged, info.build_id)
    return layout.path


def lab(raw, proc, cats, seg, start=None, end=None):
    d = {"raw_label": raw, "proc_label": proc, "seg_id": seg, "act_cat": cats}
    if start is not None:
        d.update(start_t=start, end_t=end)
    return d


def write_babel(d: Path) -> Path:
    d.mkdir(parents=True)
    train = {
        "1": {"babel_sid": 1, "url": "", "feat_p": "CMU/CMU/07/07_01_poses.npz", "dur": 5.01,
              "seq_ann": {"babel_lid": "l1", "anntr_id": "a1", "labels": [lab("walk forward", "walk", ["walk", "forward movement"], "s1")]},
              "frame_ann": {"babel_lid": "l2", "anntr_id": "a1", "labels": [
                  lab("walk", "walk", ["walk"], "f1", 0.0, 2.5), lab("turn left", "turn", ["turn"], "f2", 2.5, 5.01)]}},
        "2": {"babel_sid": 2, "url": "", "feat_p": "HDM05/MPI_HDM05/bk/HDM_bk_01-01_01_120_poses.npz", "dur": 10.0,
              "seq_ann": {"babel_lid": "l3", "anntr_id": "a1", "labels": [lab("run", "run", ["run"], "s2")]},
              "frame_ann": None},
        "3": {"babel_sid": 3, "url": "", "feat_p": "CMU/CMU/99/99_99_poses.npz", "dur": 3.0,
              "seq_ann": {"babel_lid": "l4", "anntr_id": "a1", "labels": [lab("walk", "walk", ["walk"], "s3")]},
              "frame_ann": None},
        "4": {"babel_sid": 4, "url": "", "feat_p": "KIT/KIT/3/walking_slow01_poses.npz", "dur": 6.0,
              "seq_ann": {"babel_lid": "l5", "anntr_id": "a1", "labels": [lab("walk", "walk", ["walk"], "s4")]},
              "frame_ann": {"babel_lid": "l6", "anntr_id": "a1", "labels": [
                  lab("walk", "walk", ["walk"], "f3", 3.5, 5.0), lab("stop", "stand", ["stand"], "f4", 4.5, 5.0)]}},
    }
    val = {"5": {"babel_sid": 5, "url": "", "feat_p": "MoSh/MPI_mosh/50002/running_on_spot_1_poses.npz", "dur": 5.0,
                 "seq_ann": {"babel_lid": "l7", "anntr_id": "a9", "labels": [lab("run in place", "run", ["run"], "s5")]},
                 "frame_ann": None}}
    extra_train = {"1": {"babel_sid": 1, "url": "", "feat_p": "CMU/CMU/07/07_01_poses.npz", "dur": 5.01,
                         "seq_anns": [{"babel_lid": "l8", "anntr_id": "a2", "labels": [lab("walk", "walk", ["walk"], "s6")]},
                                      {"babel_lid": "l9", "anntr_id": "a3", "labels": [lab("stroll", "walk", ["walk"], "s7")]}],
                         "frame_anns": [{"babel_lid": "l10", "anntr_id": "a2",
                                         "labels": [lab("walk", "walk", ["walk"], "f5", 0.0, 5.0)]}]}}
    test = {"6": {"babel_sid": 6, "url": "", "feat_p": "CMU/CMU/07/07_01_poses.npz", "dur": 5.01,
                  "seq_ann": None, "frame_ann": None}}
    for name, data in [("train", train), ("val", val), ("extra_train", extra_train), ("test", test)]:
        (d / f"{name}.json").write_text(json.dumps(data))
    return d


def write_humanml3d(d: Path) -> tuple[Path, Path]:
    texts = d / "texts"
    texts.mkdir(parents=True)
    rows = [
        ("./pose_data/CMU/07/07_01_poses.npy", 10, 50, "000000.npy"),
        ("./pose_data/MPI_HDM05/bk/HDM_bk_01-01_01_120_poses.npy", 0, -1, "000001.npy"),
        ("./pose_data/MPI_HDM05/bk/HDM_bk_01-01_01_120_poses.npy", 0, -1, "M000001.npy"),
        ("./pose_data/MPI_mosh/50002/running_on_spot_1_poses.npy", 20, 80, "000002.npy"),
        ("./pose_data/Transitions_mocap/mazen_c3d/walk_jump_poses.npy", 5, -1, "000003.npy"),
        ("./pose_data/humanact12/humanact12/P01G01R01F0001T0064A0101.npy", 0, -1, "000004.npy"),
        ("./pose_data/KIT/9/missing_poses.npy", 0, 10, "000005.npy"),
        ("./pose_data/KIT/3/walking_slow01_poses.npy", 0, 100, "000006.npy"),
        ("./pose_data/KIT/3/walking_slow01_poses.npy", 100, 120, "000007.npy"),
    ]
    (d / "index.csv").write_text("source_path,start_frame,end_frame,new_name\n"
                                 + "".join(f"{a},{b},{c},{n}\n" for a, b, c, n in rows))
    texts_of = {
        "000000": ["a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0",
                   "a person turns.#a/DET person/NOUN turn/VERB#0.5#1.0"],
        "000001": ["someone runs to the left.#someone/PRON run/VERB#0.0#0.0"],
        "M000001": ["someone runs to the right.#someone/PRON run/VERB#0.0#0.0"],
        "000002": ["a man jogs in place.#a/DET man/NOUN jog/VERB#0.0#0.0",
                   "he speeds up.#he/PRON speed/VERB up/ADP#1.0#2.0"],
        "000003": ["a person walks then jumps.#a/DET person/NOUN#0.0#0.0"],
        "000004": ["a person waves.#a/DET#0.0#0.0"],
        "000005": ["missing.#x/X#0.0#0.0"],
        "000006": ["a person walks slowly.#a/DET#0.0#0.0"],
        "000007": ["nothing.#x/X#0.0#0.0"],
    }
    for name, lines in texts_of.items():
        (texts / f"{name}.txt").write_text("\n".join(lines) + "\n")
    (d / "train.txt").write_text("000000\n000003\n")
    (d / "val.txt").write_text("000001\n")
    return d / "index.csv", texts


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "store")


def rows_of(res, **where):
    return [r for r in res.segments if all(r[k] == v for k, v in where.items())]


# ---------------------------------------------------------------- BABEL
def test_babel_seq_and_frame_labels(store, tmp_path):
    res = babel.import_babel(store, write_babel(tmp_path / "babel"))
    cmu = rows_of(res, seq_id=CMU, source_split="train")
    # seq_ann: whole sequence 0 -> 151 frames / 30 fps
    seq = [r for r in cmu if r["kind"] == "sequence"]
    assert len(seq) == 1 and seq[0]["start_t"] == 0.0 and seq[0]["end_t"] == pytest.approx(151 / 30)
    assert seq[0]["act_cat"] == ["walk", "forward movement"] and seq[0]["annotator"] == "a1"
    assert seq[0]["text"] is None and seq[0]["source_ref"] == "CMU/CMU/07/07_01_poses.npz"
    frames = sorted((r["start_t"], r["end_t"], r["proc_label"]) for r in cmu if r["kind"] == "frame")
    # 5.01 s overhangs 151/30 = 5.0333? no: 5.01 < 5.0333, kept as is
    assert frames == [(0.0, 2.5, "walk"), (2.5, 5.01, "turn")]
    # archive 'HDM05' + SMPL+H folder 'MPI_HDM05' resolve to the SMPL-X folder's seq_id; null frame_ann -> seq only
    hdm = rows_of(res, seq_id=HDM)
    assert [(r["kind"], r["proc_label"], r["end_t"]) for r in hdm] == [("sequence", "run", pytest.approx(301 / 30))]
    # val split; MoSh/MPI_mosh alias
    assert [(r["source_split"], r["annotator"]) for r in rows_of(res, seq_id=MOSH)] == [("val", "a9")]


def test_babel_extra_files_are_per_annotator_lists(store, tmp_path):
    res = babel.import_babel(store, write_babel(tmp_path / "babel"))
    extra = rows_of(res, seq_id=CMU, source_split="extra_train")
    got = sorted((r["kind"], r["annotator"], r["raw_label"], r["start_t"], r["end_t"]) for r in extra)
    assert got == [("frame", "a2", "walk", 0.0, 5.0),
                   ("sequence", "a2", "walk", 0.0, pytest.approx(151 / 30)),
                   ("sequence", "a3", "stroll", 0.0, pytest.approx(151 / 30))]


def test_babel_problems_are_reported(store, tmp_path):
    res = babel.import_babel(store, write_babel(tmp_path / "babel"))
    by = {(u["reason"], u["source_ref"]): u for u in res.unmatched}
    assert not by[("no_sequence", "CMU/CMU/99/99_99_poses.npz")]["imported"]
    assert by[("no_annotation", "CMU/CMU/07/07_01_poses.npz")]["source_file"] == "test.json"
    # KIT: dur 6.0 vs store 121/30 = 4.033 s -> reported, imported, flagged
    mism = by[("duration_mismatch", "KIT/KIT/3/walking_slow01_poses.npz")]
    assert mism["imported"] and mism["seq_id"] == KIT
    kit = rows_of(res, seq_id=KIT)
    assert all("duration_mismatch" in r["flags"] for r in kit)
    # frame label 3.5-5.0 overhangs 4.033 by 0.97 s > 0.25: clipped + reported; 4.5-5.0 starts past the end
    clipped = [r for r in kit if r["kind"] == "frame"]
    assert [(r["start_t"], r["end_t"]) for r in clipped] == [(3.5, pytest.approx(121 / 30))]
    assert "clipped" in clipped[0]["flags"]
    assert ("outside_sequence", "KIT/KIT/3/walking_slow01_poses.npz") in by
    s = res.summary()
    assert s["unmatched_by_reason"] == {"no_annotation": 1, "no_sequence": 1, "outside_sequence": 1}
    assert s["warnings_by_reason"] == {"clipped": 1, "duration_mismatch": 1}


# ---------------------------------------------------------------- HumanML3D
def test_humanml3d_trims_ends_mirrors_captions(store, tmp_path):
    index, texts = write_humanml3d(tmp_path / "hml")
    res = humanml3d.import_humanml3d(store, index, texts)
    seg = {(r["source_ref"], r["text"]): r for r in res.segments}
    # CMU 120 fps: step 6 -> 0.05 s per frame, no trim; clip [10, 50) -> 0.5 .. 2.5 s
    r = seg[("000000", "a person walks forward.")]
    assert (r["seq_id"], r["start_t"], r["end_t"], r["kind"]) == (CMU, pytest.approx(0.5), pytest.approx(2.5), "clip")
    assert r["source_split"] == "train" and r["flags"] == []
    # timed caption 0.5-1.0 s of the clip: clip frames [10, 20) -> frames 20..30 -> 1.0 .. 1.5 s
    r = seg[("000000", "a person turns.")]
    assert (r["start_t"], r["end_t"]) == (pytest.approx(1.0), pytest.approx(1.5))
    # MPI_HDM05 (store folder HDM05): ceil(1201/6) = 201 frames, 3 s = 60-frame head trim -> 141 left;
    # [0:-1] drops the last -> frames [0, 140) -> 60*0.05 = 3.0 .. (60+140)*0.05 = 10.0 s
    r = seg[("000001", "someone runs to the left.")]
    assert (r["seq_id"], r["start_t"], r["end_t"]) == (HDM, pytest.approx(3.0), pytest.approx(10.0))
    assert r["source_split"] == "val"
    m = seg[("M000001", "someone runs to the right.")]
    assert (m["seq_id"], m["start_t"], m["end_t"], m["flags"]) == (HDM, pytest.approx(3.0), pytest.approx(10.0), ["mirrored"])
    assert m["source_split"] == "val"  # the mirror inherits its original's split
    # MPI_mosh 59.99 fps: step int(2.9995) = 2 -> 2/59.99 s per frame; [20, 80) -> 40/59.99 .. 160/59.99
    r = seg[("000002", "a man jogs in place.")]
    assert (r["seq_id"], r["start_t"], r["end_t"]) == (MOSH, pytest.approx(40 / 59.99), pytest.approx(160 / 59.99))
    # timed 1.0-2.0 s: clip frames [20, 40) -> frames 40..60 -> 80/59.99 .. 120/59.99
    r = seg[("000002", "he speeds up.")]
    assert (r["start_t"], r["end_t"]) == (pytest.approx(80 / 59.99), pytest.approx(120 / 59.99))
    # Transitions_mocap: ceil(481/6) = 81, 0.5 s = 10-frame trim -> 71; [5:-1] -> [5, 70) -> 0.75 .. 4.0 s
    r = seg[("000003", "a person walks then jumps.")]
    assert (r["seq_id"], r["start_t"], r["end_t"]) == (TRANS, pytest.approx(0.75), pytest.approx(4.0))
    # KIT 100 fps: step 5, ceil(401/5) = 81 frames, [0:100] -> [0, 81) -> 0 .. 4.05 s, capped at 121/30 s
    r = seg[("000006", "a person walks slowly.")]
    assert (r["start_t"], r["end_t"], r["flags"]) == (0.0, pytest.approx(121 / 30), [])
    assert len(res.segments) == 8


def test_humanml3d_unmatched_reasons(store, tmp_path):
    index, texts = write_humanml3d(tmp_path / "hml")
    res = humanml3d.import_humanml3d(store, index, texts)
    got = sorted((u["source_ref"], u["reason"], u["imported"]) for u in res.unmatched)
    assert got == [("000004", "not_amass", False), ("000005", "no_sequence", False), ("000007", "empty_clip", False)]
    assert res.summary()["unmatched"] == 3


# ---------------------------------------------------------------- fps_overrides
@pytest.fixture()
def overridden_store(tmp_path):
    # CMU/07/07_01 states 120 fps; an fps_overrides entry says 60: its 601 source frames last 601/60 s,
    # stored as (600/60)*30 + 1 = 301 frames at 30 fps (10.033 s)
    return make_store(tmp_path / "store", overrides={CMU: (60.0, 301)})


def test_humanml3d_times_follow_the_fps_override(overridden_store, tmp_path):
    index, texts = write_humanml3d(tmp_path / "hml")
    res = humanml3d.import_humanml3d(overridden_store, index, texts)
    seg = {(r["source_ref"], r["text"]): r for r in res.segments}
    # HumanML3D read 120 fps from the file: step int(120/20) = 6, pose_data frame k = source frame 6k,
    # which is at 6k/60 s = 0.1 k s in the store (not 0.05 k s). Clip [10, 50) -> 1.0 .. 5.0 s
    r = seg[("000000", "a person walks forward.")]
    assert (r["seq_id"], r["start_t"], r["end_t"]) == (CMU, pytest.approx(1.0), pytest.approx(5.0))
    # timed caption 0.5-1.0 s of the clip: clip frames [10, 20) -> pose_data 20..30 -> 2.0 .. 3.0 s
    r = seg[("000000", "a person turns.")]
    assert (r["start_t"], r["end_t"]) == (pytest.approx(2.0), pytest.approx(3.0))
    # a sequence without an override is unchanged (KIT 100 fps: [0, 81) * 0.05 s, capped at 121/30 s)
    r = seg[("000006", "a person walks slowly.")]
    assert (r["start_t"], r["end_t"]) == (0.0, pytest.approx(121 / 30))


def test_babel_seconds_follow_the_fps_override(overridden_store, tmp_path):
    res = babel.import_babel(overridden_store, write_babel(tmp_path / "babel"))
    cmu = rows_of(res, seq_id=CMU, source_split="train")
    # BABEL counted seconds at the file's 120 fps: its second s is source frame 120 s, store time 2 s
    frames = sorted((r["start_t"], r["end_t"], r["proc_label"]) for r in cmu if r["kind"] == "frame")
    assert frames == [(0.0, pytest.approx(5.0), "walk"), (pytest.approx(5.0), pytest.approx(10.02), "turn")]
    # dur 5.01 file seconds = 10.02 store seconds, within 0.25 s of 301/30 = 10.033: no mismatch
    assert not any("duration_mismatch" in r["flags"] for r in cmu)
    assert not [u for u in res.unmatched if u["seq_id"] == CMU and u["reason"] == "duration_mismatch"]
    assert [r["end_t"] for r in cmu if r["kind"] == "sequence"] == [pytest.approx(301 / 30)]


# ---------------------------------------------------------------- file names
def test_filename_rules():
    assert filename.words("WalkInCounterClockwiseCircle02_poses") == ["walk", "in", "counter", "clockwise", "circle", "poses"]
    assert [lab for lab, _ in filename.match("C19 -  run to hop to walk")] == ["walk", "run", "jump"]
    assert filename.match("HDM_bk_01-01_01_120") == []
    assert filename.match("bowling_01") == []


def test_filename_import(store):
    res = filename.import_filename(store)
    got = sorted((r["seq_id"], r["proc_label"], r["raw_label"]) for r in res.segments)
    assert got == sorted([(KIT, "walk", "walking"), (MOSH, "run", "running"), (TRANS, "walk", "walk"),
                          (TRANS, "jump", "jump")])
    assert all(r["end_t"] == pytest.approx(dict((f"{d}/{s}/{n}", k) for d, _, s, n, _, _, k in SEQS)[r["seq_id"]] / 30)
               for r in res.segments)
    assert sorted(u["seq_id"] for u in res.unmatched if u["reason"] == "no_keyword") == [CMU, HDM]


# ---------------------------------------------------------------- writing + SQL
def connect(path):
    try:
        from amass_arrow.query.sql import connect as sql_connect
    except ImportError:  # sql.py not there yet: the same views by hand
        import duckdb

        root = Store(path).root
        con = duckdb.connect()
        con.execute(f"CREATE VIEW frames AS SELECT * FROM read_parquet('{root}/{schema.FRAMES_GLOB}', "
                    "hive_partitioning = true, hive_types = {'dataset': VARCHAR, 'subject': VARCHAR})")
        con.execute(f"CREATE VIEW sequences AS SELECT * FROM read_parquet('{root}/{schema.SEQUENCES_PATH}')")
        con.execute(f"CREATE VIEW labels AS SELECT * FROM read_parquet('{root}/{schema.LABELS_GLOB}', union_by_name = true)")
        return con
    return sql_connect(path)


@pytest.fixture()
def labelled_store(store, tmp_path):
    write_labels(store, babel.import_babel(store, write_babel(tmp_path / "babel")))
    index, texts = write_humanml3d(tmp_path / "hml")
    write_labels(store, humanml3d.import_humanml3d(store, index, texts))
    write_labels(store, filename.import_filename(store))
    return store


def test_write_labels_publishes_tables_and_unmatched(labelled_store):
    s = Store(labelled_store)
    assert set(s.info.labels) == {"babel", "humanml3d", "filename"}
    assert s.info.labels["humanml3d"]["unmatched"] == 3
    un = pq.read_table(s.file("labels/unmatched/humanml3d.parquet")).to_pylist()
    assert sorted(u["reason"] for u in un) == ["empty_clip", "no_sequence", "not_amass"]
    con = connect(labelled_store)
    # the unmatched files sit in a sub-folder: the labels view holds segments only
    # babel: CMU seq+2 frames, HDM seq, KIT seq+1 frame, MoSh seq, extra CMU 2 seq+1 frame = 10
    n = con.execute("SELECT source, count(*) FROM labels GROUP BY source ORDER BY source").fetchall()
    assert n == [("babel", 10), ("filename", 4), ("humanml3d", 8)]


def run_example(con, name):
    text = (Path(__file__).parents[2] / "sql" / "examples" / name).read_text()
    cur = con.cursor()
    res = cur.execute(text)
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, r)) for r in res.fetchall()]


def test_sql_examples_all_run_and_return_rows(labelled_store):
    con = connect(labelled_store)
    files = sorted(p.name for p in (Path(__file__).parents[2] / "sql" / "examples").glob("*.sql"))
    assert {"walking_frames_with_contacts.sql", "captioned_segments_2_10s.sql", "babel_split.sql"} <= set(files)
    for f in files:
        assert run_example(con, f), f


def test_sql_walking_frames(labelled_store):
    rows = run_example(connect(labelled_store), "walking_frames_with_contacts.sql")
    # BABEL frame label 'walk' on CMU [0, 2.5) at 30 fps -> frames 0..74
    babel_walk = [r for r in rows if r["seq_id"] == CMU and r["source"] == "babel" and r["label"] == "walk"]
    # HumanML3D caption 'a person walks forward.' [0.5, 2.5) -> frames 15..74
    hml = [r for r in rows if r["text"] == "a person walks forward."]
    assert [r["frame"] for r in hml] == list(range(15, 75))
    assert all(r["left_foot_contact"] == (r["frame"] % 2 == 0) != r["right_foot_contact"] for r in rows)
    assert {r["seq_id"] for r in rows} == {CMU, KIT, TRANS}  # walk labels, captions or file names
    # CMU babel: seq (151) + frame 0..74 (75) + extra seq a2 (151) + a3 (151) + extra frame [0, 5.0) (150)
    assert len(babel_walk) == 151 + 75 + 151 + 151 + 150


def test_sql_captions_and_babel_split(labelled_store):
    con = connect(labelled_store)
    caps = run_example(con, "captioned_segments_2_10s.sql")
    # 2.0 s, 7.0 s, 2.0003 s, 3.25 s, 4.033 s; the mirror, the 0.5 s and 0.67 s captions fall out
    assert sorted(r["source_ref"] for r in caps) == ["000000", "000001", "000002", "000003", "000006"]
    assert all(2.0 <= r["seconds"] <= 10.0 for r in caps)
    split = run_example(con, "babel_split.sql")
    assert [(r["seq_id"], r["split"]) for r in split] == [(CMU, "train"), (HDM, "train"), (KIT, "train"), (MOSH, "val")]


def test_cli_labels_import(store, tmp_path, capsys):
    from amass_arrow.cli import main

    assert main(["labels", "import", "babel", str(store), str(write_babel(tmp_path / "babel"))]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["segments"] == 10 and out["unmatched_by_reason"]["no_sequence"] == 1
    assert {u["reason"] for u in out["first_unmatched"]} == {"no_sequence", "no_annotation", "outside_sequence"}
    assert "babel" in Store(store).info.labels
    assert main(["labels", "import", "filename", str(store), "--dry-run"]) == 0
    assert "filename" not in Store(store).info.labels


# ---------------------------------------------------------------- synthetic annotation files
def synthetic_files():
    kinds = {CMU: "walk", HDM: "run", KIT: "stand", MOSH: "jump", TRANS: "turn"}
    return [SimpleNamespace(seq_id=f"{d}/{s}/{n}", rel_path=f"{d}/{s}/{n}_poses.npz", dataset=d, fps=fps,
                            num_frames=sf, motion=kinds[f"{d}/{s}/{n}"]) for d, _, s, n, fps, sf, _ in SEQS]


def test_synthetic_annotations_import_cleanly(store, tmp_path):
    from amass_arrow.tools.synthetic.annotations import make_annotations

    files = synthetic_files()
    paths = make_annotations(tmp_path / "ann", files, seed=3)
    assert {p.name for p in paths.babel_dir.iterdir()} == {"train.json", "val.json", "test.json", "extra_train.json", "extra_val.json"}
    train = json.loads((paths.babel_dir / "train.json").read_text())
    assert any(e["frame_ann"] is None for e in train.values())
    assert any(e["feat_p"] == "HDM05/MPI_HDM05/bk/HDM_bk_01-01_01_120_poses.npz" for e in train.values())
    extra = json.loads((paths.babel_dir / "extra_train.json").read_text())
    assert all(isinstance(e["seq_anns"], list) and len(e["seq_anns"]) == 2 for e in extra.values())

    res = babel.import_babel(store, paths.babel_dir)
    kind = {f.seq_id: f.motion for f in files}
    assert {r["seq_id"] for r in res.segments} == set(kind)
    assert all(r["proc_label"] == kind[r["seq_id"]] for r in res.segments)  # 'walk' segments are walking
    assert sorted((u["reason"], u["imported"]) for u in res.unmatched) == [("no_annotation", False), ("no_sequence", False)]
    # frame segments tile each annotated sequence from 0 to its dur = frames / fps
    f = [r for r in res.segments if r["seq_id"] == CMU and r["kind"] == "frame" and r["source_split"] == "train"]
    assert min(r["start_t"] for r in f) == 0.0 and max(r["end_t"] for r in f) == pytest.approx(601 / 120, abs=1e-3)  # dur has 3 decimals

    hres = humanml3d.import_humanml3d(store, paths.humanml3d_index, paths.humanml3d_texts)
    assert [(u["reason"]) for u in hres.unmatched] == ["not_amass"]
    # sorted files: CMU is #0 -> whole file [0:-1]: ceil(601/6) = 101 frames -> [0, 100) -> 0 .. 5.0 s, plus its mirror
    cmu = [r for r in hres.segments if r["seq_id"] == CMU]
    assert sorted((r["start_t"], r["end_t"], tuple(r["flags"])) for r in cmu) == [
        (0.0, pytest.approx(5.0), ()), (0.0, pytest.approx(5.0), ("mirrored",))]
    assert all("walk" in r["text"] for r in cmu)
    # HDM05 (#1): a window after the 3 s head trim
    hdm = [r for r in hres.segments if r["seq_id"] == HDM]
    assert hdm and all(r["start_t"] >= 3.0 - 1e-9 for r in hdm)
    assert all(r["source_split"] in ("train", "val", "test") for r in hres.segments)
    assert max(r["end_t"] - r["start_t"] for r in hres.segments) <= 10.0 + 1e-9  # HumanML3D clips are <= 10 s


# ---------------------------------------------------------------- end to end on the synthetic archive
@pytest.fixture(scope="module")
def synthetic_labelled_store(synthetic_root, tmp_path_factory):
    """The session's synthetic archive, built, with its generated BABEL + HumanML3D files imported."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config
    from amass_arrow.tools.synthetic.annotations import make_annotations

    d = tmp_path_factory.mktemp("labelled")
    paths = make_annotations(d / "annotations", synthetic_root.files, seed=0)
    cfg = load_build_config(None, amass_root=str(synthetic_root.amass_root), body_models=str(synthetic_root.body_models),
                            out=str(d / "store"), workers=1)
    build(cfg, progress=False)
    results = [babel.import_babel(d / "store", paths.babel_dir),
               humanml3d.import_humanml3d(d / "store", paths.humanml3d_index, paths.humanml3d_texts)]
    for res in results:
        write_labels(d / "store", res)
    return d / "store", synthetic_root.files, results


def test_synthetic_archive_labels_match_every_file(synthetic_labelled_store):
    store, files, (b, h) = synthetic_labelled_store
    assert {r["seq_id"] for r in b.segments} == {f.seq_id for f in files}  # every alias resolves
    assert sorted(u["reason"] for u in b.unmatched) == ["no_annotation", "no_sequence"]
    assert [u["reason"] for u in h.unmatched] == ["not_amass"]
    kind = {f.seq_id: f.motion for f in files}
    assert all(r["proc_label"] == kind[r["seq_id"]] for r in b.segments)


def test_synthetic_walk_segments_really_move(synthetic_labelled_store):
    store, _, _ = synthetic_labelled_store
    con = connect(store)
    # mean horizontal root speed (m/s) over frames of BABEL frame segments, per label
    speed = dict(con.execute("""
        WITH seg AS (SELECT DISTINCT seq_id, start_t, end_t, proc_label FROM labels
                     WHERE source = 'babel' AND kind = 'frame'),
        f AS (SELECT seq_id, t, trans[1] AS x, trans[2] AS y,
                     lag(trans[1]) OVER w AS px, lag(trans[2]) OVER w AS py, lag(t) OVER w AS pt
              FROM frames WINDOW w AS (PARTITION BY seq_id ORDER BY frame))
        SELECT s.proc_label, avg(sqrt((x - px)^2 + (y - py)^2) / (t - pt))
        FROM seg s JOIN f ON f.seq_id = s.seq_id AND f.t >= s.start_t AND f.t < s.end_t
        WHERE pt IS NOT NULL GROUP BY 1""").fetchall())
    assert speed["walk"] > 0.5 and speed["run"] > speed["walk"] and speed["stand"] < 0.2, speed
    rows = run_example(con, "walking_frames_with_contacts.sql")
    assert rows and any(r["left_foot_contact"] for r in rows) and any(not r["left_foot_contact"] for r in rows)
    assert run_example(con, "babel_split.sql") and run_example(con, "captioned_segments_2_10s.sql")


def test_hf_clip_export_of_a_labelled_split_has_readable_text(synthetic_labelled_store, tmp_path):
    """official split + sql/slices/captions.sql -> HF slice export: one row per caption, `text` = the caption."""
    import datasets

    from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits
    from amass_arrow.query.splits import Definition

    store, _, _ = synthetic_labelled_store
    cfg = SplitsConfig(
        definitions=[Definition(name="clips", sql="sql/splits/amass_official.sql", slices=["sql/slices/captions.sql"])],
        exports=[ExportSpec(kind="hf", unit="slice", columns=["joints"], definitions=["clips"])],
    )
    build_splits(store, cfg, tmp_path / "out", progress=False, log=lambda *a: None)
    [hf_dir] = [p for p in (tmp_path / "out" / "clips").iterdir() if p.is_dir() and p.name.startswith("hf")]
    dd = datasets.load_from_disk(str(hf_dir))
    con = connect(store)
    expected = con.execute("""
        SELECT seq_id, text, end_t - start_t FROM labels
        WHERE text IS NOT NULL AND end_t - start_t BETWEEN 2 AND 10 AND NOT list_contains(flags, 'mirrored')""").fetchall()
    got = [(r["seq_id"], r["text"]) for split in dd.values() for r in split]
    assert sorted(got) == sorted((s, t) for s, t, _ in expected) and got
    val_datasets = {"HumanEva", "MPI_HDM05", "HDM05", "SFU", "MPI_mosh", "MoSh"}
    assert dd["validation"].num_rows and all(r["seq_id"].split("/")[0] in val_datasets for r in dd["validation"])
    row = next(iter(dd["train"]))
    assert isinstance(row["text"], str) and len(row["text"].split()) >= 2  # a sentence a person can read
    # the clip's frames span the caption's seconds at the store rate (half-open, 30 fps)
    seconds = {(s, t): d for s, t, d in expected}[(row["seq_id"], row["text"])]
    assert abs(row["num_frames"] - seconds * 30) <= 1


def test_humanml3d_keeps_each_captions_tokens_with_their_tags(store, tmp_path):
    index, texts = write_humanml3d(tmp_path / "hml")
    res = humanml3d.import_humanml3d(store, index, texts)
    tok = {(r["source_ref"], r["text"]): r["tokens"] for r in res.segments}
    assert tok[("000000", "a person walks forward.")] == "a/DET person/NOUN walk/VERB forward/ADV"
    assert tok[("000000", "a person turns.")] == "a/DET person/NOUN turn/VERB"
    assert tok[("M000001", "someone runs to the right.")] == "someone/PRON run/VERB"
    write_labels(store, res)
    con = connect(store)
    assert con.execute("SELECT tokens FROM labels WHERE text = 'he speeds up.'").fetchall() == [("he/PRON speed/VERB up/ADP",)]
