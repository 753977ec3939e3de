"""`make bench`'s table: the results of one run with a pass/fail column per target."""

from __future__ import annotations

from typing import Any

from amass_arrow.tools.bench.targets import AMASS_SMPLH_G_FRAMES, BUSY_SHARE


# ---------------------------------------------------------------- the table
def format_table(res: dict[str, Any]) -> str:
    """The human-readable bench table (what `amass-arrow bench` prints) of a `run` result."""
    m = res["machine"]
    L = [f"amass_arrow bench — {res['date']} — {m.get('cpus')} CPUs, {m.get('mem_gb', '?')} GB, Python {m['python']}",
         ""]
    for k, s in enumerate(res["sizes"]):
        L += _format_size(res, k, s)
    if res.get("humanml3d"):
        h = res["humanml3d"]
        L += [f"HumanML3D official recipe (synthetic clone at {h['scale']:g}x HumanML3D's size, --resample none store):",
              f"  {'export --kind humanml3d --recipe official':<46}{h['seconds']:>9.2f}  {h['written']:,} of "
              f"{h['clips']:,} clips, {h['clip_frames']:,} frames at 20 fps", ""]
    L += _format_findings(res)
    L += _format_targets(res["targets"])
    L.append(f"total bench time {res.get('total_seconds', 0):.0f} s; figures in bench.json")
    return "\n".join(L)


def _format_size(res: dict[str, Any], k: int, s: dict[str, Any]) -> list[str]:
    """One archive's block: read floor, builds, baselines, export, loading, sizes."""
    tag = "archive" if k == 0 else "doubled archive"
    L = [f"{tag}: {s['input_files']} files, {s['source_frames']:,} source frames -> {s['store_frames']:,} store "
         f"frames at 30 fps, {s['input_bytes'] / 1e9:.2f} GB of .npz",
         f"  {'measurement':<46}{'seconds':>9}{'source frames/s':>17}{'peak RSS':>10}"]
    rf = s["read_floor"]
    L.append(f"  {'read floor (np.load every array, 1 process)':<46}{rf['seconds']:>9.2f}"
             f"{s['source_frames'] / rf['seconds']:>17,.0f}{'':>10}")
    for w, b in sorted(s["builds"].items(), key=lambda x: int(x[0])):
        L.append(f"  {'build, ' + w + ' worker' + ('s' if w != '1' else '') + ' (FK + contacts, 30 fps)':<46}"
                 f"{b['seconds']:>9.2f}{b['source_fps']:>17,.0f}{b['peak_rss_tree'] / 1e9:>8.2f}GB")
    if "ray_build" in s:
        b = s["ray_build"]
        label = f"build, {b['workers']} Ray workers (local Ray, start included)"
        L.append(f"  {label:<46}{b['seconds']:>9.2f}{b['source_fps']:>17,.0f}{b['peak_rss_tree'] / 1e9:>8.2f}GB")
    if "smplx" in s:
        x = s["smplx"]
        L.append(f"  {'smplx forward, per sequence (' + str(x['sequences']) + ' of ' + str(x['of_smplh_sequences']) + ' SMPL+H seqs)':<46}"
                 f"{x['seconds']:>9.2f}{x['source_fps']:>17,.0f}{'':>10}")
    if "export" in s:
        L.append(f"  {'export official split -> HF DatasetDict':<46}{s['export']['seconds']:>9.2f}")
    if "loading" in s:
        ld = s["loading"]
        L.append(f"  loading train split, shuffled batches of {res['batch_size']} ({ld['rows']:,} rows x {ld['features']} float32):")
        L.append(f"  {'  amass_arrow.loader.FrameLoader (' + str(ld['epochs']) + ' epochs)':<46}{ld['iter_seconds']:>9.2f}"
                 f"{ld['loader_fps']:>17,.0f} frames/s  (+{ld['open_seconds']:.2f} s to open)")
        L.append(f"  {'  DataLoader(with_format(torch)), ' + str(ld['hf_batches']) + ' batches':<46}{ld['hf_seconds']:>9.2f}"
                 f"{ld['hf_fps']:>17,.0f} frames/s")
    L.append(f"  {'size: store / input .npz':<46}{s['store_bytes'] / 1e6:>8.0f} MB / {s['input_bytes'] / 1e6:.0f} MB")
    L.append("")
    return L


def _format_findings(res: dict[str, Any]) -> list[str]:
    """Ratios, machine load during the builds, the stage profile and the AMASS projection."""
    L = []
    r = res["ratios"]
    if r.get("ray_overhead") is not None:
        L.append(f"Ray executor vs local pool, {res['sizes'][0]['ray_build']['workers']} CPUs: {r['ray_overhead']:.2f}x the wall time "
                 f"({(r['ray_overhead'] - 1) * 100:+.0f}%)")
    if r.get("time_growth") is not None:
        L.append(f"doubling: {r['frames_growth']:.2f}x frames -> {r['time_growth']:.2f}x build time, peak RSS "
                 f"{r['rss_growth'] * 100:+.0f}% (absolute change)"
                 + (f"; {res['workers'][-1]} workers vs 1 on the doubled archive: {r['worker_speedup_2x']:.2f}x"
                    " (the fixed start-up weighs less)" if r.get("worker_speedup_2x") else ""))
    shares = [(k, w, b["other_cpu_share"]) for k, s in enumerate(res["sizes"]) for w, b in s["builds"].items()
              if b.get("other_cpu_share") is not None]
    busy = [x for x in shares if x[2] > BUSY_SHARE]
    if shares:
        L.append("other processes' share of the CPUs during each build: "
                 + ", ".join(f"{sh:.0%} ({w} worker{'s' if int(w) > 1 else ''}, size #{k + 1})" for k, w, sh in shares)
                 + ("; above {:.0%}: the parallel timings understate an idle machine".format(BUSY_SHARE) if busy else ""))
    st = res["sizes"][0].get("stages")
    if st:
        pm = st["per_million"]
        L.append(f"per-file path, CPU seconds per 1M source frames (the workers' task in 1 warm process, {st['files']} files): "
                 + ", ".join(f"{k} {v:.2f}" for k, v in pm.items()) + f"; total {sum(pm.values()):.2f}")
    if r.get("amass_projected_seconds"):
        ws = res["workers"]
        L.append(f"projected: all of AMASS SMPL+H G (~{AMASS_SMPLH_G_FRAMES / 1e6:.0f}M source frames) with {ws[-1]} "
                 f"worker{'s' if ws[-1] > 1 else ''} here: {r['amass_projected_seconds'] / 60:.1f} min")
    return L


def _format_targets(targets: list[dict[str, Any]]) -> list[str]:
    """The targets table: measured value, claim, PASS/FAIL."""
    L = [f"  {'target':<46}{'measured':>10}{'claim':>10}  result"]
    for t in targets:
        v = t["value"]
        pct = t["key"] in ("rss_growth", "contacts_quality_share")
        val = "n/a" if v is None else (f"{v * 100:.0f}%" if pct else f"{v:.2f}")
        thr = f"{t['target'] * 100:.0f}%" if pct else f"{t['target']:g}"
        res_ = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        L.append(f"  {t['label']:<46}{val:>10}{t['op'] + ' ' + thr:>10}  {res_}")
    return L
