"""Exporters: a checked split table (amass_arrow.query.splits) -> files a trainer loads.

`run_export` looks `ExportSpec.kind` up in the registry (amass_arrow.export.registry: one module per
format), writes `stats.json` (train split, per-feature mean/std, float64, when the exporter fed it)
and `provenance.json` beside the export, and returns its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import schema
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


def export_plan(store_fps: float | None, rows, fps: float | None) -> tuple[int | None, float | None, Any]:
    """(step, export fps, rows) for exporting split `rows` (a pa.Table with store_fps) at `fps`.

    A store with one rate (resample='interpolate') keeps every k-th frame (`export_step`). A 'decimate' or
    'none' store has a rate per sequence (sequences.store_fps): each row keeps every k-th frame of its own
    sequence, k = store_fps / fps, so every exported row is at exactly `fps`; rates that `fps` does not
    divide raise ConfigError (nothing is exported at a rate other than the one asked for). When k differs
    between rows, step is None and the returned rows carry it as column `export_step`.
    """
    if store_fps is not None or fps is None:
        step = export_step(store_fps, fps)
        return step, (store_fps / step if store_fps else None), rows
    rates = sorted(set(rows[schema.SPL.store_fps].to_pylist())) if rows.num_rows else []
    bad = [r for r in rates if abs(r / fps - round(r / fps)) > 1e-6 or round(r / fps) < 1]
    if bad:
        ids = rows[schema.SPL.seq_id].to_pylist()
        examples = [ids[rows[schema.SPL.store_fps].to_pylist().index(r)] for r in bad[:3]]
        raise ConfigError(
            f"export fps {fps:g} does not divide the rate of every sequence in this store (built with per-sequence "
            f"rates, resample 'decimate' or 'none'): {', '.join(f'{r:g} Hz (e.g. {e})' for r, e in zip(bad, examples))}"
            f"{' ...' if len(bad) > 3 else ''}. Export without --fps (each sequence at its own rate), pick an fps "
            f"dividing every rate, or rebuild the store with --resample interpolate --fps {fps:g}"
        )
    steps = {r: int(round(r / fps)) for r in rates}
    if len(set(steps.values())) <= 1:
        return (next(iter(steps.values())) if steps else 1), float(fps), rows
    import pyarrow as pa

    per_row = pa.array([steps[r] for r in rows[schema.SPL.store_fps].to_pylist()], pa.int64())
    return None, float(fps), rows.append_column(schema.SPL.export_step, per_row)


def run_export(con, store, split_table, spec, out: Path, *, progress: bool = True) -> Path:
    from .frames import rows_table_name
    from .registry import ExportContext, get
    from .stats import FeatureStats

    exporter = get(spec.kind)
    spec.validate("export")
    step, fps, rows = export_plan(store.info.fps, split_table.rows, spec.fps)
    rows_table_name(con, rows)
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
