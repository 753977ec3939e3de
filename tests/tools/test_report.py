"""report: one self-contained HTML page; opened in a real headless Chromium, every image must load."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from amass_arrow.tools.report import worst_takes

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_reason() -> tuple[str | None, str]:
    """(a Chromium on PATH, '') or (None, why the page check is skipped). Tests never install anything:
    CI installs Chromium before `make test` (.ci/run)."""
    exe = _find_chromium()
    if exe is not None:
        return exe, ""
    return None, (f"headless Chromium is needed to check the report page: none of {', '.join(CHROMIUM_NAMES)} "
                  f"is on PATH (install it, e.g. apt-get install chromium, as .ci/run does)")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary on PATH; the test is skipped, with the reason, when there is none."""
    exe, why = chromium_or_reason()
    if exe is None:
        pytest.skip(why)
    return exe


_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img').forEach(function (im, i) {
    out.push(i + ' ' + im.naturalWidth + ' ' + im.naturalHeight + ' ' + (im.complete ? 1 : 0));
  });
  var pre = document.createElement('pre');
  pre.id = 'img-check';
  pre.textContent = 'images ' + out.length + '\\n' + out.join('\\n');
  document.body.appendChild(pre);
});
</script>"""


def _loaded_images(chromium: str, page: Path, tmp: Path) -> list[tuple[int, int, int]]:
    """Open `page` (a copy with a checking script) in headless Chromium; (naturalWidth, naturalHeight, complete) per img."""
    probe = tmp / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _CHECK_SCRIPT + "</body>"), encoding="utf-8")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="img-check">images (\d+)\n?(.*?)</pre>', p.stdout, re.S)
    assert m, f"Chromium did not run the page's check (exit {p.returncode}): {p.stderr[-800:]}"
    lines = [ln.split() for ln in m.group(2).strip().splitlines() if ln.strip()]
    assert len(lines) == int(m.group(1))
    return [(int(w), int(h), int(c)) for _, w, h, c in lines]


@pytest.fixture(scope="module")
def store_with_rejects(synthetic_root, tmp_path_factory):
    """A small store: one synthetic take per motion kind plus three broken files (two reject reasons)."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config
    from amass_arrow.store.reader import Store

    root = tmp_path_factory.mktemp("report") / "amass"
    kinds = {}
    for f in synthetic_root.files:
        if f.variant == "smplh_g" and kinds.get(f.motion, 0) < 1:
            kinds[f.motion] = kinds.get(f.motion, 0) + 1
            dst = root / f.rel_path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f.path, dst)
    bad = root / "Broken" / "s1"
    bad.mkdir(parents=True)
    (bad / "garbage_poses.npz").write_bytes(b"this is not a zip file")
    (bad / "garbage2_poses.npz").write_bytes(b"nor is this")
    src = next(f for f in synthetic_root.files if f.variant == "smplh_g")
    with np.load(src.path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["trans"] = arrays["trans"].copy()
    arrays["trans"][3, 1] = np.nan
    np.savez(bad / "nan_poses.npz", **arrays)
    out = root.parent / "store"
    build(load_build_config(None, amass_root=str(root), body_models=str(synthetic_root.body_models), out=str(out),
                            workers=1), progress=False)
    store = Store(out)
    assert store.info.num_rejects == 3
    return out


@pytest.fixture(scope="module")
def report_page(store_with_rejects, tmp_path_factory):
    """The page `amass-arrow report STORE -o report.html --worst 1` writes (made once: drawing takes seconds)."""
    import contextlib
    import io

    from amass_arrow.cli import main

    out = tmp_path_factory.mktemp("page") / "report.html"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", str(store_with_rejects), "-o", str(out), "--worst", "1"]) == 0
    assert f"wrote {out}" in buf.getvalue()
    return out


def test_report_page_is_self_contained_and_every_image_loads(report_page, chromium, tmp_path):
    from amass_arrow.schema import QUALITY_COLUMNS

    text = report_page.read_text(encoding="utf-8")
    srcs = re.findall(r'<img src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(?:src|href)="(?!data:)', text)  # nothing to fetch: no links, scripts or styles
    assert "<script" not in text
    # hours bar + fps + duration + one histogram per metric + flags bar + rejects bar, then one strip per metric
    n_metric = len(QUALITY_COLUMNS)
    assert len(srcs) == 5 + n_metric + n_metric
    assert text.count("<h3>") == n_metric
    imgs = _loaded_images(chromium, report_page, tmp_path)
    assert len(imgs) == len(srcs)
    assert all(w > 50 and h > 50 and c == 1 for w, h, c in imgs), imgs


def test_report_numbers_are_the_stores(report_page, store_with_rejects):
    from amass_arrow.store.reader import Store

    text = report_page.read_text(encoding="utf-8")
    store = Store(store_with_rejects)
    reasons: dict[str, int] = {}
    for r in store.rejects().to_pylist():
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    assert sum(reasons.values()) == 3
    for reason, n in reasons.items():  # rejects by reason
        assert f'<td>{reason}</td><td class="n">{n}</td>' in text
    for ds, row in store.info.datasets.items():  # sequences and frames per dataset
        assert f'<td>{ds}</td><td class="n">{int(row["sequences"])}</td><td class="n">{int(row["frames"])}</td>' in text
    rows = store.sequences().to_pylist()
    worst = max(rows, key=lambda r: r["jitter"])  # the worst take per metric is drawn and named
    assert f"{worst['seq_id']}: jitter = {worst['jitter']:.4g}" in text


def test_worst_takes_by_metric_direction():
    rows = [{"seq_id": "a", "jitter": 5.0, "contact_coverage": 0.9}, {"seq_id": "b", "jitter": 50.0, "contact_coverage": 0.2},
            {"seq_id": "c", "jitter": None, "contact_coverage": 0.5}, {"seq_id": "d", "jitter": 20.0, "contact_coverage": None}]
    assert [r["seq_id"] for r in worst_takes(rows, "jitter", 2)] == ["b", "d"]
    assert [r["seq_id"] for r in worst_takes(rows, "contact_coverage", 2)] == ["b", "c"]  # lowest coverage is worst
