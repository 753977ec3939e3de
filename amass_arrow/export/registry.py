"""The exporter protocol and registry: a new format is one module under amass_arrow/export/ plus its tests.

An exporter is a class decorated with `@register`::

    @dataclass
    class MyOptions:                 # typed options: `exports[k].options` in configs/splits.yaml,
        shards: int = 1              # `--shards N` on the CLI (one flag per field, '_' -> '-')

    @register
    class MyExporter(Exporter):
        name = "mine"                # --kind mine; configs/splits.yaml `kind: mine`
        units = ("slice",)           # row units it accepts; the first is the default
        columns = ("joints",)        # features it reads (None: the user's `columns`)
        Options = MyOptions
        summary = "what it writes"   # CLI help and README table
        load = "torch.load('OUT/train.pt')"   # the one line a trainer uses to load it

        def export(self, ctx: ExportContext, out: Path) -> Path:
            for split in ctx.split_names():
                for s in ctx.slices(split):          # or ctx.batches(split) / ctx.chunks(split)
                    ...
            return out

Every module of this package is imported by `load_all()` (what the CLI, `splits.ExportSpec.validate`
and `run_export` call), so registering is importing: keep heavy imports (torch, datasets) inside
functions. `run_export` writes `provenance.json` beside every export and `stats.json` when the
exporter fed `ctx.stats` (train split only).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..config import known_fields
from ..errors import ConfigError
from .frames import FEATURES, feature_widths, iter_chunks
from .units import FRAME_UNIT, UNITS, Slice, UnitBatch, assemble, iter_slices


@dataclass
class NoOptions:
    """An exporter without options."""


@dataclass
class ExportContext:
    """What an exporter gets: the connection (frames/sequences views + `export_rows`), the split rows,
    the spec (kind, unit, columns, window, stride, fps), its typed options, and shared helpers.

    step: keep every step-th store frame (from `spec.fps`; None = each row's own `export_rows.export_step`, on a
    store with per-sequence rates, see export.export_plan); fps: the export rate (None if the store has none);
    stats: FeatureStats to feed with train-split float features (None = spec.stats is off).
    """

    con: Any
    store: Any
    split_table: Any
    spec: Any
    options: Any
    columns: list[str]
    num_joints: int
    provenance: dict[str, Any]
    step: int | None = 1
    fps: float | None = None
    stats: Any = None
    progress: bool = True

    @property
    def unit(self) -> str:
        return self.spec.unit

    def split_names(self) -> list[str]:
        return self.split_table.split_names()

    def rows(self, split: str) -> pa.Table:
        """The split rows of `split`, ordered by row_id."""
        r = self.split_table.rows
        return r.filter(pc.equal(r[schema.SPL.split], split)).sort_by(schema.SPL.row_id)

    def widths(self, columns: list[str] | None = None) -> dict[str, int]:
        return feature_widths(list(columns if columns is not None else self.columns), self.num_joints)

    def chunks(self, split: str, columns: list[str] | None = None, texts: list[str] = ()) -> Iterator[pa.Table]:
        """Whole-row Arrow chunks of `split` (frames.iter_chunks at the export step), with a progress bar."""
        from tqdm.auto import tqdm

        cols = list(columns if columns is not None else self.columns)
        it = iter_chunks(self.con, split, cols, self.widths(cols), self.step, texts=texts)
        return tqdm(it, desc=f"{self.spec.kind} {split}", disable=None if self.progress else True, leave=False)

    def batches(self, split: str, columns: list[str] | None = None, texts: list[str] = ()) -> Iterator[UnitBatch]:
        """The chunks of `split` grouped into the spec's row unit."""
        for chunk in self.chunks(split, columns, texts):
            yield assemble(chunk, self.spec.unit, self.spec.window, self.spec.stride)

    def slices(self, split: str, columns: list[str] | None = None) -> Iterator[Slice]:
        """One Slice (split row + its (T, F) frame arrays) at a time, in row_id order."""
        cols = list(columns if columns is not None else self.columns)
        return iter_slices(self.chunks(split, cols), self.rows(split), self.widths(cols))

    def update_stats(self, split: str, feats: dict[str, Any]) -> None:
        """Feed train-split float features {name: (N, F)} to stats.json."""
        if self.stats is not None and split == "train":
            self.stats.update({c: v for c, v in feats.items() if FEATURES.get(c, ("float32",))[0] == "float32"})


class Exporter:
    """Base class of exporters (see the module docstring); one instance per registered name."""

    name: ClassVar[str]
    units: ClassVar[tuple[str, ...]] = (FRAME_UNIT,)
    columns: ClassVar[tuple[str, ...] | None] = None
    Options: ClassVar[type] = NoOptions
    summary: ClassVar[str] = ""
    load: ClassVar[str] = ""

    def folder(self, unit: str) -> str:
        """Default output folder: '<name>_<unit>' when the exporter has several units, else '<name>'."""
        return f"{self.name}_{unit}" if len(self.units) > 1 else self.name

    def options(self, data: dict[str, Any] | None, where: str) -> Any:
        """Typed options from a mapping (unknown keys and wrong types raise ConfigError)."""
        return parse_options(self.Options, data or {}, where)

    def export(self, ctx: ExportContext, out: Path) -> Path:
        raise NotImplementedError


REGISTRY: dict[str, Exporter] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    """Class decorator: add an instance of `cls` to REGISTRY under `cls.name`."""
    name = cls.name
    if name in REGISTRY and type(REGISTRY[name]).__qualname__ != cls.__qualname__:
        raise ValueError(f"exporter {name!r} is registered twice ({type(REGISTRY[name]).__module__}, {cls.__module__})")
    bad = [u for u in cls.units if u not in UNITS]
    if not cls.units or bad:
        raise ValueError(f"exporter {name!r}: units must be a non-empty subset of {UNITS}, got {cls.units}")
    if not dataclasses.is_dataclass(cls.Options):
        raise ValueError(f"exporter {name!r}: Options must be a dataclass")
    REGISTRY[name] = cls()
    return cls


_LOADED = False


def load_all() -> dict[str, Exporter]:
    """Import every module of amass_arrow.export (registration happens on import); returns REGISTRY."""
    global _LOADED
    if not _LOADED:
        pkg = importlib.import_module(__package__)
        for m in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{__package__}.{m.name}")
        _LOADED = True
    return REGISTRY


def names() -> list[str]:
    return sorted(load_all())


def get(name: str) -> Exporter:
    reg = load_all()
    if name not in reg:
        raise ConfigError(f"unknown exporter {name!r}; known: {', '.join(sorted(reg))}")
    return reg[name]


def option_fields() -> dict[str, dataclasses.Field]:
    """Every registered exporter's option fields by name (the CLI adds one flag each); same name = same type."""
    out: dict[str, dataclasses.Field] = {}
    for e in load_all().values():
        for f in dataclasses.fields(e.Options):
            if f.name in out and type(out[f.name].default) is not type(f.default):
                raise ValueError(f"option {f.name!r} has different types in two exporters")
            out.setdefault(f.name, f)
    return out


def parse_options(cls: type, data: dict[str, Any], where: str) -> Any:
    """`cls(**data)` with unknown keys rejected and values coerced to the defaults' types (int, float, bool, str)."""
    fields = known_fields(cls, data, where, "option")
    kw = {}
    for k, v in data.items():
        d = fields[k].default
        try:
            if isinstance(d, bool):
                if isinstance(v, str):
                    if v.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(v)
                    v = v.lower() in ("true", "1", "yes")
                v = bool(v)
            elif isinstance(d, int) and v is not None:
                if isinstance(v, float) and not v.is_integer():
                    raise ValueError(v)
                v = int(v)
            elif isinstance(d, float) and v is not None:
                v = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.{k}: expected {type(d).__name__}, got {v!r}") from None
        kw[k] = v
    opts = cls(**kw)
    check = getattr(opts, "validate", None)
    if check is not None:
        check(where)
    return opts
