"""CLI command `metrics`: the field's metrics (GMD skating ratio, FlowMDM jerk) on motion or on a store split
(library: amass_arrow.metrics)."""

from __future__ import annotations

import json
from pathlib import Path

from amass_arrow.errors import ConfigError
from amass_arrow.metrics import format_table, score
from amass_arrow.metrics.sources import folder_groups, read_lengths, store_groups
from amass_arrow.store.layout import StoreLayout

from . import command

_EPILOG = """examples:
  amass-arrow metrics out/humanml3d/HumanML3D              # a HumanML3D-format folder (new_joints/ or new_joint_vecs/)
  amass-arrow metrics generated/ --lengths lengths.json    # (T, 22, 3) .npy files; valid lengths of padded clips
  amass-arrow metrics demo/store --sql sql/splits/amass_official.sql --json gt.json   # ground truth of a store split

definitions (exact, quirks kept): skating ratio = GMD calculate_skating_ratio (toes 10/11, Y-up, 20 fps, 5 cm,
0.5 m/s, 5-frame average, divided by T - 1); jerk = FlowMDM calculate_jerk (third differences, no dt, L1 over
xyz, max over joints) with its PeakJerk and AUJ summaries. Motion must be Y-up metres at 20 fps (HumanML3D's)."""


def _metrics_args(p):
    p.add_argument("path", help="a HumanML3D-format folder, a folder of (T, 22, 3) joint .npy files, or a store (with --sql)")
    p.add_argument("--sql", help="split SQL file: score the store's ground truth per split (PATH is a store)")
    p.add_argument("--lengths", help="valid frames per clip of padded motion: JSON {id: length} or 'id length' lines")
    p.add_argument("--json", dest="json_out", help="also write the numbers to this JSON file")


@command("metrics", "the field's motion metrics (GMD skating ratio, FlowMDM jerk, PeakJerk, AUJ) per split, on "
         "generated motion or a store's ground truth", _EPILOG)(_metrics_args)
def _metrics(args):
    if args.sql:
        groups, source = store_groups(args.path, args.sql)
    else:
        if (Path(args.path) / "meta" / "info.json").is_file() and StoreLayout(args.path).current() is not None:
            raise ConfigError(f"{args.path} is a store: give --sql SPLIT.sql to score its ground truth")
        groups, source = folder_groups(args.path, read_lengths(args.lengths))
    summaries = [score(g) for g in groups if g.joints]
    if not summaries:
        raise ConfigError(f"{args.path}: no clip with at least 2 frames to score")
    print(format_table(summaries, source))
    if args.json_out:
        out = Path(args.json_out)
        out.write_text(json.dumps({"source": source, "splits": [s.as_dict() for s in summaries]}, indent=1))
        print(f"wrote {out}")
