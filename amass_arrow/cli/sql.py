"""CLI commands over a store's SQL side: `query`, `build-splits`, `export` (library: sql, splits, export)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from amass_arrow.errors import ConfigError, SQLError
from amass_arrow.export.humanml3d_official import run_official
from amass_arrow.export.protomotions import read_motion_yaml, rows_sql
from amass_arrow.export.registry import get, load_all, option_fields
from amass_arrow.export.splits import DEFAULT_COLUMNS, ExportSpec, SplitsConfig, build_splits, load_splits_config
from amass_arrow.export.units import UNITS
from amass_arrow.query.splits import Definition
from amass_arrow.query.sql import connect, query
from amass_arrow.resources import find
from amass_arrow.schema import SEQ, SPLIT_ROWS_FILE

from . import command, quiet_arg, store_arg

#: rows `query --format table` shows unless --max-rows says otherwise
MAX_ROWS = 40


# ---------------------------------------------------------------- query
def _query_args(p):
    store_arg(p)
    p.add_argument("sql", help="SQL over the views frames, sequences, rejects, labels, info")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="bind V to $K (repeatable); a bare V binds to the next '?'. Values are strings: cast in SQL ($n::INT) if needed")
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table", help="output format (default table)")
    p.add_argument("-o", "--output", help="write to this file (required for parquet)")
    p.add_argument("--max-rows", type=int, default=MAX_ROWS, help=f"rows shown by --format table (default {MAX_ROWS})")


def parse_params(items: list[str]) -> dict[str, str] | list[str] | None:
    named = [i for i in items if "=" in i and i.split("=", 1)[0].isidentifier()]
    if named and len(named) != len(items):
        raise SQLError("use either K=V parameters ($K) or bare values (?), not both")
    if named:
        return {k: v for k, v in (i.split("=", 1) for i in items)}
    return list(items) or None


@command("query", "run SQL on a store (DuckDB) and print or save the result",
         "examples:\n  amass-arrow query demo/store \"SELECT dataset, count(*) FROM sequences GROUP BY ALL\"\n"
         "  amass-arrow query demo/store \"SELECT * FROM frames WHERE subject = $s\" --param s=01 --format csv -o f.csv\n"
         "  amass-arrow query demo/store \"SELECT seq_id, duration FROM sequences WHERE duration > ?\" --param 5 --format json")(_query_args)
def _query(args):
    if args.format == "parquet" and not args.output:
        raise ConfigError("--format parquet needs -o FILE")
    table = query(args.store, args.sql, parse_params(args.param))
    write_table(table, args.format, args.output, args.max_rows)


def write_table(table, fmt: str, output: str | None, max_rows: int = MAX_ROWS) -> None:
    if fmt == "parquet":
        pq.write_table(table, output)
        print(f"wrote {table.num_rows} rows to {output}")
        return
    if fmt == "table":
        text = render_table(table, max_rows)
    elif fmt == "json":
        text = "\n".join(json.dumps(r, default=str) for r in table.to_pylist()) + ("\n" if table.num_rows else "")
    else:

        cols = []
        for c in table.columns:  # nested values as JSON-ish text
            if pa.types.is_list(c.type) or pa.types.is_fixed_size_list(c.type) or pa.types.is_struct(c.type):
                c = pa.array([None if v is None else json.dumps(v) for v in c.to_pylist()], pa.string())
            cols.append(c)
        buf = io.BytesIO()
        pcsv.write_csv(pa.table(cols, names=table.column_names), buf)
        text = buf.getvalue().decode()
    if output:
        Path(output).write_text(text)
        print(f"wrote {table.num_rows} rows to {output}")
    else:
        sys.stdout.write(text)


def render_table(table, max_rows: int = MAX_ROWS, max_cell: int = 40) -> str:
    """A readable text table; wide arrays shown as '[a, b, c, … (n)]', cells cut at `max_cell`."""
    def cell(v) -> str:
        if isinstance(v, list):
            head = ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v[:3])
            s = f"[{head}{', … (' + str(len(v)) + ')' if len(v) > 3 else ''}]"
        elif isinstance(v, float):
            s = f"{v:.6g}"
        else:
            s = "NULL" if v is None else str(v)
        return s if len(s) <= max_cell else s[: max_cell - 1] + "…"

    rows = [[cell(v) for v in r.values()] for r in table.slice(0, max_rows).to_pylist()]
    names = table.column_names
    widths = [max([len(n)] + [len(r[k]) for r in rows]) for k, n in enumerate(names)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in rows]
    more = table.num_rows - len(rows)
    out.append(f"({table.num_rows} rows{', ' + str(more) + ' not shown' if more > 0 else ''})")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- build-splits / export
def _build_splits_args(p):
    store_arg(p)
    p.add_argument("--config", default=None, help="splits YAML (configs/splits.yaml); default: official split, HF frames")
    p.add_argument("--out", required=True, help=f"output folder: OUT/<definition>/{{{SPLIT_ROWS_FILE},report.json,<exporter>/}}")
    quiet_arg(p)


@command("build-splits", "run split definitions (sql/splits, sql/slices), check them for leakage, and export each",
         "example:\n  amass-arrow build-splits demo/store --config configs/splits.yaml --out demo/splits")(_build_splits_args)
def _build_splits(args):
    cfg_path = find(args.config, what="config file") if args.config else None  # configs/splits.yaml works anywhere
    cfg = load_splits_config(cfg_path)
    base = cfg_path.resolve().parent if cfg_path else None
    res = build_splits(args.store, cfg, args.out, base=base, progress=not args.quiet)
    for name, folder, path in res.outputs:
        print(f"output {name} {folder}: {path}")


def _export_args(p):
    store_arg(p)
    p.add_argument("--sql", help="split definition file, e.g. sql/splits/amass_official.sql (required, except with "
                   "--kind humanml3d --recipe official)")
    p.add_argument("--slice", action="append", default=[], help="slice file applied on top (repeatable, in order)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="DuckDB variable for the SQL (getvariable('K'))")

    reg = load_all()
    d = ExportSpec()  # every default is the config's (splits.ExportSpec)
    kinds = "; ".join(f"{k}: {reg[k].summary} (units {'/'.join(reg[k].units)})" for k in sorted(reg))
    p.add_argument("--kind", choices=sorted(reg), default=d.kind, help=f"exporter (default {d.kind}) — {kinds}")
    p.add_argument("--unit", choices=list(UNITS), default=d.unit, help="row unit (default: the exporter's first)")
    p.add_argument("--columns", nargs="+", help=f"features (default {' '.join(d.columns)})")
    p.add_argument("--window", type=int, default=d.window, help=f"frames per window (unit window; default {d.window})")
    p.add_argument("--stride", type=int, default=d.stride, help=f"frames between window starts (unit window; default {d.stride})")
    p.add_argument("--fps", type=float, default=d.fps, help="export rate; must divide the store fps")
    p.add_argument("--out", required=True, help="output folder")
    quiet_arg(p)
    for name, f in option_fields().items():  # each exporter's options (registry); only the set ones are passed
        kind = type(f.default)
        extra = {"nargs": "?", "const": "true"} if kind is bool else {}  # a bare --flag is true
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"opt_{name}", default=None, metavar=kind.__name__.upper(),
                       type=(lambda v: v) if kind is bool else kind, help=f.metadata.get("help", f"exporter option {name}"),
                       **extra)


@command("export", "export one split definition with one exporter",
         "examples:\n  amass-arrow export demo/store --sql sql/splits/amass_official.sql --kind hf --unit window --out out/hf\n"
         "  amass-arrow export demo/store --sql sql/splits/random_sequences.sql --param seed=3 --kind torch --out out/pt\n"
         "  amass-arrow export STORE --kind humanml3d --recipe official --humanml3d-dir HumanML3D --out out/hml3d "
         "[--humanact12 DIR] [--with-params]")(_export_args)
def _export(args):
    if args.kind == "humanml3d" and args.opt_recipe == "official":
        return _export_humanml3d_official(args)
    if not args.sql:
        raise ConfigError("--sql is required (a split definition file, e.g. sql/splits/amass_official.sql), except "
                          "with --kind humanml3d --recipe official")
    params = parse_params(args.param) or {}
    if isinstance(params, list):
        raise ConfigError("--param needs K=V for export (DuckDB variables)")
    name = Path(args.sql).stem
    options = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_") and v is not None}
    spec = ExportSpec(kind=args.kind, unit=args.unit, columns=args.columns or list(DEFAULT_COLUMNS), window=args.window,
                      stride=args.stride, fps=args.fps, options=options).validate("export")
    cfg = SplitsConfig(definitions=[Definition(name=name, sql=args.sql, slices=args.slice, params=params)], exports=[spec])
    res = build_splits(args.store, cfg, args.out, progress=not args.quiet)
    for name, folder, path in res.outputs:
        print(f"output {name} {folder}: {path}")


def _export_humanml3d_official(args):
    if args.sql or args.slice or args.param:
        raise ConfigError("--recipe official takes its clips and splits from --humanml3d-dir: drop --sql/--slice/--param")
    options = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_") and v is not None}
    opts = get("humanml3d").options(options, "export humanml3d")
    res = run_official(args.store, args.out, opts.humanml3d_dir, humanact12=opts.humanact12,
                       with_params=opts.with_params, body_models=opts.body_models, progress=not args.quiet)
    print(res.summary)


def _motion_yaml_args(p):
    store_arg(p)
    p.add_argument("--yaml", action="append", required=True, metavar="SPLIT=PATH",
                   help="a ProtoMotions motion YAML and the split its motions go to (repeatable), e.g. train=amass_train.yaml")
    p.add_argument("--out", required=True, help="split definition to write, e.g. sql/splits/protomotions.sql")


@command("import-motion-yaml", "turn ProtoMotions motion YAMLs (motions: [{file, weight, sub_motions: [{timings}]}]) "
         "into a split definition SQL file",
         "example:\n  amass-arrow import-motion-yaml demo/store --yaml train=train.yaml --yaml test=test.yaml "
         "--out sql/splits/proto.sql\n  amass-arrow export demo/store --sql sql/splits/proto.sql --kind protomotions --out out")(_motion_yaml_args)
def _import_motion_yaml(args):
    con = connect(args.store)
    cols = (SEQ.seq_id, SEQ.source_path)
    seqs = [dict(zip(cols, r)) for r in con.sql(f"SELECT {', '.join(cols)} FROM sequences").fetchall()]
    con.close()
    rows = []
    for item in args.yaml:
        split, sep, path = item.partition("=")
        if not sep or not split or not path:
            raise ConfigError(f"--yaml needs SPLIT=PATH, got {item!r}")
        rows += read_motion_yaml(path, seqs, split)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(rows_sql(rows, ", ".join(args.yaml)))
    print(f"{len(rows)} split rows -> {args.out}")
