"""ProtoMotions and VPoser exporters: velocity/rotation definitions on hand-made motions, layouts, dtypes and keys
on the demo store, YAML motion configs both ways, shards."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
import yaml

from amass_arrow import schema
from amass_arrow.cli import main
from amass_arrow.export import protomotions as pm
from amass_arrow.motion.kinematics import rodrigues
from amass_arrow.query.sql import connect
from amass_arrow.store.reader import Store


def _rz(a):
    return rodrigues(np.stack([np.zeros_like(a), np.zeros_like(a), a], -1))


# ---------------------------------------------------------------- definitions on hand-made motions
def test_linear_velocity_takes_the_smallest_of_three_horizons():
    # x = 0 0 0 0 -1 (1 fps): h=1 [0 0 0 -1 -1], h=2 [0 0 -.5 -.5 -.5], h=3 [0 -1/3 -1/3 -1/3 -1/3]
    x = np.array([0.0, 0, 0, 0, -1])
    pos = np.zeros((5, 1, 3))
    pos[:, 0, 0] = x
    v = pm.linear_velocity(pos, fps=1.0)
    np.testing.assert_allclose(v[:, 0, 0], [0, 0, 0, -1 / 3, -1 / 3], atol=1e-12)
    # a spike of one frame is filtered out: a steady 1 m/frame walk with frame 4 displaced by +6
    pos = np.zeros((7, 1, 3))
    pos[:, 0, 0] = [0, 1, 2, 3, 10, 5, 6]
    np.testing.assert_allclose(pm.linear_velocity(pos, fps=2.0)[:, 0, 0], np.full(7, 2.0))
    # one horizon = plain forward differences, last frame repeated
    np.testing.assert_allclose(pm.linear_velocity(pos, 1.0, horizon=1)[:, 0, 0], [1, 1, 1, 7, -5, 1, 1])
    assert not pm.linear_velocity(pos[:1], 30.0).any()


def test_angular_velocity_of_a_constant_spin():
    w, fps = 2.0, 30.0
    R = _rz(w * np.arange(12) / fps)[:, None]  # (T, 1, 3, 3)
    np.testing.assert_allclose(pm.angular_velocity(R, fps), np.broadcast_to([0, 0, w], (12, 1, 3)), atol=1e-9)
    # world frame: a body first tilted 90 deg about x, then spun about the world z, still spins about z
    tilt = rodrigues(np.array([np.pi / 2, 0, 0]))
    np.testing.assert_allclose(pm.angular_velocity(R @ tilt, fps)[:, 0], np.broadcast_to([0, 0, w], (12, 3)), atol=1e-9)


def test_motion_state_on_a_two_body_chain():
    """Root walks along +x at 1 m/s spinning about z; the child hangs 0.5 m below it with a fixed 0.3 rad bend."""
    T, fps, w, a = 9, 30.0, 1.5, 0.3
    t = np.arange(T) / fps
    Groot = _rz(w * t)
    Gchild = Groot @ rodrigues(np.array([a, 0, 0]))
    G = np.stack([Groot, Gchild], 1)
    pos = np.zeros((T, 2, 3))
    pos[:, 0] = np.stack([t, np.zeros(T), np.full(T, 0.9)], -1)
    pos[:, 1] = pos[:, 0] + [0, 0, -0.85]
    s = pm.motion_state(pos, G, [-1, 0], fps)
    assert s["gts"] is pos and s["dps"].shape == (T, 3) and s["contacts"].shape == (T, 2)
    np.testing.assert_allclose(s["gvs"][:, 0], np.broadcast_to([1, 0, 0], (T, 3)), atol=1e-9)
    np.testing.assert_allclose(s["gavs"], np.broadcast_to([0, 0, w], (T, 2, 3)), atol=1e-9)
    # their body frames are ours times rot1; a local rotation is seen through rot1
    np.testing.assert_allclose(pm.R1 @ [1, 0, 0], [0, 0, 1], atol=1e-12)  # MJCF forward (x) -> SMPL forward (z)
    np.testing.assert_allclose(pm.R1 @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # MJCF up (z) -> SMPL up (y)
    np.testing.assert_allclose(s["dps"], np.broadcast_to(pm.R1.T @ [a, 0, 0], (T, 3)), atol=1e-12)
    np.testing.assert_allclose(s["dvs"], 0, atol=1e-9)
    q = s["grs"][:, 0]  # xyzw of Rz(wt) @ R1
    m = pm.matrix_to_quat(Groot @ pm.R1)
    np.testing.assert_allclose(q, np.concatenate([m[:, 1:], m[:, :1]], -1), atol=1e-12)
    assert (q[:, 3] >= 0).all()
    np.testing.assert_allclose(s["lrs"][:, 0], q, atol=1e-12)  # the root's local rotation is its global one
    lc = pm.matrix_to_quat(pm.R1.T @ rodrigues(np.array([a, 0, 0])) @ pm.R1)
    np.testing.assert_allclose(s["lrs"][:, 1], np.broadcast_to(np.r_[lc[1:], lc[:1]], (T, 4)), atol=1e-12)
    assert not s["contacts"].any()  # the child is 0.05 m high but moves at 1 m/s
    np.testing.assert_array_equal(pm.contact_labels(pos * [1, 1, 0], np.zeros_like(pos)), np.ones((T, 2), bool))


def test_body_orders_match_theirs():
    assert len(pm.BODY_NAMES["smpl"]) == 24 and len(pm.BODY_NAMES["smplx"]) == 52
    assert pm.PROTO_NAMES["smpl"][17:19] == ["L_Wrist", "L_Hand"] and pm.PROTO_NAMES["smplx"][18] == "L_Index1"
    assert pm.PROTO_NAMES["smplx"][33] == "R_Thorax" and pm.BODY_NAMES["smplx"][33] == "right_collar"
    assert pm.motion_name("ACCAD/Female1General_c3d/A1 - Stand_poses.npz") == "ACCAD/Female1General_c3d/A1___Stand_poses.motion"


# ---------------------------------------------------------------- on the demo store
HANDS_SQL = ("SELECT o.seq_id, o.split FROM ({official}) AS o JOIN sequences AS s USING (seq_id) "
             "WHERE s.surface_model <> 'smpl'")


@pytest.fixture(scope="module")
def exported(demo_store, tmp_path_factory):
    """`export --kind vposer` and one `build-splits` writing the ProtoMotions variants (options from the YAML)."""
    out = tmp_path_factory.mktemp("exporters")
    hands = out / "hands.sql"
    hands.write_text(HANDS_SQL.format(official=open("sql/splits/amass_official.sql").read().strip().rstrip(";")))
    cfg = out / "splits.yaml"
    cfg.write_text(
        "definitions:\n  - {name: amass_official, sql: sql/splits/amass_official.sql}\n"
        f"  - {{name: hands, sql: {hands}}}\n"
        "exports:\n  - {kind: protomotions, definitions: [amass_official]}\n"
        "  - {kind: protomotions, name: pm2, options: {shards: 2}, definitions: [amass_official]}\n"
        "  - {kind: protomotions, name: pmx, options: {humanoid: smplx}, definitions: [hands]}\n")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "vposer",
                     "--frame-stride", "2", "--out", str(out / "vp"), "--quiet"]) == 0
        assert main(["build-splits", str(demo_store), "--config", str(cfg), "--out", str(out / "pm"), "--quiet"]) == 0
    return out


def test_protomotions_layout_dtypes_keys(demo_store, exported):
    d = torch.load(exported / "pm" / "amass_official" / "protomotions" / "train.pt", weights_only=False)
    keys = {"gts", "grs", "lrs", "gvs", "gavs", "dps", "dvs", "contacts", "length_starts", "motion_lengths", "motion_dt",
            "motion_num_frames", "motion_weights", "motion_files"}
    assert set(d) == keys
    con = connect(demo_store)
    sql = open("sql/splits/amass_official.sql").read()
    rows = con.sql(f"SELECT s.source_path, s.num_frames FROM ({sql}) o JOIN sequences s USING (seq_id) "
                   "WHERE o.split = 'train' ORDER BY o.seq_id").fetchall()
    N, M = sum(r[1] for r in rows), len(rows)
    for k, shape in {"gts": (N, 24, 3), "grs": (N, 24, 4), "lrs": (N, 24, 4), "gvs": (N, 24, 3), "gavs": (N, 24, 3), "dps": (N, 69),
                     "dvs": (N, 69), "contacts": (N, 24)}.items():
        assert tuple(d[k].shape) == shape, k
        assert d[k].dtype == (torch.bool if k == "contacts" else torch.float32), k
    assert d["motion_num_frames"].tolist() == [r[1] for r in rows] and d["motion_num_frames"].dtype == torch.int64
    assert d["length_starts"].tolist() == [sum(r[1] for r in rows[:k]) for k in range(M)]
    np.testing.assert_allclose(d["motion_dt"].numpy(), 1 / 30, rtol=1e-6)
    np.testing.assert_allclose(d["motion_lengths"].numpy(), (d["motion_num_frames"].numpy() - 1) / 30, rtol=1e-5)
    assert d["motion_weights"].dtype == torch.float32 and (d["motion_weights"] == 1).all()
    assert d["motion_files"] == tuple(pm.motion_name(r[0]) for r in rows)
    np.testing.assert_allclose(torch.linalg.norm(d["grs"], dim=-1).numpy(), 1, atol=1e-6)


def test_protomotions_positions_and_rotations_agree_with_the_store(demo_store, exported):
    """Bodies the store has are its joints; every stored joint is its parent + parent rotation @ rest offset."""
    from amass_arrow.motion.bodymodel import load_body_model

    d = torch.load(exported / "pm" / "amass_official" / "protomotions" / "validation.pt", weights_only=False)
    store = Store(demo_store)
    con = connect(demo_store)
    src = d["motion_files"][0]
    sid, sm, g, betas = next(r for r in con.sql("SELECT seq_id, surface_model, model_gender, betas, source_path FROM sequences")
                             .fetchall() if pm.motion_name(r[4]) == src)[:4]
    n = int(d["motion_num_frames"][0])
    ref = con.sql("SELECT joints FROM frames WHERE seq_id = $s ORDER BY frame", params={"s": sid}).to_arrow_table()
    joints = ref["joints"].combine_chunks().flatten().to_numpy().reshape(n, -1, 3)
    names = store.info.joint_names
    gts = d["gts"][:n].numpy()
    for b, nm in enumerate(pm.BODY_NAMES["smpl"]):
        if nm in names:
            np.testing.assert_array_equal(gts[:, b], joints[:, names.index(nm)])
    # rotations: SMPL-frame global rotation = R(grs) @ R1^T; wrist = elbow + G_elbow @ (rest_wrist - rest_elbow)
    q = d["grs"][:n].numpy().astype(np.float64)
    Rm = _xyzw_to_matrix(q) @ pm.R1.T
    rest = load_body_model(store.info.body_models[f"{sm}/{g}"], sm, g).rest_joints(np.asarray(betas, np.float64))
    mn = schema.SKELETONS[sm][0]
    for child, parent in (("left_wrist", "left_elbow"), ("right_knee", "right_hip"), ("head", "neck")):
        bc, bp = pm.BODY_NAMES["smpl"].index(child), pm.BODY_NAMES["smpl"].index(parent)
        pred = gts[:, bp] + Rm[:, bp] @ (rest[mn.index(child)] - rest[mn.index(parent)])
        np.testing.assert_allclose(pred, gts[:, bc], atol=1e-4)
    # the SMPL hand (absent from body22 and from SMPL+H) sits at the middle finger's base, rigid with the wrist
    hand = np.linalg.norm(gts[:, 18] - gts[:, 17], axis=-1)
    np.testing.assert_allclose(hand, np.linalg.norm(rest[mn.index("left_middle1")] - rest[mn.index("left_wrist")]), rtol=1e-4)
    # the velocities are their definitions of the exported values
    np.testing.assert_allclose(d["gvs"][:n].numpy(), pm.linear_velocity(gts.astype(np.float64), 30.0), atol=2e-3)


def _xyzw_to_matrix(q):
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                     2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                     2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1).reshape(q.shape[:-1] + (3, 3))


def test_protomotions_shards_split_like_theirs(exported):
    whole = torch.load(exported / "pm" / "amass_official" / "protomotions" / "train.pt", weights_only=False)
    parts = [torch.load(exported / "pm" / "amass_official" / "pm2" / f"train_{r}.pt", weights_only=False)
             for r in range(2)]
    M = len(whole["motion_files"])
    assert [len(p["motion_files"]) for p in parts] == [M // 2, M - M // 2]
    assert parts[0]["motion_files"] + parts[1]["motion_files"] == whole["motion_files"]
    assert torch.equal(torch.cat([p["gts"] for p in parts]), whole["gts"]) and parts[1]["length_starts"][0] == 0
    assert not (exported / "pm" / "amass_official" / "pm2" / "train.pt").exists()


def test_motion_yaml_round_trip(demo_store, exported, tmp_path):
    """Exported YAML -> import-motion-yaml -> a split definition that re-materializes the same rows."""
    from amass_arrow.query.splits import Definition, materialize

    folder = exported / "pm" / "amass_official" / "protomotions"
    doc = yaml.safe_load((folder / "validation.yaml").read_text())
    m0 = doc["motions"][0]
    assert set(m0) == {"file", "fps", "weight", "idx", "sub_motions"} and set(m0["sub_motions"][0]["timings"]) == {"start", "end"}
    sql = tmp_path / "proto.sql"
    assert main(["import-motion-yaml", str(demo_store), "--yaml", f"validation={folder / 'validation.yaml'}",
                 "--yaml", f"test={folder / 'test.yaml'}", "--out", str(sql)]) == 0
    con = connect(demo_store)
    back = materialize(con, Definition(name="proto", sql=str(sql)))
    orig = materialize(con, Definition(name="official", sql="sql/splits/amass_official.sql"))
    key = ["seq_id", "split", "start_frame", "end_frame", "weight"]
    got = sorted(zip(*[back.rows[k].to_pylist() for k in key]))
    want = sorted(r for r in zip(*[orig.rows[k].to_pylist() for k in key]) if r[1] in ("validation", "test"))
    assert got == want and len(got) > 3
    # their -1 end and a missing sub_motions both mean the whole sequence; unknown files are an error naming them
    seqs = [dict(zip(("seq_id", "source_path"), r)) for r in con.sql("SELECT seq_id, source_path FROM sequences").fetchall()]
    y = tmp_path / "m.yaml"
    y.write_text(yaml.safe_dump({"motions": [{"file": m0["file"], "sub_motions": [{"timings": {"start": 0.5, "end": -1}}]},
                                             {"file": m0["file"], "weight": 2.0}]}))
    rows = pm.read_motion_yaml(y, seqs, "train")
    assert [(r["start_t"], r["end_t"], r["weight"]) for r in rows] == [(0.5, None, 1.0), (0.0, None, 2.0)]
    y.write_text(yaml.safe_dump({"motions": [{"file": "Nope/none/x.motion"}]}))
    with pytest.raises(Exception, match="Nope/none/x.motion"):
        pm.read_motion_yaml(y, seqs)


def test_vposer_layout_and_values(demo_store, exported):
    d = exported / "vp" / "amass_official" / "vposer"
    con = connect(demo_store)
    for split in ("train", "validation", "test"):
        t = {k: torch.load(d / split / f"{k}.pt") for k in ("pose_body", "root_orient", "betas", "trans")}
        n = t["pose_body"].shape[0]
        assert t["pose_body"].shape == (n, 63) and t["root_orient"].shape == (n, 3) and t["trans"].shape == (n, 3)
        assert t["betas"].shape == (n, 16) and all(v.dtype == torch.float32 for v in t.values())
    sql = open("sql/splits/amass_official.sql").read()
    first = con.sql(f"SELECT o.seq_id, s.betas FROM ({sql}) o JOIN sequences s USING (seq_id) WHERE o.split = 'test' "
                    "ORDER BY o.seq_id LIMIT 1").fetchall()[0]
    ref = con.sql("SELECT pose_body FROM frames WHERE seq_id = $s AND frame % 2 = 0 ORDER BY frame",
                  params={"s": first[0]}).to_arrow_table()
    want = ref["pose_body"].combine_chunks().flatten().to_numpy().reshape(-1, 63)
    got = torch.load(d / "test" / "pose_body.pt")[: len(want)].numpy()
    assert got.tobytes() == want.tobytes()
    b = torch.load(d / "test" / "betas.pt")[0].numpy()
    np.testing.assert_array_equal(b[: min(16, len(first[1]))], np.asarray(first[1], np.float32)[:16])


def test_options_reach_the_exporters_and_are_checked(demo_store, tmp_path, capsys):
    assert main(["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "vposer",
                 "--shards", "2", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "unknown option" in capsys.readouterr().err
    assert main(["export", str(demo_store), "--sql", "sql/splits/amass_official.sql", "--kind", "protomotions",
                 "--humanoid", "robot", "--out", str(tmp_path / "y"), "--quiet"]) == 2
    assert "humanoid must be one of" in capsys.readouterr().err


def test_protomotions_smplx_humanoid_has_52_bodies_with_fingers(demo_store, exported):
    d = torch.load(exported / "pm" / "hands" / "pmx" / "train.pt", weights_only=False)
    N = int(d["motion_num_frames"].sum())
    assert tuple(d["gts"].shape) == (N, 52, 3) and tuple(d["dps"].shape) == (N, 153) and tuple(d["contacts"].shape) == (N, 52)
    assert (exported / "pm" / "hands" / "pmx" / "bodies.txt").read_text().split()[18] == "L_Index1"
    # finger bodies hang off the wrist: index1 at a body-sized distance from L_Wrist (17)
    dist = torch.linalg.norm(d["gts"][:, 18] - d["gts"][:, 17], dim=-1)
    assert 0.02 < float(dist.min()) and float(dist.max()) < 0.2
    # their dps for the fingers are the stored hand pose seen through rot1 (first motion, first frame)
    con = connect(demo_store)
    src = d["motion_files"][0]
    sid = next(r[0] for r in con.sql("SELECT seq_id, source_path FROM sequences").fetchall() if pm.motion_name(r[1]) == src)
    hand = np.asarray(con.sql("SELECT pose_hand FROM frames WHERE seq_id = $s AND frame = 0", params={"s": sid}).fetchall()[0][0])
    local = rodrigues(hand[:3])  # left_index1's local rotation
    want = pm.rotvec(pm.R1.T @ local @ pm.R1)
    np.testing.assert_allclose(d["dps"][0, 17 * 3:18 * 3].numpy(), want, atol=1e-5)
