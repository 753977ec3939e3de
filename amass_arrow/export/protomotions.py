"""ProtoMotions (NVlabs/ProtoMotions): one packaged MotionLib `.pt` per split, and its YAML motion configs.

`OUT/<split>.pt` (`--shards N`: `OUT/<split>_<rank>.pt`, rank 0..N-1, for their `..._slurmrank.pt` per-rank
loading) is a dict loadable with `torch.load(path, weights_only=False)` — what `MotionLib.load_from_file`
reads. N = frames of all motions (one motion per split row) concatenated, B = bodies of the humanoid:

    gts       (N, B, 3) float32  body positions, metres, Z-up (the store's joints; a y_up store is turned back)
    grs       (N, B, 4) float32  global body rotations, quaternions (x, y, z, w), w >= 0
    gvs       (N, B, 3) float32  linear velocities, m/s;  gavs (N, B, 3) float32 angular velocities, rad/s, world
    dps       (N, 3(B-1)) float32 joint positions: exponential map of each non-root body's local rotation
    dvs       (N, 3(B-1)) float32 joint velocities, rad/s
    contacts  (N, B) bool
    lrs       (N, B, 4) float32  local body rotations (x, y, z, w), the root's = its global one: their converter
              caches them (local_rigid_body_rot) and MotionLib then slerps them to interpolate dps
    length_starts (M,) int64, motion_num_frames (M,) int64, motion_lengths (M,) float32 = (frames - 1) * dt,
    motion_dt (M,) float32 = 1 / fps, motion_weights (M,) float32 (the split row's weight),
    motion_files  tuple of M str: the motion's name (`<AMASS path>.motion`, as their converter names it)
    `<split>.yaml` beside each file: the same motions as their YAML motion config (see `motion_yaml`).

Checked against their published code (NVlabs/ProtoMotions, read, not copied):
- body order = `SMPL_MUJOCO_NAMES` (24, humanoid `smpl`) / `SMPLH_MUJOCO_NAMES` (52, humanoid `smplx`: body and
  both hands, no jaw/eyes), data/smpl/smpl_joint_names.py; the SMPL humanoid's hands (L_Hand, R_Hand) get zero
  local rotation, as convert_amass_to_proto.py pads the pose with zeros;
- rotations: FK of the SMPL local rotations (amass_arrow.motion.kinematics.global_rotations), then every global rotation
  right-multiplied by R1 = euler 'xyz' (-pi/2, -pi/2, 0) (their `rot1`: the MJCF body frame -> SMPL's Y-up rest
  frame); local rotations recomputed from those globals (parent^T @ child; their MJCF bodies have identity
  reference rotations), quaternions w-last (convert_amass_to_proto.py, pose_lib.compute_joint_rot_mats_from_global_mats);
- gvs / gavs: pose_lib.compute_cartesian_velocity / compute_angular_velocity with velocity_max_horizon=3: forward
  differences over h = 1, 2, 3 frames, (x[t+h] - x[t]) / (h dt) and log(R[t+h] R[t]^T) / (h dt) (angle in
  [0, pi]), the last h frames repeating the last valid value (all h: a forward difference when T <= h), and per
  (frame, body) the candidate of smallest norm (first on ties); a 1-frame motion has zero velocities;
- dps = exp map of the local rotations (extract_qpos_from_transforms 'exp_map', qpos[7:]);
  dvs = compute_angular_velocity of the local rotations of bodies 1.. with the default horizon 1 (forward
  difference log(L[t+1] L[t]^T) / dt, last frame repeats the previous), reshaped (T, 3(B-1));
- contacts: contact_detection.compute_contact_labels_from_pos_and_vel with vel_thres 0.15 m/s and
  height_thresh 0.1 m as their converter calls it: |gvs| < 0.15 and z < 0.1, per body;
- motion_length = (num_frames - 1) * dt, motion_dt = 1 / fps (simulator_state.BaseBatchedState), length_starts =
  exclusive cumsum of motion_num_frames (motion_lib.py); packaged files: motion_lib.MotionLib.save_to_file keys.
Deliberate differences: positions are the store's body-shaped joints on the store's floor (theirs: FK of a fixed
MJCF skeleton, then `fix_height` by 0.015 m); bodies the store lacks (the SMPL hands in a body22 store) are placed
by FK from their parent with the sequence's body model rest offsets (SMPL: the hand joint; SMPL+H / SMPL-X, which
have no such joint: the middle finger's base, where SMPL's hand joint sits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amass_arrow.motion.contacts import PROTOMOTIONS
from amass_arrow.motion.kinematics import Z_UP_TO_Y_UP, global_rotations
from amass_arrow.motion.resample import matrix_to_quat, quat_to_aa

from .. import schema
from ..errors import ConfigError, SplitError
from ..schema import FRM, SEQ, SPL
from .frames import EXPORT_ROWS
from .registry import Exporter, register
from .units import SLICE_UNIT

HUMANOIDS = ("smpl", "smplx")
#: ProtoMotions' MuJoCo body order, in amass_arrow joint names (schema.SKELETONS).
_LEFT_FINGERS = [f"left_{f}{k}" for f in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]
_RIGHT_FINGERS = [n.replace("left_", "right_") for n in _LEFT_FINGERS]
_SPINE = ["pelvis", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip", "right_knee", "right_ankle",
          "right_foot", "spine1", "spine2", "spine3", "neck", "head"]
_L_ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
_R_ARM = ["right_collar", "right_shoulder", "right_elbow", "right_wrist"]
BODY_NAMES = {
    "smpl": _SPINE + _L_ARM + ["left_hand"] + _R_ARM + ["right_hand"],
    "smplx": _SPINE + _L_ARM + _LEFT_FINGERS + _R_ARM + _RIGHT_FINGERS,
}
#: their proto body names, same order (SMPL_MUJOCO_NAMES / SMPLH_MUJOCO_NAMES)
PROTO_NAMES = {
    "smpl": ["Pelvis", "L_Hip", "L_Knee", "L_Ankle", "L_Toe", "R_Hip", "R_Knee", "R_Ankle", "R_Toe", "Torso", "Spine",
             "Chest", "Neck", "Head", "L_Thorax", "L_Shoulder", "L_Elbow", "L_Wrist", "L_Hand", "R_Thorax",
             "R_Shoulder", "R_Elbow", "R_Wrist", "R_Hand"],
}
PROTO_NAMES["smplx"] = (PROTO_NAMES["smpl"][:18] + [f"L_{f.title()}{k}" for f in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]
                        + PROTO_NAMES["smpl"][19:23] + [f"R_{f.title()}{k}" for f in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)])
#: the kinematic tree the rotations are composed on (amass_arrow skeleton names -> parents)
_TREE = {"smpl": "smpl", "smplx": "smplh"}
#: SMPL+H / SMPL-X have no SMPL hand joint: the middle finger's base stands in for it (same parent: the wrist)
_HAND_STAND_IN = {"left_hand": "left_middle1", "right_hand": "right_middle1"}
# their converter's constants (one definition: contacts.PROTOMOTIONS, which the store's parity contacts use)
VEL_HORIZON = PROTOMOTIONS["horizon"]  # their velocity_max_horizon, 3
CONTACT_SPEED = PROTOMOTIONS["speed"]  # m/s, their vel_thres, 0.15
CONTACT_HEIGHT = PROTOMOTIONS["height"]  # m, their height_thresh, 0.10


def _r1() -> np.ndarray:
    """Their rot1: scipy Rotation.from_euler('xyz', [-pi/2, -pi/2, 0]) (extrinsic x then y) = Ry(-90) @ Rx(-90)."""
    rx = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # Rx(-90 deg)
    ry = np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]])  # Ry(-90 deg)
    return ry @ rx


R1 = _r1()


# ---------------------------------------------------------------- numerics (pure numpy)
def rotvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> rotation vectors (..., 3), angle in [0, pi] (the log map)."""
    return quat_to_aa(matrix_to_quat(R))


def quat_xyzw(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (x, y, z, w), w >= 0."""
    q = matrix_to_quat(R)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def _horizon_diffs(T: int, h: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(t, t + h) frame pairs of one horizon and how many trailing frames repeat the last value."""
    if T > h:
        return np.arange(T - h), np.arange(h, T), h
    return np.arange(T - 1), np.arange(1, T), 1


def linear_velocity(pos: np.ndarray, fps: float, horizon: int = VEL_HORIZON) -> np.ndarray:
    """(T, B, 3) positions -> (T, B, 3) velocities: per (frame, body) the smallest of the h = 1..horizon forward
    differences; the last h frames repeat the last valid one (their compute_cartesian_velocity)."""
    T = len(pos)
    if T < 2:
        return np.zeros_like(pos)
    cands = []
    for h in range(1, horizon + 1):
        a, b, tail = _horizon_diffs(T, h)
        dt = (b[0] - a[0]) / fps
        v = np.empty_like(pos)
        v[: T - tail] = (pos[b] - pos[a]) / dt
        v[T - tail:] = v[T - tail - 1]
        cands.append(v)
    return _smallest(cands)


def angular_velocity(R: np.ndarray, fps: float, horizon: int = VEL_HORIZON) -> np.ndarray:
    """(T, B, 3, 3) rotations -> (T, B, 3): log(R[t+h] R[t]^T) / (h dt), horizons and tails as linear_velocity
    (their compute_angular_velocity); world-frame for global rotations, parent-frame for local ones."""
    T = len(R)
    if T < 2:
        return np.zeros(R.shape[:-2] + (3,))
    cands = []
    for h in range(1, horizon + 1):
        a, b, tail = _horizon_diffs(T, h)
        dt = (b[0] - a[0]) / fps
        w = np.empty(R.shape[:-2] + (3,))
        w[: T - tail] = rotvec(R[b] @ np.swapaxes(R[a], -1, -2)) / dt
        w[T - tail:] = w[T - tail - 1]
        cands.append(w)
    return _smallest(cands)


def _smallest(cands: list[np.ndarray]) -> np.ndarray:
    if len(cands) == 1:
        return cands[0]
    c = np.stack(cands)  # (H, T, B, 3)
    k = np.argmin(np.linalg.norm(c, axis=-1), axis=0)  # first minimum on ties, like torch.argmin
    return np.take_along_axis(c, k[None, ..., None], axis=0)[0]


def contact_labels(pos: np.ndarray, vel: np.ndarray, speed: float = CONTACT_SPEED, height: float = CONTACT_HEIGHT) -> np.ndarray:
    """(T, B) bool: a body is in contact when slower than `speed` m/s and lower than `height` m (z)."""
    return (np.linalg.norm(vel, axis=-1) < speed) & (pos[..., 2] < height)


def motion_state(positions: np.ndarray, G: np.ndarray, parents: list[int], fps: float) -> dict[str, np.ndarray]:
    """One motion's packaged fields from body positions (T, B, 3) and SMPL-frame global rotations (T, B, 3, 3),
    both in ProtoMotions body order and Z-up; `parents` in that order. float64 arrays, see the module docstring."""
    Gm = G @ R1  # their bodies' frames
    T, B = Gm.shape[:2]
    loc = np.empty_like(Gm)
    loc[:, 0] = Gm[:, 0]
    for j in range(1, B):
        loc[:, j] = np.swapaxes(Gm[:, parents[j]], -1, -2) @ Gm[:, j]
    gvs = linear_velocity(positions, fps)
    return {
        "gts": positions, "grs": quat_xyzw(Gm), "lrs": quat_xyzw(loc), "gvs": gvs, "gavs": angular_velocity(Gm, fps),
        "dps": rotvec(loc[:, 1:]).reshape(T, 3 * (B - 1)),
        "dvs": angular_velocity(loc[:, 1:], fps, horizon=1).reshape(T, 3 * (B - 1)),
        "contacts": contact_labels(positions, gvs),
    }


def motion_name(source_path: str) -> str:
    """Their converter's output name for an AMASS file: '.npz' -> '.motion', '-', ' ', '(', ')' -> '_'."""
    p = re.sub(r"\.(npz|pkl)$", ".motion", source_path)
    return re.sub(r"[-\s()]", "_", p)


def _key(name: str) -> str:
    return re.sub(r"\.(npz|pkl|motion)$", "", motion_name(name))


# ---------------------------------------------------------------- YAML motion configs
def motion_yaml(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Split rows (source_path, source_fps, start_t, end_t, end_frame, store_fps, weight) -> their motion config:
    `{motions: [{file, fps, weight, idx, sub_motions: [{timings: {start, end}, weight, idx}]}]}`, one motion per row."""
    out = []
    for k, r in enumerate(rows):
        # a row to the sequence's end: the half-open end, frames / fps (their slicing keeps frames [start, int(end * fps)))
        end = r[SPL.end_t] if r.get(SPL.end_t) is not None else r[SPL.end_frame] / r[SPL.store_fps]
        out.append({"file": motion_name(r[SEQ.source_path]), "fps": float(r[SEQ.source_fps]), "weight": float(r[SPL.weight]),
                    "idx": k, "sub_motions": [{"timings": {"start": float(r[SPL.start_t]), "end": float(end)},
                                               "weight": float(r[SPL.weight]), "idx": k}]})
    return {"motions": out}


def read_motion_yaml(path: str | Path, sequences: list[dict[str, Any]], split: str = "train") -> list[dict[str, Any]]:
    """Their YAML motion config -> split rows (seq_id, split, start_t, end_t, weight), one per sub_motion
    (a motion without sub_motions: the whole sequence). `sequences`: dicts with seq_id and source_path.
    A `file` matches a sequence by its converted name (motion_name) or, failing that, uniquely by its last two
    path parts (subject/name; dataset folders are named differently across AMASS releases)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read a ProtoMotions motion YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("motions"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'motions' list")
    exact = {_key(s[SEQ.source_path]): s[SEQ.seq_id] for s in sequences}
    tails: dict[str, list[str]] = {}
    for s in sequences:
        tails.setdefault("/".join(_key(s[SEQ.source_path]).split("/")[-2:]), []).append(s[SEQ.seq_id])
    rows, missing = [], []
    for k, m in enumerate(data["motions"]):
        if not isinstance(m, dict) or "file" not in m:
            raise ConfigError(f"{path}: motions[{k}] needs a 'file'")
        key = _key(str(m["file"]))
        sid = exact.get(key)
        if sid is None:
            cand = tails.get("/".join(key.split("/")[-2:]), [])
            sid = cand[0] if len(cand) == 1 else None
        if sid is None:
            missing.append(str(m["file"]))
            continue
        weight = float(m.get("weight", 1.0))
        subs = m.get("sub_motions") or [{}]
        for sub in subs:
            t = (sub or {}).get("timings") or {}
            end = t.get("end")
            end = None if end is None or float(end) < 0 else float(end)  # their -1 = to the end
            rows.append({SPL.seq_id: sid, SPL.split: split, SPL.start_t: float(t.get("start", 0.0)), SPL.end_t: end,
                         SPL.weight: float((sub or {}).get("weight", weight))})
    if missing:
        raise SplitError(f"{path}: {len(missing)} motion file(s) match no sequence in the store, e.g. "
                         + ", ".join(repr(x) for x in missing[:5]))
    return rows


def rows_sql(rows: list[dict[str, Any]], source: str = "") -> str:
    """Split rows -> a split definition (sql/splits style): one SELECT over a VALUES list."""
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(float(v))

    head = f"-- split rows imported from {source}\n" if source else ""
    if not rows:
        return head + "SELECT NULL::VARCHAR AS seq_id, NULL::VARCHAR AS split WHERE false\n"
    values = ",\n  ".join(f"({lit(r[SPL.seq_id])}, {lit(r[SPL.split])}, {lit(r[SPL.start_t])}, {lit(r[SPL.end_t])}, {lit(r[SPL.weight])})"
                          for r in rows)
    return (head + "SELECT seq_id, split, start_t::DOUBLE AS start_t, end_t::DOUBLE AS end_t, weight::DOUBLE AS weight\n"
            f"FROM (VALUES\n  {values}\n) AS t(seq_id, split, start_t, end_t, weight)\n")


# ---------------------------------------------------------------- exporter
@dataclass
class Options:
    humanoid: str = field(default="smpl", metadata={"help": "ProtoMotions humanoid: smpl (24 bodies) | smplx (52)"})
    shards: int = field(default=1, metadata={"help": "protomotions: write <split>_<rank>.pt for N ranks"})
    body_models: str = field(default="", metadata={"help": "body model root for bodies the store lacks "
                                                           "(default: the paths in the store's info.json)"})

    def validate(self, where: str) -> None:
        if self.humanoid not in HUMANOIDS:
            raise ConfigError(f"{where}.humanoid must be one of {', '.join(HUMANOIDS)}; got {self.humanoid!r}")
        if int(self.shards) < 1:
            raise ConfigError(f"{where}.shards must be >= 1; got {self.shards}")


class _Bodies:
    """Positions and rotations of the humanoid's bodies for one sequence's frames (store joints + FK fill-in)."""

    def __init__(self, store, con, humanoid: str, body_models: str):
        self.humanoid = humanoid
        tree_names, tree_parents = schema.SKELETONS[_TREE[humanoid]]
        names = BODY_NAMES[humanoid]
        self.tree = [tree_names.index(n) for n in names]  # body -> index in the rotation tree
        self.tree_parents = tree_parents
        self.parents = [-1] + [names.index(tree_names[tree_parents[t]]) for t in self.tree[1:]]
        jn = list(store.info.joint_names)
        self.from_store = {b: jn.index(n) for b, n in enumerate(names) if n in jn}
        self.missing = [b for b in range(len(names)) if b not in self.from_store]
        self.frame = store.info.frame
        self.store = store
        self.body_models = body_models
        self._models: dict = {}
        self._seq: dict[str, dict[str, Any]] = {}
        self._rests: dict[str, np.ndarray] = {}
        self.con = con

    def seq(self, seq_id: str) -> dict[str, Any]:
        """The sequence's model, betas, source path and rates (all the split's sequences read in one query)."""
        if not self._seq:
            cols = (SEQ.seq_id, SEQ.surface_model, SEQ.model_gender, SEQ.betas, SEQ.source_path, SEQ.source_fps, SEQ.duration)
            cur = self.con.cursor()
            try:
                rows = cur.execute(f"SELECT {', '.join(cols)} FROM sequences "
                                   f"WHERE seq_id IN (SELECT DISTINCT seq_id FROM {EXPORT_ROWS})").fetchall()
            finally:
                cur.close()
            self._seq = {r[0]: dict(zip(cols[1:], r[1:])) for r in rows}
        return self._seq[seq_id]

    def _rest(self, seq_id: str) -> np.ndarray:
        """Rest joints (J, 3) of the sequence's body model and betas (model frame, Y-up), cached per sequence."""
        from amass_arrow.motion.bodymodel import BodyModelRegistry, load_body_model

        if seq_id in self._rests:
            return self._rests[seq_id]
        s = self.seq(seq_id)
        key = f"{s[SEQ.surface_model]}/{s[SEQ.model_gender]}"
        if key not in self._models:
            try:
                if self.body_models:
                    self._models[key] = BodyModelRegistry(self.body_models).get(s[SEQ.surface_model], s[SEQ.model_gender])
                else:
                    path = self.store.info.body_models.get(key)
                    if not path:
                        raise FileNotFoundError(key)
                    self._models[key] = load_body_model(path, s[SEQ.surface_model], s[SEQ.model_gender])
            except Exception as exc:
                names = [BODY_NAMES[self.humanoid][b] for b in self.missing]
                raise ConfigError(
                    f"protomotions: the store (joint set {self.store.info.joint_set}) lacks bodies {', '.join(names)}; "
                    f"placing them needs the {key} body model, which could not be loaded ({exc}). Pass "
                    f"--body-models DIR, or build the store with --joints smpl24 / smplh52.") from None
        rest = np.asarray(self._models[key].rest_joints(np.asarray(s[SEQ.betas], np.float64)), np.float64)
        self._rests[seq_id] = rest
        return rest

    def __call__(self, seq_id: str, feats: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(positions (T, B, 3), SMPL-frame global rotations (T, B, 3, 3)), body order, Z-up, float64."""
        if self.humanoid == "smplx" and self.seq(seq_id)[SEQ.surface_model] == "smpl":
            raise ConfigError(f"protomotions --humanoid smplx needs hand poses, and {seq_id} is an SMPL sequence (no hands): "
                              "leave SMPL sequences out in the split SQL (e.g. JOIN sequences ... WHERE surface_model <> 'smpl')")
        T = len(feats[FRM.root_orient])
        n_tree = len(schema.SKELETONS[_TREE[self.humanoid]][0])
        pose = np.zeros((T, n_tree, 3))
        pose[:, 0] = feats[FRM.root_orient]
        pose[:, 1:22] = feats[FRM.pose_body].reshape(T, 21, 3)
        if self.humanoid == "smplx":
            pose[:, 22:52] = feats[FRM.pose_hand].reshape(T, 30, 3)
        G = global_rotations(pose, self.tree_parents)
        joints = feats[FRM.joints].reshape(T, -1, 3).astype(np.float64)
        if self.frame == "y_up":  # back to Z-up: rotations and points
            G = Z_UP_TO_Y_UP.T @ G
            joints = joints @ Z_UP_TO_Y_UP
        B = len(self.tree)
        pos = np.empty((T, B, 3))
        for b, j in self.from_store.items():
            pos[:, b] = joints[:, j]
        if self.missing:
            rest = self._rest(seq_id)
            model_names = schema.SKELETONS[self.seq(seq_id)[SEQ.surface_model]][0]
            names = BODY_NAMES[self.humanoid]
            for b in self.missing:  # parents come first in body order
                n = names[b]
                n = n if n in model_names else _HAND_STAND_IN.get(n, n)
                if n not in model_names:
                    raise ConfigError(f"protomotions: body {names[b]} is not in the {self.seq(seq_id)[SEQ.surface_model]} model")
                p = self.parents[b]
                off = rest[model_names.index(n)] - rest[model_names.index(names[p])]
                pos[:, b] = pos[:, p] + G[:, self.tree[p]] @ off
        return pos, G[:, self.tree]


@register
class ProtoMotionsExporter(Exporter):
    name = "protomotions"
    units = (SLICE_UNIT,)
    columns = (FRM.root_orient, FRM.pose_body, FRM.pose_hand, FRM.joints)
    Options = Options
    summary = "ProtoMotions packaged MotionLib <split>.pt (+ <split>.yaml motion config), one motion per split row"
    load = "MotionLib(MotionLibConfig(motion_file='OUT/<definition>/protomotions/train.pt'))  # or torch.load(p, weights_only=False)"

    def export(self, ctx, out: Path) -> Path:
        import torch
        import yaml

        opts: Options = ctx.options
        counts = {split: ctx.rows(split).num_rows for split in ctx.split_names()}
        few = {s: n for s, n in counts.items() if 0 < n < int(opts.shards)}
        if few:  # their MotionLib fails at its first query on an empty shard: refuse before writing anything
            raise ConfigError(
                f"protomotions --shards {opts.shards}: split(s) {', '.join(f'{s} ({n} motions)' for s, n in few.items())} "
                f"would leave empty shards, which ProtoMotions' MotionLib cannot load; use --shards {min(few.values())} or fewer")
        out.mkdir(parents=True, exist_ok=True)
        bodies = _Bodies(ctx.store, ctx.con, opts.humanoid, opts.body_models)
        for split in ctx.split_names():
            if not counts[split]:  # an empty MotionLib cannot be loaded: no file (the split report says it is empty)
                continue
            motions, meta = [], []
            for s in ctx.slices(split):
                pos, G = bodies(s.seq_id, s.feats)
                fps = ctx.fps or float(s.row[SPL.store_fps])  # a store with per-sequence rates: each motion its own
                motions.append({**motion_state(pos, G, bodies.parents, fps), "fps": fps})
                seq = bodies.seq(s.seq_id)
                meta.append({**s.row, SEQ.source_path: seq[SEQ.source_path], SEQ.source_fps: seq[SEQ.source_fps],
                             SEQ.duration: seq[SEQ.duration], "frames": len(s)})
            shards = int(opts.shards)
            for rank in range(shards):
                lo, hi = _shard(len(motions), shards, rank)
                stem = split if shards == 1 else f"{split}_{rank}"
                torch.save(_package(motions[lo:hi], meta[lo:hi], opts.humanoid), out / f"{stem}.pt")
                (out / f"{stem}.yaml").write_text(yaml.safe_dump(motion_yaml(meta[lo:hi]), sort_keys=False))
        (out / "bodies.txt").write_text("\n".join(PROTO_NAMES[opts.humanoid]) + "\n")
        return out


def _shard(n: int, shards: int, rank: int) -> tuple[int, int]:
    """Their package_motion_lib split: n // shards motions per rank, the last rank takes the rest."""
    size = n // shards
    return rank * size, (n if rank == shards - 1 else (rank + 1) * size)


def _package(motions: list[dict[str, Any]], meta: list[dict[str, Any]], humanoid: str) -> dict[str, Any]:
    import torch

    B = len(BODY_NAMES[humanoid])
    empty = {"gts": (0, B, 3), "grs": (0, B, 4), "lrs": (0, B, 4), "gvs": (0, B, 3), "gavs": (0, B, 3), "dps": (0, 3 * (B - 1)),
             "dvs": (0, 3 * (B - 1)), "contacts": (0, B)}
    data: dict[str, Any] = {}
    for k, shape in empty.items():
        v = np.concatenate([m[k] for m in motions]) if motions else np.zeros(shape)
        data[k] = torch.from_numpy(np.ascontiguousarray(v.astype(bool if k == "contacts" else np.float32)))
    frames = np.array([len(m["gts"]) for m in motions], np.int64)
    dt = np.array([1.0 / m["fps"] for m in motions], np.float32)
    data["motion_num_frames"] = torch.from_numpy(frames)
    data["length_starts"] = torch.from_numpy(np.concatenate([[0], np.cumsum(frames)[:-1]]).astype(np.int64) if len(frames) else frames)
    data["motion_dt"] = torch.from_numpy(dt)
    data["motion_lengths"] = torch.from_numpy(((frames - 1) * dt).astype(np.float32))
    data["motion_weights"] = torch.tensor([float(m[SPL.weight]) for m in meta], dtype=torch.float32)
    data["motion_files"] = tuple(motion_name(m[SEQ.source_path]) for m in meta)
    return data


__all__ = ["BODY_NAMES", "PROTO_NAMES", "R1", "Options", "ProtoMotionsExporter", "angular_velocity", "contact_labels",
           "linear_velocity", "motion_name", "motion_state", "motion_yaml", "read_motion_yaml", "rows_sql"]
