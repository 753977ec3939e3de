"""Every default once (issue 11): the CLI reads the typed config's defaults, and where one side cannot read
the other (SQL, a peer's fixed constants) a test holds the two copies equal."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from amass_arrow import cli, config, schema
from amass_arrow.motion import contacts
from amass_arrow.resources import find


def _subparser(name: str):
    cli._load_plugins()
    ap = cli.parser()
    sub = next(a for a in ap._actions if a.dest == "command")
    return sub.choices[name]


def test_export_flags_default_to_the_export_spec():
    from amass_arrow.export.splits import DEFAULT_COLUMNS, ExportSpec

    args = _subparser("export").parse_args(["STORE", "--sql", "x.sql", "--out", "o"])
    d = ExportSpec()
    assert (args.kind, args.unit, args.window, args.stride, args.fps) == (d.kind, d.unit, d.window, d.stride, d.fps)
    assert (args.kind, args.window, args.stride, args.fps) == ("hf", 60, 30, None)
    assert d.columns == DEFAULT_COLUMNS == ["root_orient", "pose_body", "pose_hand", "trans", "joints", "contacts"]
    assert f"(default {' '.join(DEFAULT_COLUMNS)})" in " ".join(_subparser("export").format_help().split())


def test_build_flags_leave_the_config_defaults_and_offer_its_choices():
    p = _subparser("build")
    args = p.parse_args(["root"])
    for dest in ("fps", "resample", "joints", "frame", "contacts", "source_frame", "workers", "executor"):
        assert getattr(args, dest) is None, dest  # unset flags do not override the config
    choices = {a.dest: tuple(a.choices) for a in p._actions if a.choices}
    assert choices["frame"] == config.FRAMES == schema.FRAMES == ("z_up", "y_up")
    assert choices["source_frame"] == config.SOURCE_FRAMES == ("auto", "z_up", "y_up")
    assert choices["resample"] == config.RESAMPLE_MODES == ("interpolate", "decimate", "none")
    assert choices["contacts"] == config.CONTACT_METHODS == contacts.METHODS
    assert choices["executor"] == config.EXECUTORS == ("local", "ray")
    text = " ".join(p.format_help().split())
    m = config.MotionConfig()
    for shown in (f"(default {m.fps:g})", f"(default {m.frame})", f"(default {m.joints})", f"(default {m.resample})",
                  "(default 30)", "(default z_up)", "(default body22)", "(default: auto, one per usable CPU)"):
        assert shown in text, shown


def test_trim_heads_sql_lists_humanml3d_head_seconds():
    from amass_arrow.labels.humanml3d import HEAD_SECONDS, HEAD_TRIM, HML_FPS

    sql = find("sql/slices/trim_heads.sql").read_text()
    cte = re.search(r"WITH heads\(canonical_dataset, head_seconds\) AS \((.*?)\n\)", sql, re.S).group(1)
    rows = dict(duckdb.sql(f"SELECT * FROM ({cte.strip()}) AS t(d, s)").fetchall())
    assert {k: float(v) for k, v in rows.items()} == HEAD_SECONDS
    assert HEAD_SECONDS == {"Eyes_Japan_Dataset": 3.0, "MPI_HDM05": 3.0, "TotalCapture": 1.0, "MPI_Limits": 1.0,
                            "Transitions_mocap": 0.5}
    # HumanML3D's raw_pose_processing cuts data[int(k * 20):] of its 20 fps pose_data
    assert HML_FPS == 20
    assert HEAD_TRIM == {"Eyes_Japan_Dataset": 60, "MPI_HDM05": 60, "TotalCapture": 20, "MPI_Limits": 20,
                         "Transitions_mocap": 10}


def test_peer_constants_are_spelled_once():
    from amass_arrow.export import humanml3d, protomotions

    assert (protomotions.VEL_HORIZON, protomotions.CONTACT_SPEED, protomotions.CONTACT_HEIGHT) == (3, 0.15, 0.10)
    assert (protomotions.VEL_HORIZON, protomotions.CONTACT_SPEED, protomotions.CONTACT_HEIGHT) == (
        contacts.PROTOMOTIONS["horizon"], contacts.PROTOMOTIONS["speed"], contacts.PROTOMOTIONS["height"])
    assert humanml3d.FPS == contacts.HUMANML3D["fps"] == 20.0


def test_report_metric_rules_follow_the_quality_flags():
    from amass_arrow.tools.report import THRESHOLD, WORSE_HIGH

    assert list(WORSE_HIGH) == list(THRESHOLD) == list(schema.QUALITY_COLUMNS)
    assert WORSE_HIGH == {"foot_skating": True, "floor_penetration": True, "peak_joint_speed": True, "jitter": True,
                          "contact_coverage": False, "airborne_fraction": True}
    assert THRESHOLD == {"foot_skating": "max_foot_skating", "floor_penetration": "max_floor_penetration",
                         "peak_joint_speed": "max_joint_speed", "jitter": "max_jitter",
                         "contact_coverage": "min_contact_coverage", "airborne_fraction": "max_airborne_fraction"}
    fields = {f for f in config.QualityConfig.__dataclass_fields__}
    assert set(THRESHOLD.values()) <= fields


def test_features_live_in_schema_and_follow_the_frame_schema():
    from amass_arrow.export.frames import FEATURES

    assert FEATURES is schema.FEATURES
    frame = schema.frame_schema(2, joint_velocities=True)
    for name, (dtype, width) in FEATURES.items():
        if name == schema.CONTACTS_FEATURE:
            assert (dtype, width) == ("bool", 6)
            continue
        t = frame.field(name).type
        assert dtype == "float32" and t.value_type == pa.float32()
        assert width == (None if name in (schema.JOINTS, schema.JOINT_VEL) else t.list_size)
    assert list(FEATURES) == ["root_orient", "pose_body", "pose_hand", "pose_jaw", "pose_eye", "pose_smpl_hands",
                              "trans", "joints", "joint_vel", "contacts"]


def test_drop_flagged_sql_default_is_the_quality_flags():
    from amass_arrow.motion.quality import FLAG_RULES

    sql = find("sql/slices/drop_flagged.sql").read_text()
    listed = re.search(r"getvariable\('drop_flags'\)::VARCHAR\[\],\s*\[(.*?)\]::VARCHAR\[\]", sql, re.S).group(1)
    flags = re.findall(r"'([a-z_]+)'", listed)
    assert flags == [*FLAG_RULES, "lying_down"]
    assert flags == ["foot_skating", "floor_penetration", "joint_speed_spike", "jitter", "low_contact_coverage",
                     "airborne", "lying_down"]


def test_sql_parameter_defaults_match_their_comments():
    """Each shipped SQL file documents `getvariable('k') default V`; the coalesce fallbacks in its body say V too."""
    checked = 0
    for rel in ("sql/slices/windows.sql", "sql/slices/min_duration.sql", "sql/slices/captions.sql",
                "sql/splits/random_sequences.sql", "sql/splits/cross_subject.sql"):
        sql = find(rel).read_text()
        documented = dict(re.findall(r"getvariable\('(\w+)'\)\s+default ([0-9]+(?:\.[0-9]+)?)", sql))
        body = "\n".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
        used = re.findall(r"coalesce\(getvariable\('(\w+)'\), ([0-9.]+)\)", body)
        assert used, rel
        for k, v in used:
            assert k in documented, (rel, k)
            assert float(documented[k]) == float(v), (rel, k, documented[k], v)
            checked += 1
    assert checked >= 9
