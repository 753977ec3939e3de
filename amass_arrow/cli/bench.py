"""CLI command `bench`: the full benchmark (library: amass_arrow.tools.bench)."""

from __future__ import annotations

from pathlib import Path

from amass_arrow.tools.bench import format_table, run
from amass_arrow.tools.bench.humanml3d import format_row, run_humanml3d
from amass_arrow.tools.bench.targets import DEFAULT_FRAMES, DEFAULT_WORKERS, HF_BATCHES, SMPLX_SEQUENCES

from . import command


def _bench_args(p):
    p.add_argument("--out", default="bench-out", help="working folder: synthetic archives, stores, exports, bench.json")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help=f"approximate source frames (default {DEFAULT_FRAMES:,})")
    p.add_argument("--no-scaling", dest="scaling", action="store_false", help="skip the second (doubled) archive")
    p.add_argument("--workers", type=int, nargs="+", default=list(DEFAULT_WORKERS),
                   help=f"worker counts to build with (default {' '.join(map(str, DEFAULT_WORKERS))})")
    p.add_argument("--smplx-sequences", type=int, default=SMPLX_SEQUENCES,
                   help=f"most sequences in the smplx baseline sample (default {SMPLX_SEQUENCES})")
    p.add_argument("--hf-batches", type=int, default=HF_BATCHES, help=f"batches timed for with_format('torch') (default {HF_BATCHES})")
    p.add_argument("--no-ray", dest="ray", action="store_false", help="skip the Ray executor build (its overhead vs the local pool)")
    p.add_argument("--humanml3d", type=float, default=1.0, metavar="SCALE",
                   help="size of the HumanML3D row's synthetic clone, a fraction of HumanML3D's 29,232 clips (0: skip)")
    p.add_argument("--humanml3d-only", action="store_true", help="time only the HumanML3D row (--humanml3d SCALE)")
    p.add_argument("--seed", type=int, default=0)


@command("bench", "measure build/export/loading speed, memory and size against baselines in the same run",
         "examples:\n  amass-arrow bench --out bench-out\n  amass-arrow bench --frames 200000 --no-scaling")(_bench_args)
def _bench(args):
    if args.humanml3d_only:
        print(format_row(run_humanml3d(Path(args.out), args.humanml3d or 1.0, args.seed)))
        return
    res = run(args.out, args.frames, scaling=args.scaling, seed=args.seed, workers=tuple(args.workers),
              smplx_sequences=args.smplx_sequences, hf_batches=args.hf_batches, ray=args.ray, humanml3d=args.humanml3d)
    print(format_table(res))
