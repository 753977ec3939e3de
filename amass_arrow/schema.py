"""The store's contract: format version, paths, Arrow schemas, pose layouts and joint sets.

Every reader and writer imports names from here; no other module spells a column name or a
store path. Frames are Z-up metres unless `info.json` says `frame: "y_up"`.

Store layout (relative to the store root)::

    meta/info.json                         manifest (amass_arrow.store.manifest.Manifest)
    sequences.parquet                      one row per sequence
    frames/dataset=<D>/subject=<S>/part-<hash>.parquet   one row per frame (hive, keys percent-encoded)
    rejects.parquet                        inputs that were not converted, with reasons
    labels/<source>.parquet                optional label tables
    labels/unmatched/<source>.parquet      what each label import could not place (outside the labels glob)
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator

import pyarrow as pa

#: bumped whenever the store contract changes (a column, a path, a meaning). 2: sequences gained the orientation
#: evidence and quality-metric columns; info.json records absolute body-model paths. Older stores are
#: refused with the command that rebuilds them (manifest.Manifest.from_dict).
FORMAT_VERSION = 2

# ---------------------------------------------------------------- paths
INFO_PATH = "meta/info.json"
SEQUENCES_PATH = "sequences.parquet"
REJECTS_PATH = "rejects.parquet"
FRAMES_DIR = "frames"
LABELS_DIR = "labels"
LOCK_PATH = "meta/.lock"
FRAMES_GLOB = f"{FRAMES_DIR}/**/*.parquet"
LABELS_GLOB = f"{LABELS_DIR}/*.parquet"
PART_TEMPLATE = "part-{key}.parquet"
HIVE_KEYS = ("dataset", "subject")


LABELS_UNMATCHED_DIR = f"{LABELS_DIR}/unmatched"  # a sub-folder: LABELS_GLOB never picks these up


def labels_path(source: str) -> str:
    """Relative path of label source `source`'s segments (LABEL_SEGMENT_SCHEMA)."""
    return f"{LABELS_DIR}/{source}.parquet"


def unmatched_path(source: str) -> str:
    """Relative path of what label source `source`'s import could not place (LABEL_UNMATCHED_SCHEMA)."""
    return f"{LABELS_UNMATCHED_DIR}/{source}.parquet"


def partition_dir(dataset: str, subject: str) -> str:
    """Relative directory of one (dataset, subject) partition; values are percent-encoded.

    DuckDB and polars decode them back, so names with spaces, '=', '%', '/' or '..' round-trip
    and never escape the store tree.
    """
    d = urllib.parse.quote(dataset, safe="")
    s = urllib.parse.quote(subject, safe="")
    return f"{FRAMES_DIR}/dataset={d}/subject={s}"


# ---------------------------------------------------------------- pose layout
# Widths of the SMPL-family parameter blocks (axis-angle, radians; trans in metres).
ROOT = 3
BODY = 63  # 21 body joints
HAND = 90  # 2 x 15 MANO joints (absolute, not PCA)
JAW = 3
EYE = 6
SMPL_HANDS = 6  # SMPL's two leaf 'hand' joints (22, 23)
TRANS = 3

SURFACE_MODELS = ("smpl", "smplh", "smplx")
#: coordinate frames a store's joints and trans may be in (info.json `frame`; config.MotionConfig.frame picks one)
FRAMES = ("z_up", "y_up")
GENDERS = ("male", "female", "neutral")

# ---------------------------------------------------------------- skeletons
_BODY_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
]
_BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]
_FINGERS = ["index", "middle", "pinky", "ring", "thumb"]


def _hand(side: str, wrist: int, first: int) -> tuple[list[str], list[int]]:
    names, parents = [], []
    for f in _FINGERS:
        for k in (1, 2, 3):
            names.append(f"{side}_{f}{k}")
            parents.append(wrist if k == 1 else first + len(parents) - 1)
    return names, parents


def _skeletons() -> dict[str, tuple[list[str], list[int]]]:
    smpl = (_BODY_NAMES + ["left_hand", "right_hand"], _BODY_PARENTS + [20, 21])
    lh, lhp = _hand("left", 20, 22)
    rh, rhp = _hand("right", 21, 37)
    smplh = (_BODY_NAMES + lh + rh, _BODY_PARENTS + lhp + rhp)
    lx, lxp = _hand("left", 20, 25)
    rx, rxp = _hand("right", 21, 40)
    smplx = (
        _BODY_NAMES + ["jaw", "left_eye_smplhf", "right_eye_smplhf"] + lx + rx,
        _BODY_PARENTS + [15, 15, 15] + lxp + rxp,
    )
    return {"smpl": smpl, "smplh": smplh, "smplx": smplx}


#: surface model -> (joint names, parent indices); the model files' kinematic trees.
SKELETONS: dict[str, tuple[list[str], list[int]]] = _skeletons()

#: named joint sets a store can hold; each a list of joint names.
JOINT_SETS: dict[str, list[str]] = {
    "body22": list(_BODY_NAMES),
    "smpl24": SKELETONS["smpl"][0],
    "smplh52": SKELETONS["smplh"][0],
    "smplx55": SKELETONS["smplx"][0],
}
#: `--joints skeleton` resolves to the single surface model's own set.
SKELETON_SET = {"smpl": "smpl24", "smplh": "smplh52", "smplx": "smplx55"}

FOOT_JOINTS = {
    "left_ankle": "left_ankle",
    "right_ankle": "right_ankle",
    "left_toe": "left_foot",  # SMPL's 'foot' joint sits at the toe base
    "right_toe": "right_foot",
}


def joint_indices(joint_set: str, surface_model: str) -> list[int] | None:
    """Indices of `joint_set`'s joints in `surface_model`'s skeleton, or None if it lacks one."""
    names = SKELETONS[surface_model][0]
    pos = {n: i for i, n in enumerate(names)}
    try:
        return [pos[n] for n in JOINT_SETS[joint_set]]
    except KeyError:
        return None


# ---------------------------------------------------------------- frame columns
SEQ_ID = "seq_id"
FRAME = "frame"
T = "t"
ROOT_ORIENT_COLUMN = "root_orient"  # axis-angle (3,), radians, in the store frame
TRANS_COLUMN = "trans"  # (3,) metres, in the store frame, floor-fixed
POSE_COLUMNS = {  # column -> width; None-able columns are null where the model lacks them
    "root_orient": ROOT,
    "pose_body": BODY,
    "pose_hand": HAND,
    "pose_jaw": JAW,
    "pose_eye": EYE,
    "pose_smpl_hands": SMPL_HANDS,
    "trans": TRANS,
}
NULLABLE_POSE = {"pose_hand", "pose_jaw", "pose_eye", "pose_smpl_hands"}
JOINTS = "joints"  # flat J*3 float32, joint-major (x, y, z per joint), metres
JOINT_VEL = "joint_vel"  # optional, flat J*3 float32, m/s
CONTACT_COLUMNS = [
    "left_ankle_contact",
    "right_ankle_contact",
    "left_toe_contact",
    "right_toe_contact",
    "left_foot_contact",  # ankle or toe
    "right_foot_contact",
]
#: contact column of each foot joint (keys of FOOT_JOINTS) and of each whole foot (its ankle or its toe)
CONTACT_COLUMN = {k: f"{k}_contact" for k in FOOT_JOINTS}
FOOT_CONTACT_COLUMN = {side: f"{side}_foot_contact" for side in ("left", "right")}
assert sorted(CONTACT_COLUMNS) == sorted([*CONTACT_COLUMN.values(), *FOOT_CONTACT_COLUMN.values()])


#: Parquet encoding of the frame files; hashed into the build's settings key so parts written with
#: another encoding are rewritten, not mixed in. Measured (bench notes in README, 1M source frames):
#: pyarrow writes a FixedSizeList as a 3-level LIST (a repetition level per value) either way; the
#: element is declared non-null (no definition level per value), floats are BYTE_STREAM_SPLIT
#: (-20% bytes at equal CPU) and statistics are kept only on the scalar columns (filters use them;
#: min/max of pose floats cost ~10% of the write and never prune). One flat float column per value
#: (~240 columns) would drop the levels but costs more per per-sequence part file than it saves.
FRAME_ENCODING = 2
FSL_ELEMENT = "element"


def fsl(width: int) -> pa.DataType:
    """FixedSizeList<float32 not null>[width]: the type of every array column of the frames."""
    return pa.list_(pa.field(FSL_ELEMENT, pa.float32(), nullable=False), width)


def frame_schema(num_joints: int, joint_velocities: bool = False) -> pa.Schema:
    """Schema of one frame row (hive keys dataset/subject come from the path, not the file)."""
    fields = [
        pa.field(SEQ_ID, pa.string(), nullable=False),
        pa.field(FRAME, pa.int32(), nullable=False),
        pa.field(T, pa.float32(), nullable=False),
    ]
    for name, width in POSE_COLUMNS.items():
        fields.append(pa.field(name, fsl(width), nullable=name in NULLABLE_POSE))
    fields.append(pa.field(JOINTS, fsl(3 * num_joints), nullable=False))
    if joint_velocities:
        fields.append(pa.field(JOINT_VEL, fsl(3 * num_joints), nullable=False))
    for c in CONTACT_COLUMNS:
        fields.append(pa.field(c, pa.bool_(), nullable=False))
    return pa.schema(fields)


def frame_table(columns: dict[str, pa.Array], num_rows: int, num_joints: int, joint_velocities: bool = False) -> pa.Table:
    """Assemble one sequence's frame rows BY NAME into `frame_schema` order.

    `columns`: column name -> array of `num_rows` rows (any order). A nullable pose column that is
    absent becomes all-null; an unknown or missing name, or a wrong length, raises ValueError.
    """
    sch = frame_schema(num_joints, joint_velocities)
    unknown = sorted(set(columns) - set(sch.names))
    if unknown:
        raise ValueError(f"frame columns not in the frame schema: {', '.join(unknown)}")
    arrays = []
    for f in sch:
        a = columns.get(f.name)
        if a is None:
            if f.name not in NULLABLE_POSE:
                raise ValueError(f"frame column {f.name!r} is missing")
            a = pa.nulls(num_rows, f.type)
        if len(a) != num_rows:
            raise ValueError(f"frame column {f.name!r} has {len(a)} rows, expected {num_rows}")
        arrays.append(a)
    return pa.Table.from_arrays(arrays, schema=sch)


# ---------------------------------------------------------------- exported features
#: the exported feature that stacks the contact flags (CONTACT_COLUMNS order) into one bool vector
CONTACTS_FEATURE = "contacts"
#: exported feature name -> (dtype, width or None = 3 x the store's joints): the frame schema's array columns
#: (float32, widths of POSE_COLUMNS), plus CONTACTS_FEATURE; the HF `datasets` features and torch tensors follow it
FEATURES: dict[str, tuple[str, int | None]] = {
    **{c: ("float32", w) for c, w in POSE_COLUMNS.items()},
    JOINTS: ("float32", None),
    JOINT_VEL: ("float32", None),
    CONTACTS_FEATURE: ("bool", len(CONTACT_COLUMNS)),
}


def frame_write_options(frame: pa.Schema) -> dict:
    """`pyarrow.parquet.write_table` keyword arguments for a frame file (see FRAME_ENCODING)."""
    arrays = [f.name for f in frame if pa.types.is_fixed_size_list(f.type)]
    scalars = [f.name for f in frame if not pa.types.is_fixed_size_list(f.type)]
    return {
        "compression": "zstd",
        "row_group_size": 64 * 1024,
        "use_dictionary": [SEQ_ID],  # on floats dictionaries never pay (6x the write time, 1.6x the bytes)
        "use_byte_stream_split": [f"{n}.list.{FSL_ELEMENT}" for n in arrays],
        "write_statistics": scalars,
    }


# ---------------------------------------------------------------- sequence rows
#: per-sequence quality metrics (float32 columns of `sequences`) -> unit and meaning (amass_arrow.motion.quality)
QUALITY_COLUMNS: dict[str, str] = {
    "foot_skating": "m/s: mean horizontal speed of foot joints while in contact",
    "floor_penetration": "m: deepest the sole goes under the floor",
    "peak_joint_speed": "m/s: largest speed of any joint on any frame",
    "jitter": "m/s^3: mean jerk magnitude over joints and frames",
    "contact_coverage": "fraction of frames with a foot joint in contact",
    "airborne_fraction": "fraction of frames with every foot joint above its local floor by the airborne height",
}
#: per-sequence paper metrics (float32 columns of `sequences`), computed with the papers' exact definitions
#: (amass_arrow.motion.paper_metrics) so SQL can filter by the number a paper reports; never flagged
PAPER_METRIC_COLUMNS: dict[str, str] = {
    "skating_ratio_gmd": "fraction of 20 fps steps with a skating toe (GMD calculate_skating_ratio; Y-up, 5 cm, 0.5 m/s)",
}
ORIENTATION_COLUMNS = ("source_frame", "source_frame_mode", "spine_up_z", "spine_up_y", "upright_fraction",
                       "source_frame_reason")
QUALITY_FLAGS = "quality_flags"
SEQUENCE_SCHEMA = pa.schema(
    [
        pa.field("seq_id", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),  # folder name as found
        pa.field("canonical_dataset", pa.string(), nullable=False),  # SMPL+H-era name (HDM05 -> MPI_HDM05)
        pa.field("subject", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),  # relative to the AMASS root
        pa.field("content_hash", pa.string(), nullable=False),  # read.source_fingerprint: zip members' CRC-32s
        pa.field("file_size", pa.int64(), nullable=False),
        pa.field("file_mtime_ns", pa.int64(), nullable=False),
        pa.field("surface_model", pa.string(), nullable=False),
        pa.field("gender", pa.string(), nullable=False),  # as written in the file
        pa.field("model_gender", pa.string(), nullable=False),  # body model actually used
        pa.field("betas", pa.list_(pa.float32()), nullable=False),
        pa.field("num_betas", pa.int16(), nullable=False),
        pa.field("source_fps", pa.float64(), nullable=False),  # fps used (after any override)
        pa.field("fps_key", pa.string(), nullable=False),  # npz key it came from
        pa.field("fps_in_file", pa.float64(), nullable=True),
        pa.field("fps_override_reason", pa.string(), nullable=True),
        pa.field("source_frames", pa.int32(), nullable=False),
        pa.field("store_fps", pa.float64(), nullable=False),
        pa.field("resample_mode", pa.string(), nullable=False),
        pa.field("num_frames", pa.int32(), nullable=False),
        pa.field("duration", pa.float64(), nullable=False),  # seconds, duration_seconds(): num_frames / store_fps
        pa.field("floor_height", pa.float32(), nullable=False),  # metres removed from z (or y)
        pa.field("has_dmpls", pa.bool_(), nullable=False),
        # orientation (amass_arrow.motion.orientation): how the file was read, and the evidence
        pa.field("source_frame", pa.string(), nullable=True),  # z_up | y_up (y_up files were stood upright)
        pa.field("source_frame_mode", pa.string(), nullable=True),  # auto | z_up | y_up (the config rule)
        pa.field("spine_up_z", pa.float32(), nullable=True),  # fraction of sampled frames, pelvis->neck within 45 deg of +Z
        pa.field("spine_up_y", pa.float32(), nullable=True),  # ... of +Y (file coordinates)
        pa.field("upright_fraction", pa.float32(), nullable=True),  # the same for the decided up axis
        pa.field("source_frame_reason", pa.string(), nullable=True),
        # quality metrics (amass_arrow.motion.quality), at the store rate, Z-up after the floor fix; null = nothing to measure
        *[pa.field(name, pa.float32(), nullable=True) for name in QUALITY_COLUMNS],
        *[pa.field(name, pa.float32(), nullable=True) for name in PAPER_METRIC_COLUMNS],
        pa.field("quality_flags", pa.list_(pa.string()), nullable=False),  # each flag once
        pa.field("part", pa.string(), nullable=False),  # frames file holding this sequence, store-relative
    ]
)

# ---------------------------------------------------------------- time and identity (the one convention)
# Frame k of a sequence at `fps` covers [k/fps, (k+1)/fps) seconds, so T frames last T/fps seconds
# (half-open: a 2 s window at 30 fps holds exactly 60 frames) and a range [start_t, end_t) holds frames
# ceil(start_t*fps) .. ceil(end_t*fps)-1. Every duration (sequences.duration, the SQL slices, label
# lengths) is this one; frame timestamps (column `t`) are k/fps, so the last frame sits at (T-1)/fps.
def duration_seconds(num_frames: int, fps: float) -> float:
    """Seconds covered by `num_frames` frames at `fps` Hz: num_frames / fps (0.0 for no frames)."""
    return float(num_frames) / float(fps) if num_frames else 0.0


#: the same, as SQL over `sequences` columns (the `sequences` view's `duration` is this expression)
DURATION_SQL = "num_frames / store_fps"

#: A take: one recorded motion, whatever download and file variant holds it. `MPI_HDM05/bk/01_poses.npz`
#: (SMPL+H) and `HDM05/bk/01_stageii.npz` (SMPL-X) are one take, canonical_dataset/subject/name
#: = 'MPI_HDM05/bk/01'. Leakage checks compare takes, not seq_ids; the `sequences` view has it as `take`.
TAKE = "take"
TAKE_SQL = "canonical_dataset || '/' || subject || '/' || name"


REJECT_SCHEMA = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=True),
        pa.field("subject", pa.string(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),  # short code, e.g. "nan_values"
        pa.field("message", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=True),
    ]
)


# ---------------------------------------------------------------- labels (labels/<source>.parquet)
#: One row per labelled time segment, for every source.
LABEL_SEGMENT_SCHEMA = pa.schema(
    [
        pa.field("seq_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),  # babel | humanml3d | filename
        pa.field("start_t", pa.float64(), nullable=False),  # seconds, store time
        pa.field("end_t", pa.float64(), nullable=False),  # seconds, exclusive
        pa.field("raw_label", pa.string(), nullable=True),
        pa.field("proc_label", pa.string(), nullable=True),
        pa.field("act_cat", pa.list_(pa.string()), nullable=False),
        pa.field("text", pa.string(), nullable=True),  # caption (HumanML3D); null for BABEL
        pa.field("tokens", pa.string(), nullable=True),  # the caption's word/POS tokens as the source has them (HumanML3D)
        pa.field("kind", pa.string(), nullable=False),  # sequence | frame | clip
        pa.field("source_split", pa.string(), nullable=True),  # babel: train/val/extra_train/...; humanml3d: train/val/test
        pa.field("annotator", pa.string(), nullable=True),
        pa.field("flags", pa.list_(pa.string()), nullable=False),  # mirrored, clipped, duration_mismatch, ...
        pa.field("source_ref", pa.string(), nullable=False),  # feat_p / new_name / source_path
    ]
)

#: One row per annotation that was not imported (imported=false) or imported with a warning.
LABEL_UNMATCHED_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_ref", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=True),
        pa.field("seq_id", pa.string(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),  # short stable code
        pa.field("message", pa.string(), nullable=False),
        pa.field("imported", pa.bool_(), nullable=False),
    ]
)


# ---------------------------------------------------------------- names by attribute
class Columns:
    """The column names of one table as attributes: `SEQ.source_path == "source_path"`.

    Modules spell a column as `schema.SEQ.source_path` (sequences), `schema.FRM.joints` (frames),
    `schema.REJ.reason`, `schema.LAB.start_t`, `schema.UNM.imported`, never as a string literal, so a
    renamed or misspelt column fails where it is used (AttributeError naming the table), not as a
    silently missing key. Iterating gives the names in schema order.
    """

    def __init__(self, table: str, names: Iterable[str]):
        self._table = table
        self._names = tuple(dict.fromkeys(names))
        for n in self._names:
            object.__setattr__(self, n, n)

    def __getattr__(self, attr: str) -> str:  # only reached for names that are not columns
        raise AttributeError(f"the {self._table} table has no column {attr!r} (columns: {', '.join(self._names)})")

    def __setattr__(self, attr: str, value) -> None:
        if attr.startswith("_"):
            object.__setattr__(self, attr, value)
        else:
            raise AttributeError(f"{self._table} column names are fixed by amass_arrow.schema")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"Columns({self._table!r}, {list(self._names)!r})"


#: `sequences` (SEQUENCE_SCHEMA), plus the `take` the `sequences` view adds
SEQ = Columns("sequences", [*SEQUENCE_SCHEMA.names, TAKE])
#: frame rows: frame_schema with joint velocities, plus the hive keys every frames scan carries
FRM = Columns("frames", [*frame_schema(1, joint_velocities=True).names, *HIVE_KEYS])
REJ = Columns("rejects", REJECT_SCHEMA.names)
#: split rows (amass_arrow.query.splits): what a split/slice SQL file yields (SPLIT_INPUT; the last two optional text
#: columns), then what `materialize` adds (row id, frame range at the store fps, the sequence's facts) and what
#: export_plan may add (export_step); `OUT/<definition>/split_rows.parquet` holds them
SPLIT_INPUT = ("seq_id", "split", "start_t", "end_t", "weight", "text", "label")
SPL = Columns("split rows", [*SPLIT_INPUT, "row_id", "dataset", "canonical_dataset", "subject", TAKE, "store_fps",
                             "start_frame", "end_frame", "unknown", "export_step"])
SPLIT_ROWS_FILE = "split_rows.parquet"
LAB = Columns("label segments", LABEL_SEGMENT_SCHEMA.names)
UNM = Columns("label unmatched", LABEL_UNMATCHED_SCHEMA.names)


# ---------------------------------------------------------------- AMASS input keys (not store columns)
#: Array names inside an AMASS motion `.npz` (and the subject's `shape.npz`), read by `read.py` and written
#: by the synthetic archive (`synthetic/`), so the reader and the files it is tested on spell them once.
#: Layouts (docs/architecture.md): SMPL+H G `poses` (T,156), SMPL-X stage-ii `poses` (T,165) plus the
#: split keys `root_orient`..`pose_hand` and `surface_model_type`; `mocap_framerate` (SMPL+H) vs
#: `mocap_frame_rate` (SMPL-X). Some split keys share a frame column's name; they are still input keys.
NPZ = Columns("AMASS .npz", [
    "poses", "trans", "betas", "num_betas", "gender", "dmpls", "surface_model_type",
    "mocap_framerate", "mocap_frame_rate", "mocap_time_length",
    "root_orient", "pose_body", "pose_hand", "pose_jaw", "pose_eye",
    "markers_latent", "latent_labels", "stageii_debug_details",
])
#: the per-subject file holding `betas` and `gender` only (never a motion)
NPZ_SHAPE_FILE = "shape.npz"
#: frame-rate keys, in the order a reader tries them
NPZ_FPS_KEYS = (NPZ.mocap_framerate, NPZ.mocap_frame_rate)


# ---------------------------------------------------------------- annotation input keys (not store columns)
#: keys of a BABEL release json entry, its annotations and their labels (read by labels/babel.py, written by
#: synthetic/annotations.py); `start_t`/`end_t` are BABEL's seconds, not yet the store's LAB.start_t/end_t
BABEL = Columns("BABEL json", [
    "babel_sid", "url", "feat_p", "dur", "seq_ann", "frame_ann", "seq_anns", "frame_anns",
    "babel_lid", "anntr_id", "labels", "raw_label", "proc_label", "seg_id", "act_cat", "start_t", "end_t",
])
#: header of HumanML3D's index.csv (read by labels/humanml3d.py, written by synthetic/annotations.py)
HML3D_INDEX = Columns("HumanML3D index.csv", ["source_path", "start_frame", "end_frame", "new_name"])
#: canonical dataset -> seconds HumanML3D cuts off each file's head before slicing index.csv's frames
#: (raw_pose_processing: data[k*fps:]); read by labels/humanml3d.py and export/humanml3d_official.py; the shipped
#: slice sql/slices/trim_heads.sql lists the same seconds (tests/test_defaults.py holds them equal)
HML3D_HEAD_SECONDS = {
    "Eyes_Japan_Dataset": 3.0,
    "MPI_HDM05": 3.0,
    "TotalCapture": 1.0,
    "MPI_Limits": 1.0,
    "Transitions_mocap": 0.5,
}
