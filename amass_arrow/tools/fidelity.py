"""Contact fidelity: each contact method against the ground truth of the scripted mocap-like feet.

`python -m amass_arrow.tools.fidelity` (or `make fidelity`) prints, per motion kind x source rate x method,
the per-frame agreement of the per-foot flags (ankle or toe) with the ground truth, the frames with
at least one foot flagged, and the share of ground-truth flight frames (no foot down) that a method
flags. The takes come from `amass_arrow.tools.synthetic.feet` (heel strike, toe roll, push-off, jitter,
wobble and drift), so the numbers say how a method copes with mocap-like errors, not with real data.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass

import numpy as np

from amass_arrow.motion.contacts import METHODS, DefaultParams, detect
from amass_arrow.tools.synthetic.feet import KINDS, RATES, FootTake, make_take


@dataclass
class Score:
    """Per-frame scores of one method on one or more takes (fractions in [0, 1])."""

    agreement: float  # frames where both feet's flags equal the ground truth
    one_foot: float  # frames with at least one foot flagged
    flight_flagged: float  # of the ground-truth frames with no foot down, those with a foot flagged (nan if none)
    frames: int


def foot_flags(joint_flags: np.ndarray) -> np.ndarray:
    """(T, 4) flags in feet.JOINTS order -> (T, 2) per foot (left, right) = ankle | toe."""
    f = np.asarray(joint_flags, bool)
    return np.stack([f[:, 0] | f[:, 2], f[:, 1] | f[:, 3]], axis=1)


def score(takes: list[FootTake], method: str, params: DefaultParams | None = None) -> Score:
    agree = one = flight = flight_hit = frames = 0
    for tk in takes:
        pred = foot_flags(detect(method, tk.joints, tk.fps, "z_up", params))
        gt = tk.foot_contact
        agree += int(np.all(pred == gt, axis=1).sum())
        one += int(pred.any(axis=1).sum())
        air = ~gt.any(axis=1)
        flight += int(air.sum())
        flight_hit += int(pred[air].any(axis=1).sum())
        frames += gt.shape[0]
    return Score(agree / frames, one / frames, flight_hit / flight if flight else float("nan"), frames)


def table(kinds=KINDS, rates=RATES, methods=METHODS, seeds=(0, 1, 2), seconds: float = 6.0,
          params: DefaultParams | None = None) -> list[dict]:
    """One row per (kind, rate, method): the Score fields plus kind, fps, method."""
    rows = []
    for kind in kinds:
        for fps in rates:
            takes = [make_take(kind, fps, seconds=seconds, seed=s) for s in seeds]
            for m in methods:
                sc = score(takes, m, params)
                rows.append({"kind": kind, "fps": fps, "method": m, **sc.__dict__})
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown: one line per kind x rate, per method 'agreement / one foot down / flight flagged' in %."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    head = "| kind | fps | " + " | ".join(f"{m}: agree / 1 foot / flight" for m in methods) + " |"
    lines = [head, "|" + "---|" * (2 + len(methods))]
    keys = list(dict.fromkeys((r["kind"], r["fps"]) for r in rows))
    for kind, fps in keys:
        cells = []
        for m in methods:
            r = next(x for x in rows if x["kind"] == kind and x["fps"] == fps and x["method"] == m)
            fl = "-" if np.isnan(r["flight_flagged"]) else f"{100 * r['flight_flagged']:.0f}"
            cells.append(f"{100 * r['agreement']:.1f} / {100 * r['one_foot']:.0f} / {fl}")
        lines.append(f"| {kind} | {fps:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def store_table(kinds=("walk", "run", "jump", "stairs"), rates=RATES, methods=METHODS, seconds: float = 4.0,
                seed: int = 0) -> list[dict]:
    """The same scores through the whole pipeline: a mocap-like archive (synthetic.mocap: the feet posed on
    SMPL+H and SMPL-X bodies, written as AMASS files), read and processed to the store's 30 fps frames
    (motion.process, default MotionConfig but `contacts`), compared with the ground truth at those instants."""
    import tempfile
    from pathlib import Path

    from amass_arrow import schema
    from amass_arrow.config import MotionConfig
    from amass_arrow.motion.bodymodel import BodyModelRegistry
    from amass_arrow.motion.pipeline import process
    from amass_arrow.source.discover import discover
    from amass_arrow.source.read import read_sequence
    from amass_arrow.tools.synthetic.bodymodels import make_body_models
    from amass_arrow.tools.synthetic.mocap import make_mocap_archive

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = make_body_models(Path(tmp) / "body_models", seed=seed)
        files = make_mocap_archive(Path(tmp) / "amass", kinds=kinds, rates=rates, seconds=seconds, seed=seed,
                                   y_up=(), body_models_dir=models)
        registry = BodyModelRegistry(models)
        sources = {s.seq_id: s for s in discover(Path(tmp) / "amass").files}
        for kind in kinds:
            for fps in rates:
                group = [f for f in files if f.kind == kind and f.fps == fps]
                for m in methods:
                    agree = one = air = air_hit = n = 0
                    for f in group:
                        out = process(read_sequence(sources[f.seq_id]), registry.get(f.surface_model, f.gender),
                                      MotionConfig(contacts=m), "body22")
                        tb = out.frames
                        pred = np.stack([tb[c].to_numpy() for c in schema.CONTACT_COLUMNS[4:]], 1)
                        t = tb[schema.FRM.t].to_numpy().astype(np.float64)
                        gt = f.take.foot_contact[np.clip(np.rint(t * fps).astype(int), 0, f.take.num_frames - 1)]
                        agree += int(np.all(pred == gt, axis=1).sum())
                        one += int(pred.any(axis=1).sum())
                        flight = ~gt.any(axis=1)
                        air += int(flight.sum())
                        air_hit += int(pred[flight].any(axis=1).sum())
                        n += len(gt)
                    rows.append({"kind": kind, "fps": fps, "method": m, "agreement": agree / n, "one_foot": one / n,
                                 "flight_flagged": air_hit / air if air else float("nan"), "frames": n})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m amass_arrow.tools.fidelity", description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="takes per kind and rate (default 3)")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each take (s)")
    ap.add_argument("--store", action="store_true",
                    help="also score the store's 30 fps flags through the whole pipeline (AMASS files -> process)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows = table(seeds=tuple(range(args.seeds)), seconds=args.seconds)
    print(format_table(rows))
    print(f"\n{args.seeds} takes of {args.seconds:g} s per kind and rate; agree = both feet's flags equal the ground "
          "truth; 1 foot = frames with a foot flagged; flight = ground-truth no-foot-down frames flagged.")
    if args.store:
        print("\nThrough the pipeline (mocap-like AMASS files, SMPL+H and SMPL-X, 4 s each -> store frames at 30 fps):\n")
        print(format_table(store_table()))
    print(f"{time.strftime('%Y-%m-%d')} {platform.machine()} {platform.python_version()}, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
