"""Walk an AMASS root and list its motion files with dataset, subject and seq_id parsed from paths.

Skips each subject's `shape.npz` and the `*_stagei.npz` files (shape fits, not motions); knows the
SMPL+H <-> SMPL-X folder-name aliases. Symlink loops are visited once; unreadable folders are
reported, never silently dropped.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from amass_arrow.errors import InputError, StoreError
from amass_arrow.io.remote import Tree, is_url
from amass_arrow.schema import NPZ_SHAPE_FILE

MOTION_SUFFIXES = ("_poses", "_stageii")
SKIP_NAMES = {NPZ_SHAPE_FILE}
SKIP_SUFFIXES = ("_stagei.npz",)

#: SMPL+H folder name -> SMPL-X folder name (docs/architecture.md). The SMPL+H name is the canonical one.
SMPLH_TO_SMPLX = {
    "BioMotionLab_NTroje": "BMLrub",
    "DFaust_67": "DFaust",
    "MPI_HDM05": "HDM05",
    "MPI_mosh": "MoSh",
    "MPI_Limits": "PosePrior",
    "SSM_synced": "SSM",
    "TCD_handMocap": "TCDHands",
    "Transitions_mocap": "Transitions",
    "Eyes_Japan_Dataset": "EyesJapanDataset",
}
SMPLX_TO_SMPLH = {v: k for k, v in SMPLH_TO_SMPLX.items()}
SMPLX_ONLY = ("CNRS", "GRAB", "SOMA", "WEIZMANN")
#: AMASS's dataset folders (either download's names): a root whose folders are none of these while their
#: sub-folders are is the folder above the AMASS root (misplaced_root)
KNOWN_DATASETS = frozenset((
    "ACCAD", "BMLhandball", "BMLmovi", "CMU", "DanceDB", "EKUT", "HUMAN4D", "HumanEva", "KIT", "MOYO", "SFU",
    "TotalCapture", *SMPLH_TO_SMPLX, *SMPLX_TO_SMPLH, *SMPLX_ONLY,
))
#: how many folder names a misplaced-root message lists
LIST_NAMES = 5


def canonical_dataset(name: str) -> str:
    """The SMPL+H-era folder name for a dataset folder of either download (HDM05 -> MPI_HDM05)."""
    return SMPLX_TO_SMPLH.get(name, name)


@dataclass(frozen=True)
class SourceFile:
    """One motion file found under the AMASS root."""

    path: Path  # absolute; a str URL for an archive on object storage
    rel: str  # '/'-separated path relative to the root
    dataset: str
    subject: str
    name: str  # file stem without the _poses/_stageii suffix
    seq_id: str  # rel without '.npz' and the suffix, e.g. "CMU/01/01_01"
    size: int
    mtime_ns: int


def seq_id_for(rel: str) -> str:
    """`CMU/01/01_01_poses.npz` -> `CMU/01/01_01`."""
    stem = rel[: -len(".npz")] if rel.endswith(".npz") else rel
    for suffix in MOTION_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def parse_rel(rel: str) -> tuple[str, str, str]:
    """(dataset, subject, name) from a root-relative path; files directly under a dataset get subject '_'."""
    parts = rel.split("/")
    name = seq_id_for(parts[-1])
    if len(parts) == 1:
        return "", "", name
    dataset = parts[0]
    subject = parts[1] if len(parts) >= 3 else "_"
    if len(parts) > 3:  # deeper nesting: keep the inner folders in the name
        name = "/".join(parts[2:-1] + [name])
    return dataset, subject, name


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.walk hands undecodable bytes back as surrogate escapes
        return False
    return True


def printable_path(name: str) -> str:
    """`name` with bytes that are not UTF-8 shown as `\\xff` escapes (a file name the OS gave as surrogates)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_motion_file(filename: str) -> bool:
    return filename.endswith(".npz") and filename not in SKIP_NAMES and not filename.endswith(SKIP_SUFFIXES)


@dataclass
class Discovery:
    files: list[SourceFile]
    problems: list[InputError]  # unreadable folders, duplicate seq_ids, files outside a dataset


def discover(root: str | Path, datasets: list[str] | None = None) -> Discovery:
    """All motion files under `root`, sorted by seq_id; `datasets` (either alias) limits the walk."""
    if is_url(root):  # an archive on object storage (s3://bucket/amass)
        return _dedupe(*_discover_url(root, {canonical_dataset(d) for d in datasets} if datasets else None))
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError(str(root), "no_root", "AMASS root is not a directory")
    wanted = {canonical_dataset(d) for d in datasets} if datasets else None
    files: list[SourceFile] = []
    problems: list[InputError] = []
    seen_dirs: set[tuple[int, int]] = set()

    def onerror(err: OSError) -> None:
        problems.append(InputError(printable_path(str(err.filename or root)), "unreadable", f"cannot list folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        st = os.stat(dirpath)
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # symlink loop or a folder linked twice
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if rel_dir == ".":
            rel_dir = ""
        if wanted is not None and rel_dir:
            top = rel_dir.split("/")[0]
            if canonical_dataset(top) not in wanted:
                dirnames[:] = []
                continue
        for fn in sorted(filenames):
            if not is_motion_file(fn):
                continue
            rel = f"{rel_dir}/{fn}" if rel_dir else fn
            full = Path(dirpath) / fn
            if not _utf8(rel):  # a name the store's string columns cannot hold: reject it, named readably
                problems.append(InputError(printable_path(rel), "bad_filename",
                                           "file or folder name is not valid UTF-8; rename it to convert it"))
                continue
            dataset, subject, name = parse_rel(rel)
            if not dataset:
                problems.append(InputError(rel, "bad_layout", "motion file directly under the root; expected <dataset>/<subject>/<name>.npz"))
                continue
            try:
                fst = full.stat()
            except OSError as exc:
                problems.append(InputError(rel, "unreadable", f"cannot stat: {exc.strerror}"))
                continue
            if not stat.S_ISREG(fst.st_mode):  # a pipe, socket or device would block or fail the header read
                problems.append(InputError(rel, "not_a_file", "not a regular file (a named pipe, socket or device)"))
                continue
            if wanted is not None and canonical_dataset(dataset) not in wanted:
                continue
            files.append(SourceFile(full, rel, dataset, subject, name, seq_id_for(rel), fst.st_size, fst.st_mtime_ns))

    return _dedupe(files, problems)


def _discover_url(url: str, wanted: set[str] | None) -> tuple[list[SourceFile], list[InputError]]:
    base = url.rstrip("/")

    def make(rel: str, size: int, mtime_ns: int) -> SourceFile | InputError:
        dataset, subject, name = parse_rel(rel)
        if not dataset:
            return InputError(rel, "bad_layout", "motion file directly under the root; expected <dataset>/<subject>/<name>.npz")
        return SourceFile(f"{base}/{rel}", rel, dataset, subject, name, seq_id_for(rel), size, mtime_ns)  # path: the URL

    return discover_objects(base, wanted, make)


def _dedupe(files: list[SourceFile], problems: list[InputError]) -> Discovery:
    """Sort by seq_id and keep the first file of each seq_id (the others become problems)."""
    files.sort(key=lambda f: (f.seq_id, f.rel))
    unique: list[SourceFile] = []
    for f in files:
        if unique and unique[-1].seq_id == f.seq_id:
            problems.append(
                InputError(f.rel, "duplicate_seq_id", f"same sequence as {unique[-1].rel} (seq_id {f.seq_id}); keeping the first")
            )
            continue
        unique.append(f)
    return Discovery(unique, problems)


def misplaced_root(root: str | Path, disc: Discovery) -> str | None:
    """A message when `root` looks like the folder above an AMASS root, else None.

    That is: some dataset folders are no known AMASS dataset while their sub-folders (read as subjects) are
    (AMASS_ROOT one level too high turns `smplh2/ACCAD/...` into dataset `smplh2`, subject `ACCAD`).
    """
    subjects: dict[str, set[str]] = {}
    for f in disc.files:
        subjects.setdefault(f.dataset, set()).add(f.subject)
    wrong = {d: sorted(s & KNOWN_DATASETS) for d, s in sorted(subjects.items()) if d not in KNOWN_DATASETS}
    wrong = {d: s for d, s in wrong.items() if s}
    if not wrong:
        return None
    d, inner = next(iter(wrong.items()))
    folders = ", ".join(list(wrong)[:LIST_NAMES]) + (" ..." if len(wrong) > LIST_NAMES else "")
    base = str(root).rstrip("/")
    return (f"{base}: looks like the folder above the AMASS root: its folder(s) {folders} are no AMASS dataset, but "
            f"hold dataset folders ({', '.join(inner[:LIST_NAMES])}{' ...' if len(inner) > LIST_NAMES else ''}); "
            f"expected layout ROOT/<dataset>/<subject>/<name>_poses.npz (or _stageii.npz), e.g. "
            f"ROOT/ACCAD/Female1General_c3d/A1 - Stand_poses.npz. Use the root {base}/{d} "
            f"(one build per download), or pass --force to build these folders as they are")


def inventory(disc: Discovery) -> dict[str, dict[str, int]]:
    """Per dataset: files, subjects and bytes (for `amass-arrow inventory`)."""
    out: dict[str, dict[str, int]] = {}
    subjects: dict[str, set[str]] = {}
    for f in disc.files:
        d = out.setdefault(f.dataset, Counter())
        d["files"] += 1
        d["bytes"] += f.size
        subjects.setdefault(f.dataset, set()).add(f.subject)
    for ds, n in subjects.items():
        out[ds]["subjects"] = len(n)
    return {k: dict(v) for k, v in sorted(out.items())}


def discover_objects(url: str, wanted: set[str] | None, make) -> tuple[list, list]:
    """(SourceFile list, problems) for the motion files under an archive URL; `make(rel, size, mtime_ns)` builds one."""
    tree = Tree(url)
    try:
        infos = tree.files()
    except OSError as exc:
        raise StoreError(f"{url}: cannot list the archive: {exc}") from None
    if not infos:
        return [], []
    sel = pafs.FileSelector(tree.base, recursive=True)
    mtimes = {i.path[len(tree.base) + 1:]: i.mtime_ns or 0 for i in tree.fs.get_file_info(sel) if i.type == pafs.FileType.File}
    files, problems = [], []
    for rel in sorted(infos):
        if not is_motion_file(rel.rsplit("/", 1)[-1]):
            continue
        if wanted is not None and canonical_dataset(rel.split("/")[0]) not in wanted:
            continue
        f = make(rel, infos[rel], mtimes.get(rel, 0))
        (problems if isinstance(f, Exception) else files).append(f)
    return files, problems
