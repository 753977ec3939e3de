"""One AMASS `.npz` -> one normalized `Sequence`, whatever the variant.

Variants (docs/architecture.md): SMPL+H G `poses` (T,156); SMPL-X stage-ii `poses` (T,165) plus split keys;
split-keys-only SMPL-X files; SMPL `poses` (T,72); old SMPL-X files with only a 165-wide `poses`.
Files are opened with `allow_pickle=False` and only numeric keys are read, so the object arrays of
stage-ii files are never unpickled. Every problem raises `InputError(path, code, message)`.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from amass_arrow.errors import InputError
from amass_arrow.io.atomic import content_hash
from amass_arrow.schema import (
    BODY,
    EYE,
    FRM,
    GENDERS,
    HAND,
    JAW,
    NPZ,
    NPZ_FPS_KEYS,
    NPZ_SHAPE_FILE,
    ROOT,
    SURFACE_MODELS,
)

from .discover import SourceFile
from .sequence import Sequence

FPS_KEYS = NPZ_FPS_KEYS
MAX_FPS = 1000.0
POSE_WIDTH_MODEL = {72: "smpl", 156: "smplh", 165: "smplx"}
#: split-key files: npz key -> (the Sequence field / frame column it fills, width)
SPLIT_KEYS = {NPZ.root_orient: (FRM.root_orient, ROOT), NPZ.pose_body: (FRM.pose_body, BODY),
              NPZ.pose_hand: (FRM.pose_hand, HAND), NPZ.pose_jaw: (FRM.pose_jaw, JAW), NPZ.pose_eye: (FRM.pose_eye, EYE)}
GENDER_ALIASES = {"m": "male", "f": "female", "n": "neutral"}
CHUNKED_BYTES = 0  # stored numeric members of at least this many bytes are read through a memory map (all of them)
RELEASE_BYTES = 64 << 20  # members at least this large give their pages back chunk by chunk (peak RSS)
CHUNK_BYTES = 4 << 20  # ... in row chunks of about this size (CRC and float32 conversion while in cache)


_POPULATE_READ = 22  # madvise(MADV_POPULATE_READ); Python's mmap module does not name it yet


def _no_populate() -> None:
    global _POPULATE_READ
    _POPULATE_READ = 0  # an older kernel: page faults it is


def source_fingerprint(path: str | Path) -> str:
    """Content fingerprint of an input .npz without a second pass over its bytes.

    blake2b-128 over the zip directory: every member's name, size and CRC-32. zipfile verifies
    each member's CRC-32 as it is read, so a changed array changes the fingerprint and a corrupted
    one fails the read. Files that are not zip archives fall back to hashing their bytes.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return zip_fingerprint(zf)
    except (zipfile.BadZipFile, EOFError, ValueError):
        return content_hash(path)


def zip_fingerprint(zf: zipfile.ZipFile) -> str:
    """source_fingerprint of an open archive (its directory is already parsed: nothing is read)."""
    h = hashlib.blake2b(digest_size=16)
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        h.update(f"{info.filename}\0{info.file_size}\0{info.CRC:08x}\0".encode())
    return "zip-" + h.hexdigest()


def read_sequence(
    src: SourceFile, *, fps_override: tuple[float, str] | None = None, file_hash: str | None = None
) -> Sequence:
    """Read and validate one motion file. `fps_override` = (fps, reason) replaces the file's rate."""
    rel = src.rel
    if src.size == 0:
        raise InputError(rel, "empty_file", "file is empty (0 bytes)")
    npz = _open(src.path, rel)
    with npz, _Arrays(npz, rel) as arrays:
        digest = file_hash or zip_fingerprint(npz.zip)  # the archive the arrays are read from, read once
        keys = set(npz.files)
        model, blocks = _pose_blocks(arrays, keys, rel, src)
        trans = arrays.numeric(NPZ.trans, ndim=2, width=3)
        _check_frames(rel, {**blocks, NPZ.trans: trans})
        fps_in_file, fps_key = _fps(arrays, keys, rel)
        gender = _gender(arrays, keys, rel, src)
        betas = _betas(arrays, keys, rel, src)
        dmpls = arrays.numeric(NPZ.dmpls, ndim=2) if NPZ.dmpls in keys else None

    fps, reason = fps_in_file, None
    if fps_override is not None:
        fps, reason = fps_override
    _check_finite(rel, {**blocks, NPZ.trans: trans, NPZ.betas: betas})
    flags = []
    if dmpls is not None and not np.any(dmpls):
        flags.append("dmpls_all_zero")
    return Sequence(
        seq_id=src.seq_id,
        dataset=src.dataset,
        subject=src.subject,
        name=src.name,
        source_path=rel,
        surface_model=model,
        gender=gender,
        betas=betas,
        fps=float(fps),
        fps_key=fps_key,
        fps_in_file=fps_in_file,
        fps_override_reason=reason,
        root_orient=blocks[FRM.root_orient],
        pose_body=blocks[FRM.pose_body],
        pose_hand=blocks.get(FRM.pose_hand),
        pose_jaw=blocks.get(FRM.pose_jaw),
        pose_eye=blocks.get(FRM.pose_eye),
        pose_smpl_hands=blocks.get(FRM.pose_smpl_hands),
        trans=trans,
        dmpls=dmpls,
        content_hash=digest,
        file_size=src.size,
        quality_flags=flags,
    )


def _check_frames(rel: str, arrays: dict[str, np.ndarray | None]) -> None:
    """Every (T, w) array (the first is root_orient) has the same T, and T >= 2; InputError otherwise."""
    T = next(iter(arrays.values())).shape[0]
    if T == 0:
        raise InputError(rel, "zero_frames", "sequence has zero frames")
    for name, a in arrays.items():
        if a is not None and a.shape[0] != T:
            raise InputError(rel, "bad_shape", f"'{name}' has {a.shape[0]} frames but the poses have {T}")
    if T < 2:
        raise InputError(rel, "too_few_frames", f"sequence has {T} frame; at least 2 are needed for velocities and contacts")


def _check_finite(rel: str, arrays: dict[str, np.ndarray | None]) -> None:
    """No NaN or inf in any array; InputError naming the first that has one."""
    for name, a in arrays.items():
        if a is not None and not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise InputError(rel, "non_finite", f"'{name}' has {bad} NaN/inf value(s)")


def _npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of an open .npy stream, leaving it at the data."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    return read(fh)


def _open(path: Path, rel: str):
    try:
        obj = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InputError(rel, "corrupt", f"not a readable .npz archive (truncated or damaged zip: {exc})") from None
    except ValueError as exc:
        raise InputError(rel, "not_npz", f"not an .npz archive ({exc})") from None
    except OSError as exc:
        raise InputError(rel, "unreadable", f"cannot read file: {exc.strerror or exc}") from None
    if not isinstance(obj, np.lib.npyio.NpzFile):
        raise InputError(rel, "not_npz", "file is a single .npy array, not an .npz archive")
    return obj


class _Arrays:
    """Key access on an open NpzFile that turns every failure into an InputError."""

    def __init__(self, npz, rel: str):
        self.npz, self.rel = npz, rel
        self._mm: mmap.mmap | None = None  # the archive's memory map, made on first use

    def __enter__(self) -> _Arrays:
        return self

    def __exit__(self, *exc) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    def raw(self, key: str) -> np.ndarray:
        try:
            return self.npz[key]
        except KeyError:
            raise InputError(self.rel, "missing_key", f"required key '{key}' is missing") from None
        except ValueError as exc:
            if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                raise InputError(self.rel, "object_array", f"key '{key}' is an object (pickled) array; refusing to unpickle it") from None
            raise InputError(self.rel, "corrupt", f"key '{key}' cannot be read: {exc}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise InputError(self.rel, "corrupt", f"key '{key}' cannot be read (truncated or damaged file: {exc})") from None

    def numeric(self, key: str, ndim: int | None = None, width: int | None = None) -> np.ndarray:
        a = self._chunked_float32(key)
        if a is None:
            a = self.raw(key)
        if a.dtype.kind not in "fiu":
            raise InputError(self.rel, "bad_dtype", f"key '{key}' has dtype {a.dtype}, expected numbers")
        if ndim is not None and a.ndim != ndim:
            raise InputError(self.rel, "bad_shape", f"key '{key}' has shape {a.shape}, expected {ndim} dimensions")
        if width is not None and a.shape[-1] != width:
            raise InputError(self.rel, "bad_shape", f"key '{key}' has shape {a.shape}, expected (T, {width})")
        return np.ascontiguousarray(a, dtype=np.float32)

    def _chunked_float32(self, key: str) -> np.ndarray | None:
        """A numeric member of at least CHUNKED_BYTES as float32, read once through a memory map.

        For an uncompressed member (np.savez, what AMASS ships) the file's pages are read in row chunks
        of CHUNK_BYTES: each chunk's CRC-32 is accumulated and its rows converted into the float32
        result while the chunk is hot in cache, then the chunk is unmapped from this process. So
        every byte is read once, with no intermediate copy, and peak memory stays near the float32
        result (a 1-hour 250 fps SMPL-X file has a 1.2 GB float64 `poses`). None for compressed,
        non-numeric, Fortran-order or 0-d members (np.load reads those).
        """
        zf = getattr(self.npz, "zip", None)
        name = f"{key}.npy"
        try:
            info = zf.getinfo(name) if zf is not None else None
        except KeyError:
            return None
        if info is None or info.compress_type != zipfile.ZIP_STORED or info.file_size < CHUNKED_BYTES:
            return None
        try:
            if self._mm is None:  # one map of the archive np.load has open, for all its members
                self._mm = mmap.mmap(zf.fp.fileno(), 0, access=mmap.ACCESS_READ)
            return self._mapped_float32(self._mm, info, key)
        except (OSError, ValueError, struct.error) as exc:
            raise InputError(self.rel, "corrupt", f"key '{key}' cannot be read (truncated or damaged file: {exc})") from None

    def _mapped_float32(self, mm: mmap.mmap, info: zipfile.ZipInfo, key: str) -> np.ndarray | None:
        h = info.header_offset
        if mm[h:h + 4] != b"PK\x03\x04":
            raise ValueError("bad local file header")
        name_len, extra_len = struct.unpack("<HH", mm[h + 26:h + 30])
        start = h + 30 + name_len + extra_len  # the member's bytes: a .npy (header, then the data)
        end = start + info.file_size
        if end > len(mm):
            raise ValueError(f"the member ends at byte {end} of a {len(mm)}-byte file")
        head = io.BytesIO(mm[start:start + min(info.file_size, 1 << 16)])
        shape, fortran, dtype = _npy_header(head)
        if fortran or dtype.kind not in "fiu" or dtype.hasobject or len(shape) == 0:
            return None
        data = start + head.tell()
        row_width = int(np.prod(shape[1:], dtype=np.int64))
        row_bytes = row_width * dtype.itemsize
        if data + shape[0] * row_bytes > end:
            raise InputError(self.rel, "corrupt", f"key '{key}' is truncated")
        out = np.empty(shape, np.float32)
        flat = out.reshape(shape[0], row_width)
        crc = zlib.crc32(mm[start:data])
        rows = max(1, CHUNK_BYTES // max(1, row_bytes))
        page = mmap.PAGESIZE
        big = info.file_size >= RELEASE_BYTES  # unmap as we go only where the mapping would weigh in RSS
        done = start - start % page
        for r0 in range(0, shape[0], rows):
            n = min(rows, shape[0] - r0)
            lo = data + r0 * row_bytes
            if _POPULATE_READ:  # map the chunk's pages in one call, not one fault per page (Linux >= 5.14)
                try:
                    a = lo - lo % page
                    mm.madvise(_POPULATE_READ, a, lo + n * row_bytes - a)
                except OSError:
                    _no_populate()
            chunk = memoryview(mm)[lo:lo + n * row_bytes]
            try:
                crc = zlib.crc32(chunk, crc)
                flat[r0:r0 + n] = np.frombuffer(chunk, dtype).reshape(n, row_width)
            finally:
                chunk.release()
            upto = (lo + n * row_bytes) // page * page
            if big and upto > done:  # this process is done with these pages (the page cache keeps them)
                mm.madvise(mmap.MADV_DONTNEED, done, upto - done)
                done = upto
        tail = data + shape[0] * row_bytes
        crc = zlib.crc32(mm[tail:end], crc)  # bytes after the array (none from numpy), still covered by the CRC
        if crc != info.CRC:
            raise InputError(self.rel, "corrupt", f"key '{key}' fails its CRC-32 check (damaged file)")
        return out

    def text(self, key: str) -> str:
        return _text_value(self.raw(key), self.rel, key)


def _text_value(a: np.ndarray, rel: str, key: str) -> str:
    """A one-element str/bytes array (0-d or shape (1,)) as a stripped str."""
    if a.dtype.kind not in "SU" or a.size != 1:
        raise InputError(rel, "bad_dtype", f"key '{key}' should be a string, got {a.dtype} of shape {a.shape}")
    v = a.reshape(()).item()
    return (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip()


def _pose_blocks(arrays: _Arrays, keys: set[str], rel: str, src: SourceFile) -> tuple[str, dict]:
    """(surface model, frame column -> (T, width) block) from the split keys, else from `poses`."""
    declared = arrays.text(NPZ.surface_model_type).lower() if NPZ.surface_model_type in keys else None
    if declared is not None and declared not in SURFACE_MODELS:
        raise InputError(rel, "bad_model", f"surface_model_type is {declared!r}; expected smpl, smplh or smplx")
    if NPZ.root_orient in keys and NPZ.pose_body in keys:
        model = declared or _split_keys_model(keys, src)
        return model, _split_blocks(arrays, keys, model)
    if NPZ.poses not in keys:
        raise InputError(rel, "missing_key", "neither 'poses' nor the split keys (root_orient, pose_body, ...) are present")
    poses = arrays.numeric(NPZ.poses, ndim=2)
    width = poses.shape[1]
    model = POSE_WIDTH_MODEL.get(width)
    if model is None:
        raise InputError(rel, "bad_shape", f"'poses' has {width} columns; expected 72 (SMPL), 156 (SMPL+H) or 165 (SMPL-X)")
    if declared is not None and declared != model:
        raise InputError(rel, "model_mismatch", f"surface_model_type says {declared} but 'poses' has {width} columns ({model})")
    if src.rel.endswith("_stageii.npz") and model != "smplx":
        raise InputError(rel, "model_mismatch", f"a _stageii file (SMPL-X) but 'poses' has {width} columns ({model})")
    blocks = {FRM.root_orient: poses[:, 0:3], FRM.pose_body: poses[:, 3:66]}
    if model == "smpl":
        blocks[FRM.pose_smpl_hands] = poses[:, 66:72]
    elif model == "smplh":
        blocks[FRM.pose_hand] = poses[:, 66:156]
    else:
        blocks[FRM.pose_jaw] = poses[:, 66:69]
        blocks[FRM.pose_eye] = poses[:, 69:75]
        blocks[FRM.pose_hand] = poses[:, 75:165]
    return model, blocks  # column views of `poses`: no copy of a long sequence


def _split_keys_model(keys: set[str], src: SourceFile) -> str:
    """The surface model of a file with split keys and no `surface_model_type`."""
    smplx = NPZ.pose_jaw in keys or NPZ.pose_eye in keys or src.rel.endswith("_stageii.npz")
    return "smplx" if smplx else "smplh"


def _split_blocks(arrays: _Arrays, keys: set[str], model: str) -> dict:
    """Frame column -> block from the split keys; a block the file lacks is zeros (hands: from `poses` if present)."""
    wanted = [NPZ.root_orient, NPZ.pose_body] + ([NPZ.pose_hand] if model != "smpl" else []) \
        + ([NPZ.pose_jaw, NPZ.pose_eye] if model == "smplx" else [])
    blocks = {}
    for k in wanted:
        column, width = SPLIT_KEYS[k]
        if k in keys:
            blocks[column] = arrays.numeric(k, ndim=2, width=width)
        elif k == NPZ.pose_hand and NPZ.poses in keys:
            blocks[column] = None  # filled from poses below
        else:
            T = blocks[FRM.root_orient].shape[0]
            blocks[column] = np.zeros((T, width), np.float32)
    if any(v is None for v in blocks.values()):
        poses = arrays.numeric(NPZ.poses, ndim=2)
        if poses.shape[1] >= 66 + HAND:
            blocks[FRM.pose_hand] = poses[:, -HAND:]
    return blocks


def _fps(arrays: _Arrays, keys: set[str], rel: str) -> tuple[float, str]:
    key = next((k for k in FPS_KEYS if k in keys), None)
    if key is None:
        raise InputError(rel, "missing_fps", f"no frame rate: neither {' nor '.join(FPS_KEYS)} is present")
    a = arrays.raw(key)
    if a.dtype.kind not in "fiu" or a.size != 1:
        raise InputError(rel, "bad_fps", f"'{key}' should be one number, got {a.dtype} of shape {a.shape}")
    fps = float(a.reshape(()))
    if not np.isfinite(fps) or fps <= 0 or fps > MAX_FPS:
        raise InputError(rel, "bad_fps", f"'{key}' is {fps}; expected a frame rate in (0, {MAX_FPS:g}] Hz")
    return fps, key


def _subject_shape(src: SourceFile) -> dict[str, np.ndarray] | None:
    shape = src.path.parent / NPZ_SHAPE_FILE
    if not shape.is_file():
        return None
    try:
        with np.load(shape, allow_pickle=False) as z:
            return {k: z[k] for k in (NPZ.betas, NPZ.gender) if k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error):
        return None


def _file_or_shape(arrays: _Arrays, keys: set[str], rel: str, src: SourceFile, key: str) -> np.ndarray:
    """`key` from the motion file, else from the subject's shape.npz (where AMASS keeps betas and gender)."""
    if key in keys:
        return arrays.raw(key)
    shape = _subject_shape(src)
    if not shape or key not in shape:
        raise InputError(rel, "missing_key", f"no '{key}' in the file nor in the subject's shape.npz")
    return shape[key]


def _gender(arrays: _Arrays, keys: set[str], rel: str, src: SourceFile) -> str:
    raw = _text_value(_file_or_shape(arrays, keys, rel, src, NPZ.gender), rel, NPZ.gender)
    g = raw.lower()
    g = GENDER_ALIASES.get(g, g)
    if g not in GENDERS:
        raise InputError(rel, "unknown_gender", f"gender is {raw!r}; expected one of {', '.join(GENDERS)}")
    return g


def _betas(arrays: _Arrays, keys: set[str], rel: str, src: SourceFile) -> np.ndarray:
    b = _file_or_shape(arrays, keys, rel, src, NPZ.betas)
    if b.dtype.kind not in "fiu":
        raise InputError(rel, "bad_dtype", f"'betas' has dtype {b.dtype}, expected numbers")
    if b.ndim == 2 and b.shape[0] == 1:
        b = b[0]
    if b.ndim != 1 or b.size == 0:
        raise InputError(rel, "bad_shape", f"'betas' has shape {b.shape}; expected (B,)")
    return np.ascontiguousarray(b, dtype=np.float32)


def peek(src: SourceFile) -> tuple[str, str] | None:
    """(surface_model, gender) from headers and tiny keys only; None if the file cannot tell.

    Used before a build to check that every needed body model exists; the full read decides
    (and rejects) for real.
    """
    try:
        with np.load(src.path, allow_pickle=False) as npz:
            keys = set(npz.files)
            arrays = _Arrays(npz, src.rel)
            gender = _gender(arrays, keys, src.rel, src)
            declared = arrays.text(NPZ.surface_model_type).lower() if NPZ.surface_model_type in keys else None
            if declared:  # an unknown type (e.g. 'smplx_locked_head') is left to the full read, which rejects it
                return (declared, gender) if declared in SURFACE_MODELS else None
            if NPZ.root_orient in keys and NPZ.pose_body in keys:
                return _split_keys_model(keys, src), gender
            with zipfile.ZipFile(src.path) as zf, zf.open(f"{NPZ.poses}.npy") as fh:
                shape = _npy_header(fh)[0]
            model = POSE_WIDTH_MODEL.get(shape[-1]) if len(shape) == 2 else None
            return (model, gender) if model else None
    except (InputError, KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error):
        return None
