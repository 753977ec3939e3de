"""A synthetic AMASS-like archive: every file variant, frame-rate quirk and folder name the reader must handle.

Layout: `<out>/<dataset>/<subject>/<name>_poses.npz` (SMPL+H G, SMPL) or `..._stageii.npz` (SMPL-X),
plus `<subject>/shape.npz` (betas + gender only). Files are written uncompressed with np.savez, like
AMASS's own. Each written motion is returned as a SyntheticFile holding its ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amass_arrow.motion.bodymodel import BodyModel, BodyModelRegistry
from amass_arrow.schema import NPZ, NPZ_SHAPE_FILE

from .bodymodels import NOTICE, make_body_model_arrays
from .motion import KINDS, make_motion

VARIANTS = ("smplh_g", "smplx_stageii", "smplx_split_only", "smpl", "smplx_old165")
VARIANT_MODEL = {"smplh_g": "smplh", "smplx_stageii": "smplx", "smplx_split_only": "smplx",
                 "smpl": "smpl", "smplx_old165": "smplx"}
GENDER_ENCODINGS = ("str", "bytes", "array1")  # 0-d '<U', 0-d '|S', shape-(1,) '<U'


@dataclass(frozen=True)
class DatasetSpec:
    """One synthetic source dataset: its folder name, file variant, frame rate and subjects."""

    name: str
    variant: str
    fps: float
    subjects: tuple[str, ...]
    seq_names: tuple[str, ...]  # '{i}' is replaced by a running number
    genders: tuple[str, ...] = ("male", "female")
    num_betas: int = 16


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("CMU", "smplh_g", 120.0, ("01", "02"), ("{s}_{i:02d}",)),
    DatasetSpec("KIT", "smplh_g", 100.0, ("3", "167"), ("walking_medium{i:02d}",)),
    DatasetSpec("BMLmovi", "smplh_g", 120.0, ("Subject_1_F_MoSh",), ("Subject_1_F_{i}",)),
    DatasetSpec("ACCAD", "smplh_g", 120.0, ("Female1General_c3d",), ("A{i} - Stand",)),
    DatasetSpec("HumanEva", "smplh_g", 120.0, ("S1",), ("Walking_{i}",)),
    DatasetSpec("MPI_HDM05", "smplh_g", 120.0, ("bk",), ("HDM_bk_01-0{i}_01_120",)),
    DatasetSpec("SFU", "smplh_g", 120.0, ("0005",), ("0005_Walking00{i}",)),
    DatasetSpec("MPI_mosh", "smplh_g", 100.0, ("00008",), ("simple_crawl_{i}",)),
    DatasetSpec("Transitions_mocap", "smplh_g", 120.0, ("mazen_c3d",), ("airkick_stand_{i}",)),
    DatasetSpec("SSM_synced", "smplh_g", 120.0, ("20160330_03333",), ("punch_kick_sync_{i}",)),
    DatasetSpec("BioMotionLab_NTroje", "smplh_g", 120.00004578, ("rub001",), ("00{i:02d}_treadmill_norm",)),
    DatasetSpec("DanceDB", "smplh_g", 250.0, ("20120731_StefanosTheodorou",), ("Stefanos_1os_antrikos_{i}",)),
    DatasetSpec("HDM05", "smplx_stageii", 120.0, ("dg",), ("HDM_dg_03-0{i}_01_120",)),
    DatasetSpec("Transitions", "smplx_stageii", 120.0, ("mazen_c3d",), ("jumpingjacks_{i}",)),
    DatasetSpec("MoSh", "smplx_stageii", 59.99, ("50002",), ("running_on_spot_{i}",), ("neutral",), 300),
    DatasetSpec("SSM", "smplx_stageii", 120.0, ("20161014_50033",), ("sync_{i}",), ("neutral",), 300),
    DatasetSpec("GRAB", "smplx_split_only", 120.0, ("s1", "s2"), ("airplane_fly_{i}",), ("male", "female"), 16),
    DatasetSpec("TotalCapture", "smpl", 60.0, ("s1",), ("walking{i}",), ("male", "female"), 10),
    DatasetSpec("CNRS", "smplx_old165", 59.99, ("283",), ("SW_B_{i}",), ("male",), 16),
)


@dataclass
class SyntheticFile:
    """Ground truth for one written motion file (contacts at the source fps: left, right foot)."""

    path: Path
    rel_path: str  # '/'-separated, relative to the archive root
    seq_id: str  # rel_path without extension and _poses/_stageii suffix
    variant: str
    dataset: str
    subject: str
    name: str
    fps: float
    fps_key: str
    gender: str  # normalized: male | female | neutral
    gender_encoding: str  # str | bytes | array1
    num_betas: int
    surface_model: str
    num_frames: int
    motion: str
    contacts: np.ndarray  # (T, 2) bool
    arrays: dict[str, np.ndarray] | None = field(default=None, repr=False)  # numeric arrays written


def _encode_gender(gender: str, encoding: str) -> np.ndarray:
    if encoding == "bytes":
        return np.array(gender.encode())
    if encoding == "array1":
        return np.array([gender])
    return np.array(gender)


class _Subjects:
    """Per-subject betas and gender, and the synthetic body models their motions are generated with."""

    def __init__(self, seed: int, registry: BodyModelRegistry | None):
        self.seed = seed
        self.registry = registry
        self.models: dict[tuple[str, str], BodyModel] = {}

    def body_model(self, surface_model: str, gender: str) -> BodyModel:
        key = (surface_model, gender)
        if key not in self.models:
            if self.registry is not None:
                self.models[key] = self.registry.get(surface_model, gender)
            else:
                a = make_body_model_arrays(surface_model, gender, seed=self.seed)
                parents = a["kintree_table"][0].astype(np.int64)
                parents[0] = -1
                self.models[key] = BodyModel(surface_model, gender, f"<synthetic {surface_model} {gender}>",
                                             a["v_template"], a["shapedirs"], a["J_regressor"], parents)
        return self.models[key]


def make_archive(
    out_dir: str | Path,
    *,
    seed: int = 0,
    scale: float = 1.0,
    target_frames: int | None = None,
    body_models_dir: str | Path | None = None,
    keep_arrays: bool | None = None,
) -> list[SyntheticFile]:
    """Write a synthetic AMASS archive under `out_dir`; returns one SyntheticFile per motion file.

    scale multiplies sequences per subject (default: ~40 files of 2-6 s). target_frames=N instead
    writes about N source frames by adding longer sequences (benchmarks). Motions are generated
    with the body models in `body_models_dir` (else the same synthetic models, built in memory, that
    make_body_models(seed) writes). keep_arrays (default: only without target_frames) keeps the
    written arrays on each SyntheticFile.
    """
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    registry = BodyModelRegistry(body_models_dir) if body_models_dir is not None else None
    subjects = _Subjects(seed, registry)
    keep = target_frames is None if keep_arrays is None else keep_arrays
    per_subject = max(1, round(2 * scale))
    seconds_range = (2.0, 6.0)
    if target_frames is not None:
        base_fps = np.mean([spec.fps for spec in DATASETS])
        n_subj = sum(len(spec.subjects) for spec in DATASETS)
        seconds_range = (20.0, 60.0)
        per_subject = max(1, math.ceil(target_frames / (n_subj * base_fps * np.mean(seconds_range))))
    files: list[SyntheticFile] = []
    counter = 0
    total = 0
    for spec in DATASETS:
        for s_index, subject in enumerate(spec.subjects):
            gender = spec.genders[s_index % len(spec.genders)]
            betas = rng.normal(0.0, 1.0, spec.num_betas).astype(np.float64)
            betas[10:] *= 0.3
            subj_dir = out / spec.name / subject
            subj_dir.mkdir(parents=True, exist_ok=True)
            np.savez(subj_dir / NPZ_SHAPE_FILE, **{NPZ.betas: betas, NPZ.gender: np.array(gender)})
            for i in range(1, per_subject + 1):
                if target_frames is not None and total >= target_frames:
                    break
                name = spec.seq_names[0].format(i=i, s=subject)
                kind = KINDS[counter % len(KINDS)]
                seconds = float(rng.uniform(*seconds_range))
                encoding = GENDER_ENCODINGS[counter % len(GENDER_ENCODINGS)]
                f = _write_file(out, spec, subject, name, kind, gender, encoding, betas, seconds,
                                seed * 100003 + counter, subjects, rng)
                if not keep:
                    f.arrays = None
                files.append(f)
                counter += 1
                total += f.num_frames
    return files


def _write_file(out: Path, spec: DatasetSpec, subject: str, name: str, kind: str, gender: str, encoding: str,
                betas: np.ndarray, seconds: float, motion_seed: int, subjects: _Subjects,
                rng: np.random.Generator) -> SyntheticFile:
    model = VARIANT_MODEL[spec.variant]
    bm = subjects.body_model(model, gender)
    m = make_motion(kind, bm, betas, fps=spec.fps, seconds=seconds, seed=motion_seed)
    T = m.num_frames
    hand_curl = np.tile(rng.uniform(0.0, 0.3, 90), (T, 1))
    hands = (hand_curl + 0.05 * np.sin(np.arange(T)[:, None] / spec.fps * 2.0 + np.arange(90))).astype(np.float32)
    jaw = np.zeros((T, 3), np.float32)
    jaw[:, 0] = 0.05 + 0.05 * np.sin(np.arange(T) / spec.fps * 3.0)
    eyes = np.tile(rng.uniform(-0.05, 0.05, 6), (T, 1)).astype(np.float32)
    betas32 = betas.astype(np.float64)  # AMASS stores float64 betas
    g = _encode_gender(gender, encoding if spec.variant == "smplh_g" else "str")
    arrays: dict[str, np.ndarray] = {}
    objects: dict[str, np.ndarray] = {}
    if spec.variant == "smplh_g":
        suffix, fps_key = "_poses", NPZ.mocap_framerate
        arrays[NPZ.poses] = np.concatenate([m.root_orient, m.pose_body, hands], 1).astype(np.float64)
        arrays[NPZ.trans] = m.trans.astype(np.float64)
        arrays[NPZ.betas] = betas32
        arrays[NPZ.gender] = g
        arrays[fps_key] = np.array(spec.fps)
        dmpls = rng.normal(0.0, 0.3, (T, 8)) if rng.uniform() < 0.5 else np.zeros((T, 8))
        arrays[NPZ.dmpls] = dmpls
    elif spec.variant == "smpl":
        suffix, fps_key = "_poses", NPZ.mocap_framerate
        smpl_hands = np.zeros((T, 6), np.float32)
        arrays[NPZ.poses] = np.concatenate([m.root_orient, m.pose_body, smpl_hands], 1).astype(np.float64)
        arrays[NPZ.trans] = m.trans.astype(np.float64)
        arrays[NPZ.betas] = betas32
        arrays[NPZ.gender] = g
        arrays[fps_key] = np.array(spec.fps)
    else:
        suffix, fps_key = "_stageii", NPZ.mocap_frame_rate
        poses = np.concatenate([m.root_orient, m.pose_body, jaw, eyes, hands], 1).astype(np.float64)
        if spec.variant == "smplx_old165":
            arrays[NPZ.poses] = poses
            arrays[NPZ.trans] = m.trans.astype(np.float64)
            arrays[NPZ.betas] = betas32
            arrays[NPZ.gender] = g
            arrays[fps_key] = np.array(spec.fps)
        else:
            if spec.variant == "smplx_stageii":
                arrays[NPZ.poses] = poses
            arrays.update({
                NPZ.root_orient: poses[:, :3], NPZ.pose_body: poses[:, 3:66], NPZ.pose_jaw: poses[:, 66:69],
                NPZ.pose_eye: poses[:, 69:75], NPZ.pose_hand: poses[:, 75:165], NPZ.trans: m.trans.astype(np.float64),
                NPZ.betas: betas32, NPZ.num_betas: np.array(len(betas)), NPZ.gender: g,
                NPZ.surface_model_type: np.array("smplx"), NPZ.mocap_time_length: np.array((T - 1) / spec.fps),
            })
            arrays[fps_key] = np.array(spec.fps)
            arrays[NPZ.markers_latent] = rng.normal(0.0, 0.5, (53, 3))
            objects[NPZ.latent_labels] = np.array([f"M{k:02d}" for k in range(53)], dtype=object)
            objects[NPZ.stageii_debug_details] = np.array(
                {"notice": NOTICE, "stageii_errs": {"data": [0.0]}, "num_frames": T}, dtype=object)
    rel = f"{spec.name}/{subject}/{name}{suffix}.npz"
    path = out / rel
    np.savez(path, **arrays, **objects, __synthetic__=np.array(NOTICE))
    return SyntheticFile(
        path=path, rel_path=rel, seq_id=f"{spec.name}/{subject}/{name}", variant=spec.variant, dataset=spec.name,
        subject=subject, name=name, fps=spec.fps, fps_key=fps_key, gender=gender,
        gender_encoding=encoding if spec.variant == "smplh_g" else "str", num_betas=len(betas),
        surface_model=VARIANT_MODEL[spec.variant], num_frames=T, motion=kind, contacts=m.contacts, arrays=arrays,
    )
