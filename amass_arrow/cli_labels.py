"""`amass-arrow labels import {babel,humanml3d,filename} STORE ...`: label tables into a store.

Each import reads the annotations, resolves them to the store's seq_ids, publishes
`labels/<source>.parquet` (+ `labels/unmatched/<source>.parquet`) as a new immutable build and
prints a JSON summary with unmatched counts by reason.
"""

from __future__ import annotations

import argparse
import json

from .cli import command

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
    b = src.add_parser("babel", help="BABEL json files (train/val/extra_*.json)")
    b.add_argument("store", help="store path")
    b.add_argument("babel_dir", help="babel_v1.0_release/ folder")
    h = src.add_parser("humanml3d", help="HumanML3D index.csv and texts/")
    h.add_argument("store", help="store path")
    h.add_argument("index_csv", help="HumanML3D index.csv")
    h.add_argument("texts_dir", help="HumanML3D texts/ folder (train/val/test.txt beside it fill source_split)")
    f = src.add_parser("filename", help="keyword rules on sequence names (walk, run, jump, ...)")
    f.add_argument("store", help="store path")
    for q in (b, h, f):
        q.add_argument("--dry-run", action="store_true", help="resolve and report, publish nothing")
        q.add_argument("--show-unmatched", type=int, default=5, metavar="N", help="print the first N unmatched (default 5)")


@command("labels", "import BABEL / HumanML3D / file-name labels into a store", _EPILOG)(_labels_args)
def _labels(args):
    from .labels import write_labels

    if args.labels_source == "babel":
        from .labels.babel import import_babel

        res = import_babel(args.store, args.babel_dir)
    elif args.labels_source == "humanml3d":
        from .labels.humanml3d import import_humanml3d

        res = import_humanml3d(args.store, args.index_csv, args.texts_dir)
    else:
        from .labels.filename import import_filename

        res = import_filename(args.store)
    summary = res.summary()
    if not args.dry_run:
        summary["build"] = write_labels(args.store, res).name
    summary["first_unmatched"] = [
        {k: u[k] for k in ("source_ref", "reason", "message")} for u in res.unmatched if not u["imported"]
    ][: args.show_unmatched]
    print(json.dumps(summary, indent=2))
