"""`build-splits`: the splits config (definitions x exporters, `configs/splits.yaml`) and the job that writes them.

`configs/splits.yaml` (typed by `SplitsConfig`; every default is in the dataclasses below)::

    definitions:
      - name: official
        sql: sql/splits/amass_official.sql
        slices: [sql/slices/trim_heads.sql]
        params: {}            # DuckDB variables, read in SQL with getvariable('name')
    exports:
      - {kind: hf, unit: frame}
      - {kind: hf, unit: window, window: 60, stride: 30}
      - {kind: torch}
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amass_arrow import schema
from amass_arrow.config import from_dict, load_yaml
from amass_arrow.errors import ConfigError, ExportError
from amass_arrow.export import check_export_target, check_folder_name, export_plan, run_export
from amass_arrow.export.frames import FEATURES
from amass_arrow.export.registry import get, names
from amass_arrow.io.atomic import write_parquet_atomic, write_text_atomic
from amass_arrow.query.splits import Definition, format_report, materialize, report
from amass_arrow.query.sql import connect
from amass_arrow.resources import find
from amass_arrow.schema import FRM
from amass_arrow.store.open import open_store
from amass_arrow.store.reader import Store

DEFAULT_COLUMNS = [FRM.root_orient, FRM.pose_body, FRM.pose_hand, FRM.trans, FRM.joints, schema.CONTACTS_FEATURE]


@dataclass
class ExportSpec:
    """One exporter run for each definition it names (all when `definitions` is empty)."""

    kind: str = "hf"  # a registered exporter (amass_arrow.export.registry): hf | torch | ...
    unit: str | None = None  # frame | slice | window (fixed length); None = the exporter's first unit
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    window: int = 60  # frames per window (unit=window), at the export fps
    stride: int = 30  # frames between window starts (unit=window), at the export fps
    fps: float | None = None  # export rate; must divide the store fps (every k-th frame); None = store fps
    stats: bool = True  # write stats.json (train split, per feature mean/std)
    definitions: list[str] = field(default_factory=list)
    name: str | None = None  # output folder; default '<kind>_<unit>' ('<kind>' for single-unit exporters)
    options: dict[str, Any] = field(default_factory=dict)  # the exporter's own options (its Options dataclass)

    @property
    def folder(self) -> str:
        e = get(self.kind)
        return self.name or e.folder(self.unit or e.units[0])

    def validate(self, where: str) -> ExportSpec:
        if self.kind not in names():
            raise ConfigError(f"{where}.kind must be one of {', '.join(names())}; got {self.kind!r}")
        e = get(self.kind)
        if self.name is not None:
            check_folder_name(self.name, f"{where}.name")
        if self.unit is None:
            self.unit = e.units[0]
        if self.unit not in e.units:
            raise ConfigError(f"{where}.unit must be one of {', '.join(e.units)} for {self.kind}; got {self.unit!r}")
        e.options(self.options, f"{where}.options")
        if int(self.window) < 1 or int(self.stride) < 1:
            raise ConfigError(f"{where}: window and stride must be >= 1 frames")
        bad = [c for c in self.columns if c not in FEATURES]
        if bad:
            raise ConfigError(f"{where}.columns: unknown {', '.join(bad)}; known: {', '.join(FEATURES)}")
        return self


@dataclass
class SplitsConfig:
    """What `build-splits` builds: definitions x exporters."""

    definitions: list[Definition] = field(default_factory=lambda: [Definition()])
    exports: list[ExportSpec] = field(default_factory=lambda: [ExportSpec()])


def load_splits_config(path: str | Path | None = None) -> SplitsConfig:
    """Read a splits YAML (unknown keys rejected); no path = the defaults above.

    A relative path that is not in the current folder is looked up in the shipped files
    (`configs/splits.yaml` works from any folder).
    """
    if path is None:
        return SplitsConfig()
    path = find(path, what="config file")
    data = load_yaml(path)
    unknown = sorted(set(data) - {"definitions", "exports"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; known: definitions, exports")
    defs = [from_dict(Definition, d, f"{path}: definitions[{k}]") for k, d in enumerate(data.get("definitions") or [])]
    exps = [from_dict(ExportSpec, e, f"{path}: exports[{k}]").validate(f"{path}: exports[{k}]")
            for k, e in enumerate(data.get("exports") or [])]
    names = [d.name for d in defs]
    _check_definition_names(defs, str(path))
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: definition names must be unique, got {names}")
    for e in exps:
        missing = set(e.definitions) - set(names)
        if missing:
            raise ConfigError(f"{path}: export {e.folder} names unknown definition(s) {', '.join(sorted(missing))}")
    config = SplitsConfig(definitions=defs or [Definition()], exports=exps)
    _check_unique_folders(config, str(path))
    return config


def _check_unique_folders(config: SplitsConfig, where: str) -> None:
    """Two exports of one definition may not write the same folder (the second would replace the first)."""
    for d in config.definitions:
        seen: dict[str, int] = {}
        for k, e in enumerate(config.exports):
            if e.definitions and d.name not in e.definitions:
                continue
            if e.folder in seen:
                raise ConfigError(f"{where}: exports[{seen[e.folder]}] and exports[{k}] both write {d.name}/{e.folder}; "
                                  f"give one a `name:`")
            seen[e.folder] = k


def _check_definition_names(defs: list[Definition], where: str) -> None:
    """Definition names are folders under OUT: plain names only (ConfigError)."""
    for k, d in enumerate(defs):
        check_folder_name(d.name, f"{where}: definitions[{k}].name")


@dataclass
class SplitsResult:
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # definition -> report
    outputs: list[tuple[str, str, Path]] = field(default_factory=list)  # (definition, exporter folder, path)


def build_splits(store, config: SplitsConfig, out: str | Path, *, base: Path | None = None,
                 progress: bool = True, log=print) -> SplitsResult:
    """Materialize and check every definition first, then write rows, reports and every export under OUT/<definition>/."""
    st = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    _check_definition_names(config.definitions, "build-splits")
    for e in config.exports:
        e.validate("build-splits export")
    _check_unique_folders(config, "build-splits")
    con = connect(st)
    tables = [materialize(con, d, base) for d in config.definitions]  # all checks before any write
    for t in tables:  # an export rate the store cannot deliver fails here, before anything is written
        for e in config.exports:
            if not e.definitions or t.name in e.definitions:
                export_plan(st.info.fps, t.rows, e.fps)
                check_export_target(out / t.name / e.folder)  # a folder that is not an export of ours: refused now
    res = SplitsResult()
    for t in tables:
        d = out / t.name
        d.mkdir(parents=True, exist_ok=True)
        rep = report(t)
        res.reports[t.name] = rep
        try:  # atomic: a kill or a full disk never leaves half a file
            write_parquet_atomic(t.rows, d / schema.SPLIT_ROWS_FILE)
            write_text_atomic(json.dumps(rep, indent=2), d / "report.json")
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise ExportError(f"{d}: no space left while writing the split rows; the previous files are intact. "
                                  f"Free space and re-run") from None
            raise
        log(format_report(t.name, rep))
        for e in config.exports:
            if e.definitions and t.name not in e.definitions:
                continue
            path = run_export(con, st, t, e, d / e.folder, progress=progress)
            res.outputs.append((t.name, e.folder, path))
            log(f"{e.kind} ({e.unit}) {t.name}: {path}")
    con.close()
    return res
