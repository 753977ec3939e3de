"""Exporters: a checked split table (amass_arrow.query.splits) -> files a trainer loads.

`run_export` looks `ExportSpec.kind` up in the registry (amass_arrow.export.registry: one module per
format), writes `stats.json` (train split, per-feature mean/std, float64, when the exporter fed it)
and `provenance.json` beside the export, and returns its path.

Every exporter writes into a fresh hidden folder beside OUT (`.<name>.partial-<pid>`) and `run_export`
swaps it in (`publish_export`): OUT holds either the previous complete export or the new one, never a
mix, and an interrupted export leaves the previous one (or none). `provenance.json` marks a folder as an
export of ours: an existing OUT without it is refused, never replaced (`is_export`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import ConfigError, ExportError
from ..io.atomic import pid_alive
from .frames import rows_table_name
from .registry import ExportContext, get
from .stats import FeatureStats

#: the file every export carries (run_export writes it last into the fresh folder); it marks the folder as ours
MARK = "provenance.json"
#: a fault-injection seam for tests: called with each point's name ("written", "marked", "set_aside", "swapped")
FAULT: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if FAULT is not None:
        FAULT(point)


def check_folder_name(name: Any, where: str) -> str:
    """`name` if it is a plain folder name (no separators, not '', '.' or '..'), else ConfigError."""
    if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name
            or name != name.strip() or (os.altsep and os.altsep in name)):
        raise ConfigError(f"{where}: {name!r} is not a plain folder name (no '/', '\\', '.', '..' or empty name)")
    return name


def is_export(path: Path) -> bool:
    """True when `path` is a folder that an amass_arrow export wrote (its provenance.json names a build and an export)."""
    try:
        prov = json.loads((Path(path) / MARK).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(prov, dict) and "build_id" in prov and isinstance(prov.get("export"), dict)


def _old(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def _partial_prefix(out: Path) -> str:
    return f".{out.name}.partial-"




def check_export_target(out: Path) -> None:
    """Refuse an OUT that exists and is not an earlier export of ours (an empty folder is fine); recover
    what an interrupted swap left: a previous export set aside comes back, stale partial folders go."""
    out = Path(out)
    old = _old(out)
    if not out.exists() and not out.is_symlink() and old.is_dir() and is_export(old):
        old.rename(out)  # killed between the two renames of a swap: the previous complete export comes back
    elif old.is_dir() and is_export(old):
        _remove_export(old)  # killed after the swap: the set-aside previous export was ours to delete
    elif old.is_dir() and not any(old.iterdir()):
        old.rmdir()  # a delete killed between its last two steps
    if out.parent.is_dir():
        for p in out.parent.glob(_partial_prefix(out) + "*"):
            pid = p.name[len(_partial_prefix(out)):]
            if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)  # an interrupted export's unfinished folder
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out}: exists and is not a folder; refusing to replace it (choose another --out or name)")
    if out.is_dir() and any(out.iterdir()) and not is_export(out):
        raise ExportError(f"{out}: is not an earlier amass_arrow export (no {MARK}) and is not empty; refusing to "
                          f"replace it: choose another --out or name, or move its files away")


def publish_export(out: Path, write: Callable[[Path], Any]) -> Path:
    """Run `write(fresh)` on a new folder beside `out`, then swap it in place of `out` (kept until then).

    Killed or failing (ENOSPC) anywhere, `out` stays the previous complete export, or is absent, with the
    previous one set aside at `.<name>.old` and put back by the next run (check_export_target).
    """
    out = Path(out)
    check_export_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = out.parent / f"{_partial_prefix(out)}{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    old, swapped = _old(out), False
    try:
        write(fresh)
        _fault("marked")
        check_export_target(out)  # again: someone may have put files there while this export ran
        if out.is_dir() and any(out.iterdir()):
            out.rename(old)
            _fault("set_aside")
        elif out.is_dir():
            out.rmdir()
        fresh.rename(out)
        swapped = True
        _fault("swapped")
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        if not swapped and not out.exists() and old.is_dir():
            old.rename(out)  # a failed swap: the previous export back in place
        raise
    finally:
        if swapped and old.is_dir():
            try:
                _remove_export(old)  # the previous export, replaced
            except OSError:
                pass  # still marked as ours: the next export removes it
    return out


def _remove_export(d: Path) -> None:
    """Delete an export folder of ours, its mark last: a delete killed halfway still reads as ours, so the next
    run finishes it (an unmarked `.<name>.old` would block every later swap)."""
    for p in d.iterdir():
        if p.name == MARK:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    (d / MARK).unlink(missing_ok=True)
    d.rmdir()


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
    check_folder_name(out.name, "export output folder")

    def write(fresh: Path) -> None:
        path = Path(exporter.export(ctx, fresh))
        if path.resolve() != fresh.resolve():
            raise ExportError(f"exporter {spec.kind!r} wrote {path}, not the folder it was given ({fresh})")
        _fault("written")
        if stats is not None and stats.stats:
            stats.save(fresh / "stats.json", split="train", dtype="float64", build_id=store.info.build_id)
        (fresh / MARK).write_text(json.dumps(prov, indent=1))  # last: only a complete export carries it

    try:
        return publish_export(out, write)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ExportError(f"{out}: no space left while exporting ({exc.filename or exc}); the previous export "
                              f"(if any) is intact. Free space and re-run") from None
        raise
