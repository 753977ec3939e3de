"""SMPL / SMPL+H / SMPL-X body-model files: find them, load them (.npz, or .pkl without chumpy), give rest joints.

Only what joint positions need is kept: the template mesh, the shape blend shapes and the joint
regressor, precomputed as joint-space arrays so `rest_joints(betas)` is one small matmul.
Model files are in the model's own frame (Y-up, metres); AMASS motions rotate them to Z-up.

Layouts searched under a body-model root (first hit wins)::

    <root>/<model>/<MODEL>_<GENDER>.npz     smplx.create's layout, e.g. smplh/SMPLH_MALE.npz
    <root>/<model>/<MODEL>_<GENDER>.pkl     e.g. smpl/SMPL_NEUTRAL.pkl
    <root>/<model>/<gender>/model.npz       AMASS's own layout, e.g. smplh/male/model.npz
    <root>/<MODEL>_<GENDER>.npz | .pkl      a flat folder
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amass_arrow.errors import BodyModelError
from amass_arrow.schema import GENDERS, SKELETONS, SURFACE_MODELS

#: SMPL-X files keep 300 shape + 100 expression columns in `shapedirs` (smplx.SMPLX's
#: SHAPE_SPACE_DIM / EXPRESSION_SPACE_DIM); older SMPL-X files keep 10 + 10.
SMPLX_SHAPE_SPACE_DIM = 300
SMPLX_EXPRESSION_SPACE_DIM = 100
_REQUIRED = ("v_template", "shapedirs", "J_regressor", "kintree_table")
_ROOT_PARENT = 4294967295  # uint32(-1), as real kintree tables store the root's parent


@dataclass
class BodyModel:
    """One body-model file, reduced to what rest-pose joints need (model frame: Y-up, metres).

    v_template: (V, 3); shapedirs: (V, 3, S); J_regressor: (J, V) dense; parents: (J,) int64, root -1.
    J_template (J, 3) and J_shapedirs (J, 3, S) are J_regressor applied to them, in float64.
    """

    surface_model: str  # smpl | smplh | smplx
    gender: str  # male | female | neutral
    path: str
    v_template: np.ndarray
    shapedirs: np.ndarray
    J_regressor: np.ndarray
    parents: np.ndarray
    J_template: np.ndarray = field(init=False, repr=False)
    J_shapedirs: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.v_template = np.asarray(self.v_template, dtype=np.float64)
        self.shapedirs = np.asarray(self.shapedirs)  # kept in the file's dtype (SMPL-X: 10475x3x400)
        if self.shapedirs.ndim == 2:
            self.shapedirs = self.shapedirs[:, :, None]
        self.J_regressor = np.asarray(self.J_regressor, dtype=np.float64)
        self.parents = np.asarray(self.parents, dtype=np.int64)
        _validate(self)
        V, _, S = self.shapedirs.shape
        self.J_template = self.J_regressor @ self.v_template
        # Only the vertices the regressor uses matter (a few hundred of V): float64 on those alone.
        used = np.flatnonzero(np.any(self.J_regressor != 0, axis=0))
        dirs = self.shapedirs[used].reshape(len(used), 3 * S).astype(np.float64)
        self.J_shapedirs = (self.J_regressor[:, used] @ dirs).reshape(-1, 3, S)

    @property
    def num_joints(self) -> int:
        return int(self.J_regressor.shape[0])

    @property
    def num_shape_betas(self) -> int:
        """Shape columns of `shapedirs` (SMPL-X files also hold expression columns after them)."""
        return shape_columns(self.surface_model, int(self.shapedirs.shape[-1]))

    def rest_joints(self, betas: np.ndarray) -> np.ndarray:
        """(J, 3) float64 rest-pose joints for betas (B,); betas beyond the model's shape space are ignored."""
        return _rest_joints(self, betas)

    def sole_height(self, betas: np.ndarray) -> float:
        """Lowest rest-vertex height (m, the Y-up model frame) for betas (B,): where the soles are.

        Only the Y column of the shaped mesh is computed, from the first n shape columns (n = the betas
        given, 16 in AMASS, not the model's 300-400), and the result is cached per betas (a subject's
        sequences share them).
        """
        return _sole_height(self, self.v_template[:, 1], self.shapedirs[:, 1, :], betas)

    def save_rest(self, path: str | Path) -> Path:
        """Write what a worker needs from this model (RestModel: rest joints and sole heights for any
        betas) to an uncompressed .npz at `path`, for `BodyModelRegistry.use_rest` to load in
        milliseconds instead of parsing the model file (up to ~0.4 s for an SMPL-X file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}")
        with open(tmp, "wb") as fh:
            np.savez(fh, surface_model=np.array(self.surface_model), gender=np.array(self.gender),
                     path=np.array(self.path), parents=self.parents, J_template=self.J_template,
                     J_shapedirs=self.J_shapedirs, v_template_y=np.ascontiguousarray(self.v_template[:, 1]),
                     shapedirs_y=np.ascontiguousarray(self.shapedirs[:, 1, :]))
        tmp.replace(path)
        return path

    def rest_vertices(self, betas: np.ndarray) -> np.ndarray:
        """(V, 3) float64 shaped template mesh (zero pose) for betas (B,)."""
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        n = min(betas.shape[0], self.num_shape_betas)
        return self.v_template + self.shapedirs[..., :n] @ betas[:n]


def shape_columns(surface_model: str, columns: int) -> int:
    """Shape betas of a model whose `shapedirs` has `columns` columns (SMPL-X files also hold expression
    columns after the shape ones)."""
    if surface_model == "smplx":
        return SMPLX_SHAPE_SPACE_DIM if columns >= SMPLX_SHAPE_SPACE_DIM + SMPLX_EXPRESSION_SPACE_DIM else min(columns, 10)
    return columns


@dataclass
class RestModel:
    """A body model reduced to what the per-file path uses (BodyModel.save_rest): parents, rest joints
    and sole heights for any betas, computed by the same arithmetic on the same arrays as BodyModel,
    so a part is identical whichever of the two posed it."""

    surface_model: str
    gender: str
    path: str
    parents: np.ndarray
    J_template: np.ndarray
    J_shapedirs: np.ndarray
    v_template_y: np.ndarray  # (V,) float64
    shapedirs_y: np.ndarray  # (V, S) in the file's dtype

    @classmethod
    def load(cls, path: str | Path) -> RestModel:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        return cls(surface_model=str(a.pop("surface_model")), gender=str(a.pop("gender")), path=str(a.pop("path")), **a)

    @property
    def num_shape_betas(self) -> int:
        return shape_columns(self.surface_model, int(self.shapedirs_y.shape[-1]))

    def rest_joints(self, betas: np.ndarray) -> np.ndarray:
        """As BodyModel.rest_joints."""
        return _rest_joints(self, betas)

    def sole_height(self, betas: np.ndarray) -> float:
        """As BodyModel.sole_height (cached per betas)."""
        return _sole_height(self, self.v_template_y, self.shapedirs_y, betas)


def _rest_joints(model: BodyModel | RestModel, betas: np.ndarray) -> np.ndarray:
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    n = min(betas.shape[0], model.num_shape_betas)
    return model.J_template + model.J_shapedirs[..., :n] @ betas[:n]


def _sole_height(model: BodyModel | RestModel, v_y: np.ndarray, shapedirs_y: np.ndarray, betas: np.ndarray) -> float:
    """min over vertices of v_y + shapedirs_y[:, :n] @ betas[:n] (float64), cached on `model` per betas."""
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    n = min(betas.shape[0], model.num_shape_betas)
    key = betas[:n].tobytes()
    cache = model.__dict__.setdefault("_sole_cache", {})
    if key not in cache:
        y = v_y + shapedirs_y[:, :n].astype(np.float64) @ betas[:n]
        if len(cache) > 4096:
            cache.clear()
        cache[key] = float(y.min())
    return cache[key]


def _validate(bm: BodyModel) -> None:
    where = bm.path

    def bad(msg: str) -> BodyModelError:
        return BodyModelError(f"{where}: {msg}; is this a {bm.surface_model.upper()} body-model file?")

    if bm.surface_model not in SURFACE_MODELS:
        raise BodyModelError(f"{where}: unknown surface model {bm.surface_model!r}; use one of {SURFACE_MODELS}")
    if bm.gender not in GENDERS:
        raise BodyModelError(f"{where}: unknown gender {bm.gender!r}; use one of {GENDERS}")
    if bm.v_template.ndim != 2 or bm.v_template.shape[1] != 3:
        raise bad(f"v_template has shape {bm.v_template.shape}, expected (V, 3)")
    V = bm.v_template.shape[0]
    if bm.shapedirs.ndim != 3 or bm.shapedirs.shape[:2] != (V, 3):
        raise bad(f"shapedirs has shape {bm.shapedirs.shape}, expected ({V}, 3, S)")
    if bm.J_regressor.ndim != 2 or bm.J_regressor.shape[1] != V:
        raise bad(f"J_regressor has shape {bm.J_regressor.shape}, expected (J, {V})")
    expected = SKELETONS[bm.surface_model][1]
    J = bm.J_regressor.shape[0]
    if J != len(expected):
        raise bad(f"J_regressor has {J} joints, a {bm.surface_model} model has {len(expected)}")
    if bm.parents.shape != (J,) or bm.parents.tolist() != expected:
        raise bad(f"kintree_table parents {bm.parents.tolist()} differ from the {bm.surface_model} skeleton")


# ---------------------------------------------------------------- loading


def load_body_model(path: str | Path, surface_model: str | None = None, gender: str | None = None) -> BodyModel:
    """Load a `.npz` or `.pkl` body-model file; model and gender default to what the file and its name say."""
    path = Path(path)
    if not path.is_file():
        raise BodyModelError(f"body-model file not found: {path}")
    if path.suffix == ".npz":
        arrays = _load_npz(path)
    elif path.suffix == ".pkl":
        arrays = _load_pkl(path)
    else:
        raise BodyModelError(f"{path}: unsupported body-model file type {path.suffix!r}; use .npz or .pkl")
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise BodyModelError(f"{path}: missing array(s) {', '.join(missing)}; not an SMPL-family model file")
    kintree = np.asarray(arrays["kintree_table"])
    if kintree.ndim != 2 or kintree.shape[0] != 2:
        raise BodyModelError(f"{path}: kintree_table has shape {kintree.shape}, expected (2, J)")
    parents = kintree[0].astype(np.int64)
    parents[(parents == _ROOT_PARENT) | (parents < 0)] = -1
    parents[0] = -1
    if surface_model is None:
        by_joints = {len(SKELETONS[m][0]): m for m in SURFACE_MODELS}
        surface_model = by_joints.get(kintree.shape[1])
        if surface_model is None:
            raise BodyModelError(f"{path}: {kintree.shape[1]} joints match no SMPL-family model")
    return BodyModel(
        surface_model=surface_model,
        gender=gender or _gender_from_path(path),
        path=str(path),
        v_template=arrays["v_template"],
        shapedirs=arrays["shapedirs"],
        J_regressor=arrays["J_regressor"],
        parents=parents,
    )


def _gender_from_path(path: Path) -> str:
    for part in (path.stem, path.parent.name):
        low = part.lower()
        for g in ("female", "male", "neutral"):  # 'female' before 'male'
            if g in low:
                return g
    return "neutral"


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            out = {}
            for key in _REQUIRED:
                if key in npz.files:
                    out[key] = npz[key]
            return out
    except ValueError as exc:  # an object array among the required keys
        raise BodyModelError(f"{path}: a required array needs pickle to load ({exc}); refusing") from None
    except (OSError, EOFError) as exc:
        raise BodyModelError(f"{path}: not a readable .npz file ({exc})") from None


class _ChShim:
    """Stands in for chumpy objects: keeps the state's `x` array (chumpy's value)."""

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"state": state}

    def to_array(self) -> np.ndarray | None:
        x = self.state.get("x")
        return None if x is None else np.asarray(x)


class _SparseShim:
    """Stands in for scipy.sparse csc/csr matrices; densified with numpy alone."""

    kind = "csc"

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state

    def to_array(self) -> np.ndarray:
        s = self.state
        shape = tuple(s.get("_shape") or s.get("shape"))
        data, indices, indptr = (np.asarray(s[k]) for k in ("data", "indices", "indptr"))
        out = np.zeros(shape, dtype=np.float64)
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        if self.kind == "csc":
            np.add.at(out, (indices, major), data)
        else:
            np.add.at(out, (major, indices), data)
        return out


class _CsrShim(_SparseShim):
    kind = "csr"


def _numpy_attr(*candidates: str):
    import importlib

    for dotted in candidates:
        module, _, name = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


def _allowed_globals() -> dict[tuple[str, str], object]:
    import codecs
    import copyreg

    reconstruct = _numpy_attr("numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct")
    scalar = _numpy_attr("numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar")
    frombuffer = _numpy_attr("numpy._core.numeric._frombuffer", "numpy.core.numeric._frombuffer")
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("copyreg", "_reconstructor"): copyreg._reconstructor,
        ("builtins", "object"): object,
        ("_codecs", "encode"): codecs.encode,  # python 3 protocol-2 pickles encode bytes with it
    }
    for mod in ("numpy.core", "numpy._core"):
        allowed[(f"{mod}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{mod}.multiarray", "scalar")] = scalar
        allowed[(f"{mod}.numeric", "_frombuffer")] = frombuffer
    for mod in ("scipy.sparse.csc", "scipy.sparse._csc"):
        allowed[(mod, "csc_matrix")] = _SparseShim
    for mod in ("scipy.sparse.csr", "scipy.sparse._csr"):
        allowed[(mod, "csr_matrix")] = _CsrShim
    return allowed


_ALLOWED = _allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path: Path):
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # python 2 names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChShim
        found = _ALLOWED.get((module, name))
        if found is None:
            raise BodyModelError(
                f"refusing to unpickle {module}.{name} in {self.path}: body-model pickles may only hold "
                "numpy arrays, scipy sparse matrices and chumpy arrays"
            )
        return found


def _load_pkl(path: Path) -> dict[str, np.ndarray]:
    try:
        data = _RestrictedUnpickler(io.BytesIO(path.read_bytes()), path).load()
    except BodyModelError:
        raise
    except Exception as exc:  # malformed pickles raise many exception types
        raise BodyModelError(f"{path}: not a readable body-model pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise BodyModelError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    out = {}
    for key in _REQUIRED:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, (_ChShim, _SparseShim)):
            value = value.to_array()
            if value is None:
                raise BodyModelError(f"{path}: {key} is a chumpy expression without a value; not supported")
        out[key] = np.asarray(value)
    return out


# ---------------------------------------------------------------- discovery


def candidate_paths(root: str | Path, surface_model: str, gender: str) -> list[Path]:
    """Where a (model, gender) file may live under `root`, in search order."""
    root = Path(root)
    stem = f"{surface_model.upper()}_{gender.upper()}"
    return [
        root / surface_model / f"{stem}.npz",
        root / surface_model / f"{stem}.pkl",
        root / surface_model / gender / "model.npz",
        root / f"{stem}.npz",
        root / f"{stem}.pkl",
    ]


def find_model_file(root: str | Path, surface_model: str, gender: str) -> Path | None:
    """First existing file for (model, gender) under `root`, or None."""
    for p in candidate_paths(root, surface_model, gender):
        if p.is_file():
            return p
    return None


class BodyModelRegistry:
    """Loads body models from one root on demand and caches them; falls back to neutral models.

    `get` returns the gendered model when its file exists, else the neutral one (whose `.gender`
    is 'neutral', so callers can record the fallback).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._cache: dict[tuple[str, str], BodyModel | RestModel] = {}
        self._fingerprints: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()
        self._rest: dict[tuple[str, str], str] = {}

    def use_rest(self, files: dict[str, str]) -> None:
        """Serve `get` for these "model/gender" keys from RestModel files (BodyModel.save_rest) that the
        build's driver wrote for this build, instead of loading the model files in every worker."""
        for k, p in files.items():
            m, _, g = k.partition("/")
            self._rest.setdefault((m, g), p)

    def resolve(self, surface_model: str, gender: str) -> tuple[Path, str] | None:
        """(file, gender actually used) for a request, or None when neither it nor neutral exists."""
        if surface_model not in SURFACE_MODELS:
            raise BodyModelError(f"unknown surface model {surface_model!r}; use one of {SURFACE_MODELS}")
        for g in dict.fromkeys((gender, "neutral")):
            p = find_model_file(self.root, surface_model, g)
            if p is not None:
                return p, g
        return None

    def get(self, surface_model: str, gender: str) -> BodyModel | RestModel:
        found = self.resolve(surface_model, gender)
        if found is None:
            raise BodyModelError(self._missing_message([(surface_model, gender)]))
        path, used = found
        key = (surface_model, used)
        with self._lock:
            model = self._cache.get(key)
            if model is None:
                rest = self._rest.get(key)
                model = RestModel.load(rest) if rest else load_body_model(path, surface_model, used)
                self._cache[key] = model
        return model

    def fingerprint(self, surface_model: str, gender: str) -> str | None:
        """'smplh/male:<bytes>:<blake2b of the file>' for the file `get` would load; None when there is none.

        A part's reuse key holds its own model's fingerprint only (see parts.part_key). Cached per
        file path, size and mtime, so each model file is hashed once per process.
        """
        if surface_model not in SURFACE_MODELS:
            return None
        found = self.resolve(surface_model, gender)
        if found is None:
            return None
        path, used = found
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in self._fingerprints:
            from amass_arrow.io.atomic import content_hash

            self._fingerprints[key] = f"{st.st_size}:{content_hash(path)}"
        return f"{surface_model}/{used}:{self._fingerprints[key]}"

    def check(self, needs: Iterable[tuple[str, str]]) -> None:
        """Raise one BodyModelError listing every (model, gender) with neither its own nor a neutral file."""
        missing = sorted({(m, g) for m, g in needs if self.resolve(m, g) is None})
        if missing:
            raise BodyModelError(self._missing_message(missing))

    def available(self) -> list[tuple[str, str, Path]]:
        """(model, gender, file) for every model file present under the root."""
        out = []
        for m in SURFACE_MODELS:
            for g in GENDERS:
                p = find_model_file(self.root, m, g)
                if p is not None:
                    out.append((m, g, p))
        return out

    def _missing_message(self, missing: list[tuple[str, str]]) -> str:
        lines = [f"body models missing under {self.root}:"]
        for m, g in missing:
            searched = candidate_paths(self.root, m, g)
            if g != "neutral":
                searched += candidate_paths(self.root, m, "neutral")
            lines.append(f"  {m} {g}: none of " + ", ".join(str(p) for p in searched))
        lines.append(
            "download the models from smpl.is.tue.mpg.de / mano.is.tue.mpg.de / smpl-x.is.tue.mpg.de and place "
            "them as <root>/<model>/<MODEL>_<GENDER>.npz (or run `amass-arrow synth` for synthetic test models)"
        )
        return "\n".join(lines)
