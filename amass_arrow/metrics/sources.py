"""Where `amass-arrow metrics` finds motion: every group is (T, 22, 3) joints, Y-up metres at 20 fps.

- a HumanML3D-format folder (ours or the official one): `new_joints/*.npy`, else `new_joint_vecs/*.npy` recovered
  with `export.humanml3d.recover_joints`; split lists (`train.txt`, `val.txt`, `test.txt`) beside them group the
  ids, else one group `all`. `PATH/HumanML3D/` is looked into when PATH holds no motion itself.
- a folder of (T, 22, 3) joint `.npy` files (generated motion), one group `all`.
- a store with a split SQL file: the ground truth, our joints converted to HumanML3D's frame ((x, y, z) ->
  (-x, z, y) from Z-up) and resampled to 20 fps, one group per split.
`lengths` ({id: valid frames}) marks padding in generated motion: jerk ignores frames past it; the skating ratio,
as GMD's, counts every frame given.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amass_arrow.errors import ConfigError
from amass_arrow.export.humanml3d import NUM_JOINTS, from_amass, recover_joints
from amass_arrow.metrics import Group
from amass_arrow.motion.paper_metrics import at_20fps
from amass_arrow.query.splits import Definition, materialize
from amass_arrow.query.sql import connect
from amass_arrow.schema import FRM, SKELETONS, SPL
from amass_arrow.store.open import open_store
from amass_arrow.store.reader import Store

SPLIT_FILES = ("train", "val", "test")


def read_lengths(path: str | Path | None) -> dict[str, int]:
    """{id: valid length} from a JSON object, or a text file of `id length` lines; {} for None."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--lengths {p}: no such file")
    text = p.read_text()
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        data = None
    if data is not None:
        bad = [k for k, v in data.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0]
        if bad:
            raise ConfigError(f"--lengths {p}: lengths must be whole numbers of frames >= 0; not for {', '.join(map(str, bad[:5]))}")
        return {str(k): int(v) for k, v in data.items()}
    out = {}
    for k, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ConfigError(f"--lengths {p}:{k}: want 'id length' (or a JSON object), got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


def _check(a: np.ndarray, where: str) -> np.ndarray:
    if a.ndim != 3 or a.shape[1] != NUM_JOINTS or a.shape[2] != 3:
        raise ConfigError(f"{where}: want (T, {NUM_JOINTS}, 3) joints, got shape {a.shape}")
    return a


def _load_clip(folder: Path, cid: str, kind: str) -> np.ndarray:
    p = folder / f"{cid}.npy"
    try:
        a = np.load(p, allow_pickle=False)
        if kind == "new_joint_vecs":
            a = recover_joints(a)
    except (OSError, ValueError) as exc:  # not an .npy of numbers, or not 263 features (e.g. KIT-ML's 251)
        raise ConfigError(f"{p}: cannot read its motion: {exc}") from None
    return _check(np.asarray(a), str(p))


def motion_folder(path: str | Path) -> tuple[Path, str] | None:
    """(folder with the .npy clips, 'new_joints' | 'new_joint_vecs' | 'joints') of a metrics PATH, None if none."""
    p = Path(path)
    for base in (p, p / "HumanML3D"):
        for kind in ("new_joints", "new_joint_vecs"):
            if (base / kind).is_dir() and any((base / kind).glob("*.npy")):
                return base / kind, kind
    if p.is_dir() and any(p.glob("*.npy")):
        return p, "joints"
    return None


def folder_groups(path: str | Path, lengths: dict[str, int] | None = None) -> tuple[list[Group], str]:
    """The groups of a HumanML3D-format folder or a folder of joint files, and a line saying what was read."""
    found = motion_folder(path)
    if found is None:
        raise ConfigError(f"{path}: no motion found (want new_joints/*.npy, new_joint_vecs/*.npy or (T, 22, 3) *.npy "
                          "files, or a store with --sql)")
    folder, kind = found
    lengths = lengths or {}
    have = sorted(q.stem for q in folder.glob("*.npy"))
    lists = {s: folder.parent / f"{s}.txt" for s in SPLIT_FILES} if kind != "joints" else {}
    lists = {s: f for s, f in lists.items() if f.is_file()}
    if lists:
        members = {s: [x.strip() for x in f.read_text().splitlines() if x.strip()] for s, f in lists.items()}
    else:
        members = {"all": have}
    present = set(have)
    groups = []
    for name, ids in members.items():
        g = Group(name)
        for cid in ids:
            if cid not in present:
                continue
            j = _load_clip(folder, cid, kind)
            g.ids.append(cid)
            g.joints.append(j)
            g.lengths.append(min(lengths.get(cid, j.shape[0]), j.shape[0]))
        groups.append(g)
    what = {"new_joints": "HumanML3D new_joints", "new_joint_vecs": "HumanML3D new_joint_vecs (recover_joints)",
            "joints": "(T, 22, 3) joint files"}[kind]
    return groups, f"{folder} ({what}; Y-up metres, 20 fps as given)"


def store_groups(store, sql: str | Path) -> tuple[list[Group], str]:
    """The ground truth of a store split: each split row's body joints in HumanML3D's frame at 20 fps."""
    st = store if isinstance(store, Store) else open_store(store)
    con = connect(st)
    try:
        table = materialize(con, Definition(name="metrics", sql=str(sql)))
        frame, store_names = st.info.frame, list(st.info.joint_names)
        names = SKELETONS["smpl"][0][:NUM_JOINTS]
        if any(n not in store_names for n in names):
            raise ConfigError(f"metrics: the store's joint set {st.info.joint_set} lacks SMPL's 22 body joints")
        cols = np.array([[3 * store_names.index(n) + k for k in range(3)] for n in names]).reshape(-1)
        groups: dict[str, Group] = {}
        rows = table.rows.to_pylist()
        for r in rows:
            got = con.execute(
                f"SELECT {FRM.t}, {FRM.joints} FROM frames WHERE {FRM.seq_id} = ? AND {FRM.frame} >= ? AND {FRM.frame} < ? "
                f"ORDER BY {FRM.frame}", [r[SPL.seq_id], r[SPL.start_frame], r[SPL.end_frame]]).fetchall()
            if len(got) < 2:
                continue
            t = np.array([g[0] for g in got], np.float64)
            j = np.array([g[1] for g in got], np.float64)[:, cols].reshape(-1, NUM_JOINTS, 3)
            j = from_amass(j) if frame == "z_up" else j * np.array([-1.0, 1.0, -1.0])
            j = at_20fps(j, t).astype(np.float32)
            g = groups.setdefault(r[SPL.split], Group(r[SPL.split]))
            g.ids.append(f"{r[SPL.seq_id]}@{r[SPL.start_t]:.3f}")
            g.joints.append(j)
            g.lengths.append(j.shape[0])
    finally:
        con.close()
    order = [s for s in ("train", "validation", "val", "test") if s in groups] + sorted(set(groups) - {"train", "validation", "val", "test"})
    return [groups[s] for s in order], (f"store {store} split {sql} (ground truth: the store's joints in HumanML3D's "
                                        "Y-up frame, (x, y, z) -> (-x, z, y), linearly resampled to 20 fps)")
