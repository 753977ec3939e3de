"""One self-contained HTML page describing a store: what it holds and how clean it is.

    make_report("store", "report.html")        # amass-arrow report STORE -o report.html

Sections: the build (counts, rate, joint set, contact and quality thresholds from info.json), hours per
dataset, source-fps and duration histograms, contact coverage and every other quality metric
(schema.QUALITY_COLUMNS) as histograms with their flag threshold, quality flags and rejects by
reason, and stick-figure strips (amass_arrow.tools.render) of the worst takes per metric. Every image is a
PNG embedded as a base64 `data:` URI and the page has no script, stylesheet or font to fetch, so
the one file can be mailed or opened offline. Needs the `render` extra (matplotlib).
"""

from __future__ import annotations

import base64
import html
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from amass_arrow import schema
from amass_arrow.errors import ConfigError, require
from amass_arrow.motion.quality import FLAG_RULES
from amass_arrow.schema import REJ, SEQ
from amass_arrow.store.open import open_store

from .render import render

#: metric -> True when a higher value is worse (coverage: lower is worse): the direction of its flag rule
WORSE_HIGH = {metric: op == ">" for metric, op, _attr in FLAG_RULES.values()}
#: metric -> the quality threshold (config.QualityConfig attribute) drawn on its histogram: its flag rule's
THRESHOLD = {metric: attr for metric, _op, attr in FLAG_RULES.values()}
THUMB_POSES = 5  # poses per stick-figure strip
THUMB_WIDTH = 900  # px: strips are scaled down to this width

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figcaption{font-size:.85em;color:#555}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}
"""


def _png(fig) -> str:
    """A matplotlib figure as a `data:image/png;base64,...` URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float = 5.0, h: float = 3.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w, h), dpi=100)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _hist(values: np.ndarray, title: str, xlabel: str, threshold: float | None = None, bins: int = 30) -> str:
    fig, ax = _figure()
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    if len(v):
        ax.hist(v, bins=bins, color="#2f6db5", alpha=0.85)
    else:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    if threshold is not None:
        ax.axvline(threshold, color="#e0201b", lw=1.5, ls="--", label=f"flag threshold {threshold:g}")
        ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("sequences", fontsize=9)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.17, top=0.9)  # fixed margins: tight_layout draws twice
    return _png(fig)


def _bars(labels: list[str], values: list[float], title: str, xlabel: str) -> str:
    height = max(1.6, 0.28 * len(labels) + 0.9)
    fig, ax = _figure(6.0, height)
    if labels:
        y = np.arange(len(labels))
        ax.barh(y, values, color="#2f6db5")
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.55 / height, top=1 - 0.35 / height)
    return _png(fig)


def _thumbnail(store, seq_id: str, fps: float, tmp: Path) -> str:
    """A stick-figure strip of one stored sequence (render.render), scaled to THUMB_WIDTH, as a data URI."""
    from PIL import Image

    info = store.info
    table = store.read_sequence_frames(seq_id, columns=[schema.JOINTS] + schema.CONTACT_COLUMNS[:4])
    path = render(table, tmp / "strip.png", fps=fps, joint_set=info.joint_set, frame=info.frame, title=seq_id,
                  poses=THUMB_POSES)
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > THUMB_WIDTH:
            im = im.resize((THUMB_WIDTH, round(im.height * THUMB_WIDTH / im.width)), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v):
        if isinstance(v, float):
            return f'<td class="n">{v:.4g}</td>'
        if isinstance(v, int):
            return f'<td class="n">{v}</td>'
        return f"<td>{html.escape(str(v))}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(uri: str, caption: str) -> str:
    return f'<figure><img src="{uri}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def worst_takes(rows: list[dict[str, Any]], metric: str, n: int) -> list[dict[str, Any]]:
    """The `n` sequences with the worst value of `metric` (highest, or lowest for contact coverage); nulls skipped."""
    have = [r for r in rows if r.get(metric) is not None]
    return sorted(have, key=lambda r: (-r[metric] if WORSE_HIGH[metric] else r[metric], r[SEQ.seq_id]))[:n]


def make_report(store_path: str | Path, out: str | Path, *, worst: int = 2) -> Path:
    """Write the report page of the store at `store_path` to `out` (.html); `worst` strips per metric (0: none)."""
    require("matplotlib", "render")

    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{out} is a folder; give the page a file name, e.g. -o {out / 'report.html'}")
    store = open_store(store_path)
    info = store.info
    rows = store.sequences().to_pylist()
    has_rejects = schema.REJECTS_PATH in info.files or store.file_size(schema.REJECTS_PATH) is not None
    rejects = store.rejects().to_pylist() if has_rejects else []
    thresholds = dict(info.quality.get("thresholds", {})) if info.quality else {}
    title = f"amass-arrow store report: {_store_name(store).rstrip('/').rsplit('/', 1)[-1]}"
    parts = [f"<h1>{html.escape(title)}</h1>", *_build_section(store, thresholds), *_holdings_section(info, rows),
             *_quality_section(rows, thresholds), *_rejects_section(rejects)]
    if worst > 0 and rows:
        parts += _worst_section(store, rows, worst)
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.tmp")
    try:
        tmp_out.write_text(page, encoding="utf-8")
        tmp_out.replace(out)
    except BaseException:
        tmp_out.unlink(missing_ok=True)  # never a half page left beside the output
        raise
    return out


def _store_name(store) -> str:
    """The store's path, or its URL on object storage."""
    return store.location


# ---------------------------------------------------------------- the page's sections (lists of HTML fragments)
def _build_section(store, thresholds: dict[str, Any]) -> list[str]:
    """The build: counts, rate, joint set, contact and quality thresholds (info.json)."""
    info = store.info
    hours = sum(float(d.get("hours", 0.0)) for d in info.datasets.values())
    return [_table(["", ""], [
        ["store", _store_name(store)], ["build", f"{info.build_id} ({info.created})"],
        ["sequences", info.num_sequences], ["frames", info.num_frames], ["hours", round(hours, 4)],
        ["rejects", info.num_rejects],
        ["rate", f"{info.fps} fps ({info.resample})" if info.fps else f"per sequence ({info.resample})"],
        ["joints", f"{info.joint_set} ({len(info.joint_names)}), frame {info.frame}"],
        ["contacts", json.dumps({k: v for k, v in info.contacts.items() if k not in ("columns", "foot_joints")},
                                sort_keys=True)],
        ["quality thresholds", json.dumps(thresholds, sort_keys=True)],
    ])]


def _holdings_section(info, rows: list[dict[str, Any]]) -> list[str]:
    """What the store holds: hours per dataset, source-fps and duration histograms."""
    ds = sorted(info.datasets.items(), key=lambda kv: -float(kv[1].get("hours", 0.0)))
    return [
        "<h2>Hours per dataset</h2>",
        _img(_bars([k for k, _ in ds], [float(v.get("hours", 0.0)) for _, v in ds], "hours per dataset", "hours"),
             "hours of motion per dataset folder"),
        _table(["dataset", "sequences", "frames", "hours"],
               [[k, int(v.get("sequences", 0)), int(v.get("frames", 0)), float(v.get("hours", 0.0))] for k, v in ds]),
        "<h2>Frame rates and durations</h2><div class=grid>",
        _img(_hist(np.array([r[SEQ.source_fps] for r in rows]), "source frame rate", "fps (after overrides)"),
             "source fps per sequence"),
        _img(_hist(np.array([r[SEQ.duration] for r in rows]), SEQ.duration, "seconds"), "duration per sequence"),
        "</div>",
    ]


def _counts(keys) -> list[tuple[str, int]]:
    """(key, count) pairs, most frequent first, ties by key."""
    n: dict[str, int] = {}
    for k in keys:
        n[k] = n.get(k, 0) + 1
    return sorted(n.items(), key=lambda kv: (-kv[1], kv[0]))


def _quality_section(rows: list[dict[str, Any]], thresholds: dict[str, Any]) -> list[str]:
    """Every quality metric's histogram with its flag threshold, the flags, and the source frames."""
    parts = ["<h2>Contacts and quality metrics</h2><div class=grid>"]
    for m, unit in schema.QUALITY_COLUMNS.items():
        lim = thresholds.get(THRESHOLD[m])
        parts.append(_img(_hist(np.array([r.get(m) for r in rows], dtype=object), m, unit.split(":")[0], lim),
                          f"{m}: {unit}"))
    parts.append("</div>")
    fl = _counts(f for r in rows for f in r[SEQ.quality_flags])
    parts.append("<h2>Quality flags</h2>")
    parts.append(_img(_bars([k for k, _ in fl], [v for _, v in fl], "sequences per quality flag", "sequences"),
                      "quality flags (each sequence counts once per flag)"))
    parts.append(_table(["flag", "sequences"], [[k, v] for k, v in fl]))
    orient = sorted(_counts(r.get(SEQ.source_frame) or "unknown" for r in rows))
    parts.append("<p>Source frames: " + html.escape(", ".join(f"{k} {v}" for k, v in orient)) + "</p>")
    return parts


def _rejects_section(rejects: list[dict[str, Any]]) -> list[str]:
    """Rejected inputs by reason, with one example each."""
    rs = _counts(r[REJ.reason] for r in rejects)
    return [
        "<h2>Rejects by reason</h2>",
        _img(_bars([k for k, _ in rs], [v for _, v in rs], "rejected input files per reason", "files"),
             "rejected inputs by reason"),
        _table(["reason", "files", "example"],
               [[k, v, next(r[REJ.source_path] + ": " + r[REJ.message] for r in rejects if r[REJ.reason] == k)]
                for k, v in rs]),
    ]


def _worst_section(store, rows: list[dict[str, Any]], worst: int) -> list[str]:
    """Stick-figure strips of the `worst` worst takes per metric (each take drawn once)."""
    parts = ["<h2>Worst takes per metric</h2>"]
    fps_of = {r[SEQ.seq_id]: float(r[SEQ.store_fps]) for r in rows}
    cache: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="amass-arrow-report-") as tmp:
        for m in schema.QUALITY_COLUMNS:
            bad = worst_takes(rows, m, worst)
            if not bad:
                continue
            parts.append(f"<h3>{html.escape(m)} ({'highest' if WORSE_HIGH[m] else 'lowest'})</h3>")
            for r in bad:
                sid = r[SEQ.seq_id]
                if sid not in cache:
                    cache[sid] = _thumbnail(store, sid, fps_of[sid], Path(tmp))
                flags = ", ".join(r[SEQ.quality_flags]) or "no flags"
                parts.append(_img(cache[sid], f"{sid}: {m} = {r[m]:.4g} ({flags})"))
    return parts
