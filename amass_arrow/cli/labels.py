"""`amass-arrow labels import {babel,humanml3d,filename} STORE ...`: label tables into a store.

Each import reads the annotations, resolves them to the store's seq_ids, publishes
`labels/<source>.parquet` (+ `labels/unmatched/<source>.parquet`) as a new immutable build and
prints a JSON summary with unmatched counts by reason.
"""

from __future__ import annotations

import argparse
import json

from amass_arrow.labels import SOURCES, write_labels
from amass_arrow.schema import UNM

from . import command, store_arg

_EPILOG = """examples:
  amass-arrow labels import babel demo/store demo/synth/annotations/babel/
  amass-arrow labels import humanml3d demo/store HumanML3D/index.csv HumanML3D/texts/
  amass-arrow labels import filename demo/store
  amass-arrow query demo/store "SELECT * FROM labels WHERE proc_label = 'walk'"

unmatched annotations (and imported ones with warnings) are listed in
STORE/labels/unmatched/<source>.parquet with a reason code; --show-unmatched N prints some."""


def _labels_args(p):
    sub = p.add_subparsers(dest="labels_action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import one annotation source into a store", epilog=_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    src = imp.add_subparsers(dest="labels_source", metavar="SOURCE", required=True)

    for source in SOURCES.values():
        q = src.add_parser(source.name, help=source.help)
        store_arg(q)
        for name, help_ in source.inputs:
            q.add_argument(name, help=help_)
        q.add_argument("--dry-run", action="store_true", help="resolve and report, publish nothing")
        q.add_argument("--show-unmatched", type=int, default=5, metavar="N", help="print the first N unmatched (default %(default)s)")


@command("labels", "import BABEL / HumanML3D / file-name labels into a store", _EPILOG)(_labels_args)
def _labels(args):
    source = SOURCES[args.labels_source]
    res = source.run(args.store, *(getattr(args, name) for name, _ in source.inputs))
    summary = res.summary()
    if not args.dry_run:
        summary["build"] = write_labels(args.store, res).name
    summary["first_unmatched"] = [
        {k: u[k] for k in (UNM.source_ref, UNM.reason, UNM.message)} for u in res.unmatched if not u[UNM.imported]
    ][: args.show_unmatched]
    print(json.dumps(summary, indent=2))
