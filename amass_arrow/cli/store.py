"""CLI commands on archives and stores: synth, build, info, inventory, render, verify."""

from __future__ import annotations

import argparse

from amass_arrow.build.orchestrate import build, dataset_table
from amass_arrow.config import (
    CONTACT_METHODS,
    EXECUTORS,
    RESAMPLE_MODES,
    SOURCE_FRAMES,
    BuildConfig,
    load_build_config,
    parse_workers,
)
from amass_arrow.errors import BuildError, ConfigError
from amass_arrow.motion.quality import describe_rules
from amass_arrow.schema import FRAMES, JOINT_SETS
from amass_arrow.source.discover import discover, inventory
from amass_arrow.store.open import open_store
from amass_arrow.store.verify import verify
from amass_arrow.tools.render import render_sequence
from amass_arrow.tools.synthetic import synth

from .table import command, quiet_arg, store_arg


# ---------------------------------------------------------------- synth
def _synth_args(p):
    p.add_argument("out", help="output folder: writes OUT/amass/ and OUT/body_models/")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--target-frames", type=int, default=None, help="approximate total source frames (default: small demo)")
    p.add_argument("--annotations", action="store_true", help="also write BABEL- and HumanML3D-format annotation files")


@command("synth", "write a synthetic AMASS-like archive and synthetic body models (not SMPL; for demos and tests)",
         "example:\n  amass-arrow synth demo/\n  amass-arrow synth big/ --target-frames 1000000")(_synth_args)
def _synth(args):
    kw = {"seed": args.seed}
    if args.target_frames:
        kw["target_frames"] = args.target_frames
    if args.annotations:
        kw["annotations"] = True
    res = synth(args.out, **kw)
    print(f"wrote {len(res.files)} synthetic sequences to {res.amass_root}\nbody models in {res.body_models}")


# ---------------------------------------------------------------- build
def _build_args(p):
    d = BuildConfig()  # defaults shown in --help are the typed config's; flags left unset keep them
    m = d.motion
    p.add_argument("amass_root", nargs="?", help="AMASS root folder (<dataset>/<subject>/*.npz)")
    p.add_argument("--body-models", help="folder with smpl/ smplh/ smplx/ model files")
    p.add_argument("--out", help="store path to create or update")
    p.add_argument("--config", help="YAML build config (configs/build.yaml); flags override it")
    p.add_argument("--workers", type=_workers_arg, help=f"worker processes, or auto (default: {d.workers}, one per usable CPU)")
    p.add_argument("--executor", choices=EXECUTORS, help=f"where conversions run: local processes or Ray (default {d.executor})")
    p.add_argument("--address", help="Ray cluster to join with --executor ray ('auto' = the running one); default: start a local Ray")
    p.add_argument("--datasets", nargs="+", help="only these dataset folders (either SMPL+H or SMPL-X names)")
    p.add_argument("--fps", type=float, help=f"store frame rate in Hz (default {m.fps:g})")
    p.add_argument("--resample", choices=RESAMPLE_MODES, help=f"how to reach the store fps (default {m.resample})")
    p.add_argument("--joints", help=f"joint set: {', '.join(JOINT_SETS)} or skeleton (default {m.joints})")
    p.add_argument("--frame", choices=FRAMES, help=f"coordinate frame of joints and trans (default {m.frame})")
    p.add_argument("--contacts", choices=CONTACT_METHODS,
                   help=f"foot-contact method (default: {m.contacts}; the others reproduce a peer's labels, for parity)")
    p.add_argument("--source-frame", choices=SOURCE_FRAMES,
                   help=f"up axis of the input files (default {m.source_frame}): auto = decided per sequence from the "
                        "pose; Y-up files are stood upright and the decision is in sequences.source_frame | z_up (AMASS) | y_up")
    p.add_argument("--joint-velocities", action="store_true", default=None, help="add joint_vel column (m/s)")
    p.add_argument("--force", action="store_true", default=None, help="rebuild everything, reusing nothing")
    p.add_argument("--replace", action="store_true", default=None,
                   help="allow replacing the store's contents: a build from another archive that removes sequences, "
                        "or one that removes more than half of them (refused without this flag)")
    quiet_arg(p)


def _workers_arg(text: str):
    """argparse type of --workers: 'auto' or an integer >= 1."""

    try:
        parse_workers(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text if text == "auto" else int(text)


@command("build", "convert an AMASS archive into a store (incremental and resumable)",
         "examples:\n  amass-arrow build /data/amass --body-models /data/body_models --out /data/store --workers 2\n"
         "  amass-arrow build --config configs/build.yaml --fps 60\n"
         "  amass-arrow build s3://bucket/amass --body-models /data/body_models --out s3://bucket/store --executor ray --address auto")(_build_args)
def _build(args):
    cfg = load_build_config(
        args.config, amass_root=args.amass_root, body_models=args.body_models, out=args.out, workers=args.workers,
        executor=args.executor, address=args.address,
        datasets=args.datasets, force=args.force, replace=args.replace, motion_fps=args.fps, motion_resample=args.resample,
        motion_joints=args.joints, motion_frame=args.frame, motion_contacts=args.contacts,
        motion_source_frame=args.source_frame, motion_joint_velocities=args.joint_velocities,
    )
    res = build(cfg, progress=not args.quiet)
    print(res.summary())
    print(f"store: {res.store}  (build {res.build_id}, {res.elapsed:.1f} s)")
    failure = res.failure()
    if failure:
        raise BuildError(failure)


# ---------------------------------------------------------------- info / inventory
def _info_args(p):
    store_arg(p)
    p.add_argument("--json", action="store_true", help="print the whole info.json")


@command("info", "show what a store holds", "example:\n  amass-arrow info demo/store")(_info_args)
def _info(args):
    s = open_store(args.store)
    if args.json:
        print(s.info.to_json())
        return
    i = s.info
    print(f"store        {s.layout.path} -> {s.root}")
    print(f"format       v{i.format_version}, build {i.build_id}, created {i.created}")
    print(f"motion       {i.fps if i.fps else 'per-sequence'} fps ({i.resample}), joints {i.joint_set} ({len(i.joint_names)}), frame {i.frame}")
    c = i.contacts
    if c.get("method", "default") == "default" and "speed" in c:
        print(f"contacts     default: speed < {c['speed']} m/s over {c['window']:.3g} s and < {c['height']} m above the "
              f"local floor (hysteresis {c['speed_exit']} m/s, {c['height_exit']} m)")
    else:
        print(f"contacts     {c.get('method')} (parity): " + ", ".join(
            f"{k} {v}" for k, v in c.items() if k not in ("method", "columns", "foot_joints", "floor")))
    if i.quality.get("thresholds"):
        print("quality      flags " + ", ".join(describe_rules(i.quality)))
    print(f"contents     {i.num_sequences} sequences, {i.num_frames} frames, {i.num_rejects} rejects")
    if i.source:
        print(f"source       {i.source['root']} ({i.source['files']} files, content fingerprint {i.source['fingerprint']})")
    print("\n".join(dataset_table(i.datasets)))


def _inventory_args(p):
    p.add_argument("amass_root", help="AMASS root folder")


@command("inventory", "list the datasets, subjects and files under an AMASS root (reads no motion data)",
         "example:\n  amass-arrow inventory /data/amass")(_inventory_args)
def _inventory(args):
    disc = discover(args.amass_root)
    print(f"{'dataset':<24}{'subjects':>9}{'files':>8}{'MB':>10}")
    for ds, row in inventory(disc).items():
        print(f"{ds:<24}{row['subjects']:>9}{row['files']:>8}{row['bytes'] / 1e6:>10.1f}")
    for p in disc.problems:
        print(f"problem: {p}")


# ---------------------------------------------------------------- render
def _render_args(p):
    store_arg(p)
    p.add_argument("seq_id", help="sequence id, e.g. CMU/01/01_01")
    p.add_argument("-o", "--out", required=True, help="output .gif (animation) or .png (frame strip)")
    p.add_argument("--start", type=float, help="start time in seconds")
    p.add_argument("--end", type=float, help="end time in seconds")


@command("render", "draw a stick figure of one sequence with the floor and foot contacts",
         "example:\n  amass-arrow render demo/store CMU/01/01_01 -o walk.gif --start 0 --end 3")(_render_args)
def _render(args):
    out = render_sequence(args.store, args.seq_id, args.out, start=args.start, end=args.end)
    print(f"wrote {out}")


# ---------------------------------------------------------------- verify
def _verify_args(p):
    store_arg(p)
    p.add_argument("--quick", action="store_true", help="sizes, row counts and footers only (no hashes, no full read)")


@command("verify", "check a store against its manifest; exits 1 with a precise report on corruption",
         "example:\n  amass-arrow verify demo/store")(_verify_args)
def _verify(args):
    rep = verify(args.store, quick=args.quick)
    print(rep.text())
    if not rep.ok:
        raise SystemExit(1)


