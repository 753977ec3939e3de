"""CLI command `report`: one self-contained HTML page about a store (library: amass_arrow.tools.report)."""

from __future__ import annotations

from amass_arrow.tools.report import make_report

from . import command, store_arg


def _report_args(p):
    store_arg(p)
    p.add_argument("-o", "--out", required=True, help="output .html file (images embedded; no other files)")
    p.add_argument("--worst", type=int, default=2,
                   help="stick-figure strips of the N worst takes per quality metric (default 2; 0: none)")


@command("report", "an HTML page: hours per dataset, fps and duration histograms, contacts and quality metrics, "
         "flags, rejects by reason, and the worst takes drawn",
         "examples:\n  amass-arrow report demo/store -o report.html\n"
         "  amass-arrow report demo/store -o report.html --worst 0   # no stick figures (faster)")(_report_args)
def _report(args):
    out = make_report(args.store, args.out, worst=args.worst)
    print(f"wrote {out}")
