"""Exporters: a checked split table (amass_arrow.splits) -> files a trainer loads.

`run_export` looks `ExportSpec.kind` up in the registry (amass_arrow.export.registry: one module per
format), writes `stats.json` (train split, per-feature mean/std, float64, when the exporter fed it)
and `provenance.json` beside the export, and returns its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def provenance(store, split_table, spec, fps: float | None) -> dict[str, Any]:
    import dataclasses

    i = store.info
    return {
        "store": str(store.layout.path), "store_root": str(store.root), "format_version": i.format_version,
        "build_id": i.build_id, "definition": split_table.name, "sql": split_table.sql, "params": split_table.params,
        "fps": fps, "store_fps": i.fps, "resample": i.resample, "joint_set": i.joint_set, "joint_names": i.joint_names,
        "frame": i.frame, "contacts": i.contacts, "export": dataclasses.asdict(spec),
    }


def export_step(store_fps: float | None, fps: float | None) -> int:
    """Keep every k-th store frame to reach `fps`; it must divide the store fps."""
    if fps is None or store_fps is None or fps == store_fps:
        return 1
    k = store_fps / fps
    if abs(k - round(k)) > 1e-6 or round(k) < 1:
        raise ConfigError(f"export fps {fps} must divide the store fps {store_fps} (every k-th frame)")
    return int(round(k))


def run_export(con, store, split_table, spec, out: Path, *, progress: bool = True) -> Path:
    from .frames import rows_table_name
    from .registry import ExportContext, get
    from .stats import FeatureStats

    exporter = get(spec.kind)
    spec.validate("export")
    rows_table_name(con, split_table.rows)

    step = export_step(store.info.fps, spec.fps)
    fps = store.info.fps / step if store.info.fps else None
    prov = provenance(store, split_table, spec, fps)
    stats = FeatureStats() if spec.stats else None
    ctx = ExportContext(con=con, store=store, split_table=split_table, spec=spec,
                        options=exporter.options(spec.options, f"export {spec.kind}.options"),
                        columns=list(exporter.columns if exporter.columns is not None else spec.columns),
                        num_joints=store.info.num_joints, provenance=prov, step=step, fps=fps, stats=stats,
                        progress=progress)
    out = Path(out)
    path = Path(exporter.export(ctx, out))
    (path / "provenance.json").write_text(json.dumps(prov, indent=1))
    if stats is not None and stats.stats:
        stats.save(path / "stats.json", split="train", dtype="float64", build_id=store.info.build_id)
    return path
