"""quality: each metric on hand-made motions with known answers; flags once each, from the typed thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from amass_arrow.config import QualityConfig
from amass_arrow.motion import quality

FPS = 30.0


def _feet(T: int, z: float = 0.02) -> np.ndarray:
    """(T, 4, 3) foot joints standing still at height z, 0.2 m apart."""
    f = np.zeros((T, 4, 3))
    f[:, :, 0] = [0.0, 0.0, 0.15, 0.15]
    f[:, :, 1] = [0.1, -0.1, 0.1, -0.1]
    f[:, :, 2] = z
    return f


def test_foot_sliding_at_0_3_m_s_in_contact_skates_0_3():
    T = 60
    t = np.arange(T) / FPS
    feet = _feet(T)
    # the left ankle slides diagonally at 0.3 m/s and bobs vertically (vertical speed is not skating)
    feet[:, 0, 0] += 0.3 * np.cos(0.6) * t
    feet[:, 0, 1] += 0.3 * np.sin(0.6) * t
    feet[:, 0, 2] += 0.01 * np.sin(4 * t)
    # the right ankle swings fast, but is never flagged in contact
    feet[:, 1, 0] += 2.0 * t
    contacts = np.zeros((T, 4), bool)
    contacts[:, 0] = True
    assert quality.foot_skating(feet, contacts, FPS) == pytest.approx(0.3, abs=1e-9)
    # planted joints that do not move add zero speed: half the contact samples at 0.3, half at 0 -> 0.15
    contacts[:, 2] = True
    assert quality.foot_skating(feet, contacts, FPS) == pytest.approx(0.15, abs=1e-9)
    assert quality.foot_skating(feet, np.zeros((T, 4), bool), FPS) is None  # never in contact: nothing to measure


def test_floor_penetration_is_the_deepest_sole_under_the_floor():
    feet = _feet(40, z=0.02)  # toe joints 2 cm over the sole: a flat foot on the floor
    assert quality.floor_penetration(feet, toe_offset=0.02) == pytest.approx(0.0)
    feet[17, 3, 2] = -0.01  # one toe sinks: sole at -0.03
    feet[30, 1, 2] = 0.0  # another joint lower than usual but the sole is only 2 cm under
    assert quality.floor_penetration(feet, toe_offset=0.02) == pytest.approx(0.03)
    feet[:, :, 2] += 1.0  # floating: no penetration, not negative
    assert quality.floor_penetration(feet, toe_offset=0.02) == 0.0


def test_peak_joint_speed_and_jitter_on_known_trajectories():
    T = 90
    t = np.arange(T) / FPS
    joints = np.zeros((T, 5, 3))
    joints[:, 2, 1] = 1.5 * t  # one joint at 1.5 m/s, the others still
    assert quality.peak_joint_speed(joints, FPS) == pytest.approx(1.5)
    assert quality.jitter(joints, FPS) == pytest.approx(0.0, abs=1e-6)  # constant velocity: no jerk
    # constant jerk j on one joint of five: x = j t^3 / 6 -> mean jerk magnitude over joints = j / 5
    j = 12.0
    cubic = np.zeros((T, 5, 3))
    cubic[:, 4, 2] = j * t**3 / 6
    assert quality.jitter(cubic, FPS) == pytest.approx(j / 5, rel=1e-6)
    # one glitched frame: a 10 cm jump for one frame reads as 0.1 m / (2 / fps) by central differences
    glitch = np.zeros((T, 5, 3))
    glitch[45, 0, 0] = 0.1
    assert quality.peak_joint_speed(glitch, FPS) == pytest.approx(0.1 * FPS / 2)
    # third differences around it: 0.1, 0.3, 0.3, 0.1 m, over 5 joints x (T - 3) windows
    assert quality.jitter(glitch, FPS) == pytest.approx(0.8 * FPS**3 / (5 * (T - 3)))
    assert quality.jitter(joints[:3], FPS) is None and quality.peak_joint_speed(joints[:1], FPS) is None


def test_contact_coverage_and_airborne_fraction():
    T = 10
    c = np.zeros((T, 4), bool)
    c[:4, 0] = True  # frames 0-3 left ankle
    c[3:6, 3] = True  # frames 3-5 right toe
    assert quality.contact_coverage(c) == pytest.approx(0.6)
    feet = _feet(T, z=0.05)
    feet[2:5, :, 2] = 0.4  # frames 2-4: every foot joint high
    feet[7, :2, 2] = 0.4  # frame 7: ankles high, toes down -> not airborne
    assert quality.airborne_fraction(feet, FPS, height=0.05, window=0.5) == pytest.approx(0.3)
    # a walk up a staircase: each joint stands on a step 0.2 m higher every 0.5 s, swinging 0.12 m between -> on floor
    T = 90
    t = np.arange(T) / FPS
    stairs = _feet(T)
    step = np.floor(t / 0.5) * 0.2
    stairs[:, :, 2] = 0.02 + step[:, None]
    stairs[:, [0, 2], 2] += 0.12 * (np.sin(np.pi * (t / 0.5 % 1.0)) ** 2)[:, None] * (np.floor(t / 0.5) % 2 == 0)[:, None]
    stairs[:, [1, 3], 2] += 0.12 * (np.sin(np.pi * (t / 0.5 % 1.0)) ** 2)[:, None] * (np.floor(t / 0.5) % 2 == 1)[:, None]
    assert quality.airborne_fraction(stairs, FPS, height=0.05, window=0.5) == 0.0
    assert (stairs[..., 2].min(axis=1) > 0.25).mean() > 0.5  # yet most frames are high above the starting floor


def test_measure_names_every_column_and_flags_cross_thresholds_once():
    from amass_arrow.schema import QUALITY_COLUMNS

    T = 60
    t = np.arange(T) / FPS
    joints = np.zeros((T, 6, 3))
    joints[:, 5, 2] = 1.0  # a head
    joints[:, :4] = _feet(T)
    joints[:, 0, 0] += 0.8 * t  # left ankle slides at 0.8 m/s while in contact
    c = np.zeros((T, 4), bool)
    c[:, 0] = True
    m = quality.measure(joints, [0, 1, 2, 3], c, FPS, toe_offset=0.02)
    assert list(m) == list(QUALITY_COLUMNS)
    assert m["foot_skating"] == pytest.approx(0.8) and m["contact_coverage"] == 1.0 and m["airborne_fraction"] == 0.0
    cfg = QualityConfig()
    assert quality.flags(m, cfg) == ["foot_skating"]
    cfg2 = QualityConfig(max_foot_skating=1.0, min_contact_coverage=1.5)  # coverage 1.0 < 1.5 -> flagged
    assert quality.flags(m, cfg2) == ["low_contact_coverage"]
    assert quality.flags({k: None for k in m}, cfg2) == []  # nothing measured, nothing flagged


def test_merge_flags_keeps_each_flag_once_in_first_seen_order():
    assert quality.merge_flags(["dmpls_all_zero", "x"], ["dmpls_all_zero", "y"], ["x", "z"]) == \
        ["dmpls_all_zero", "x", "y", "z"]


def test_manifest_records_every_threshold_and_rule():
    man = quality.manifest(QualityConfig(max_jitter=123.0))
    assert man["thresholds"]["max_jitter"] == 123.0
    assert set(man["flags"]) == set(quality.FLAG_RULES) | {"lying_down"}
    assert man["flags"]["joint_speed_spike"] == "peak_joint_speed > max_joint_speed"


def test_stored_flags_appear_once_each(demo_store):
    """Issue 10 item 6: `dmpls_all_zero` was listed twice (read's flags were added by process and again by convert)."""
    from amass_arrow.store.reader import Store

    rows = Store(demo_store).sequences().to_pylist()
    flagged = [r for r in rows if "dmpls_all_zero" in r["quality_flags"]]
    assert flagged, "the synthetic archive writes some all-zero dmpls"
    for r in rows:
        assert len(r["quality_flags"]) == len(set(r["quality_flags"])), (r["seq_id"], r["quality_flags"])


def test_sequences_carry_typed_metric_columns(demo_store, synthetic_root):
    """Every metric is a float32 column; a synthetic walk has low skating, full coverage, no flight."""
    import pyarrow as pa

    from amass_arrow.schema import QUALITY_COLUMNS
    from amass_arrow.store.reader import Store

    seqs = Store(demo_store).sequences()
    for c in QUALITY_COLUMNS:
        assert seqs.schema.field(c).type == pa.float32()
    walk_ids = {f.seq_id for f in synthetic_root.files if f.motion == "walk"}
    walks = [r for r in seqs.to_pylist() if r["seq_id"] in walk_ids]
    assert walks
    for r in walks:
        assert 0.0 <= r["foot_skating"] < 0.5, r
        assert r["contact_coverage"] > 0.9 and r["airborne_fraction"] == 0.0
        assert 0.5 < r["peak_joint_speed"] < 10.0


def _flagged_connection(demo_store, extra: dict[str, list[str]]):
    """connect(demo_store) whose `sequences` view adds `extra[seq_id]` flags (the shipped SQL reads the view)."""
    from amass_arrow.query.sql import connect

    con = connect(demo_store)
    con.execute("CREATE TEMP TABLE seqs_orig AS SELECT * FROM sequences")
    con.execute("CREATE TEMP TABLE extra_flags (seq_id VARCHAR, flags VARCHAR[])")
    for k, v in extra.items():
        con.execute("INSERT INTO extra_flags VALUES (?, ?)", [k, v])
    con.execute("CREATE OR REPLACE VIEW sequences AS SELECT s.* REPLACE "
                "(list_concat(s.quality_flags, coalesce(e.flags, []::VARCHAR[])) AS quality_flags) "
                "FROM seqs_orig AS s LEFT JOIN extra_flags AS e USING (seq_id)")
    return con


def test_drop_flagged_slice_drops_exactly_the_flagged_takes(demo_store):
    from pathlib import Path

    from amass_arrow.query.splits import Definition, materialize

    repo = Path(__file__).resolve().parents[2]
    ids = sorted(r[0] for r in _flagged_connection(demo_store, {}).sql("SELECT seq_id FROM sequences").fetchall())
    bad = {ids[0]: ["foot_skating"], ids[3]: ["lying_down", "jitter"], ids[5]: ["dmpls_all_zero"]}
    con = _flagged_connection(demo_store, bad)
    split = str(repo / "sql/splits/amass_official.sql")
    whole = materialize(con, Definition(sql=split)).rows
    kept = materialize(con, Definition(sql=split, slices=[str(repo / "sql/slices/drop_flagged.sql")])).rows
    assert sorted(set(whole["seq_id"].to_pylist()) - set(kept["seq_id"].to_pylist())) == [ids[0], ids[3]]
    # only the flags asked for: dmpls_all_zero (informational by default) can be made to drop too
    only = materialize(con, Definition(sql=split, slices=[str(repo / "sql/slices/drop_flagged.sql")],
                                       params={"drop_flags": ["dmpls_all_zero"]})).rows
    dropped = set(whole["seq_id"].to_pylist()) - set(only["seq_id"].to_pylist())
    zero = {r[0] for r in con.sql("SELECT seq_id FROM sequences WHERE list_contains(quality_flags, 'dmpls_all_zero')").fetchall()}
    assert dropped == zero and ids[5] in dropped and ids[3] not in zero and ids[3] not in dropped


def test_clean_walks_example_selects_unflagged_walks(demo_store, synthetic_root):
    from pathlib import Path

    from amass_arrow.query.sql import run_sql_file

    repo = Path(__file__).resolve().parents[2]
    kinds = {f.seq_id: f.motion for f in synthetic_root.files}
    walks = sorted(s for s, k in kinds.items() if k == "walk")
    assert len(walks) >= 3
    con = _flagged_connection(demo_store, {walks[0]: ["floor_penetration"]})
    con.execute("CREATE OR REPLACE TEMP TABLE labels (seq_id VARCHAR, proc_label VARCHAR, act_cat VARCHAR[], "
                "text VARCHAR, flags VARCHAR[])")
    for s, k in kinds.items():  # ground-truth labels of the synthetic takes, one caption mentioning walking
        con.execute("INSERT INTO labels VALUES (?, ?, [?], NULL, [])", [s, k, k])
    con.execute("INSERT INTO labels VALUES (?, NULL, [], 'a person walks in a circle', ['mirrored'])", [kinds and
                next(s for s, k in kinds.items() if k == "run")])
    got = run_sql_file(con, repo / "sql/examples/clean_walks.sql").to_arrow_table().to_pylist()
    ids = [r["seq_id"] for r in got]
    rows = {r["seq_id"]: r for r in con.sql("SELECT * FROM sequences").to_arrow_table().to_pylist()}
    clean = {s for s in walks[1:] if rows[s]["contact_coverage"] >= 0.95 and rows[s]["foot_skating"] < 0.3
             and rows[s]["airborne_fraction"] == 0 and "jitter" not in rows[s]["quality_flags"]}
    assert clean and set(ids) == clean  # the flagged walk and every non-walk (mirrored caption too) are out
    sk = [r["foot_skating"] for r in got]
    assert sk == sorted(sk) and all(r["contact_coverage"] >= 0.95 for r in got)


def test_describe_rules_reads_the_manifest_entry():
    lines = quality.describe_rules(quality.manifest(QualityConfig(max_jitter=123.0, min_upright_fraction=0.7)))
    assert "jitter > 123.0" in lines and "lying_down (upright_fraction < 0.7)" in lines
    assert "low_contact_coverage (contact_coverage < 0.2)" in lines and len(lines) == len(quality.FLAG_RULES) + 1


def test_speed_and_jitter_use_the_22_body_joints_only():
    T = 40
    joints = np.zeros((T, 52, 3))
    joints[:, :4] = _feet(T)
    joints[:, 30, 0] = 3.0 * np.arange(T) / FPS  # a finger at 3 m/s: not a body joint
    joints[:, 21, 1] = 1.0 * np.arange(T) / FPS  # the right wrist at 1 m/s
    m = quality.measure(joints, [0, 1, 2, 3], np.ones((T, 4), bool), FPS)
    assert m["peak_joint_speed"] == pytest.approx(1.0)
