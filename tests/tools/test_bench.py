"""amass_arrow.tools.bench: the harness on a tiny archive (every figure in the JSON, ratios from figures, the table).

No timing asserts: speed claims are checked by `make bench` on the real machine, not in tests.
"""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("smplx")
pytest.importorskip("datasets")

from amass_arrow.tools import bench  # noqa: E402


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    res = bench.run(out, frames=15_000, scaling=True, smplx_sequences=2, smplx_seconds=1.0, hf_batches=2,
                    ray=False, humanml3d=0.002, log=lambda *a: None)  # the Ray row: test_ray_row_is_a_ratio_of_two_builds
    return out, res


def test_json_has_every_figure(result):
    out, res = result
    saved = json.loads((out / "bench.json").read_text())
    assert saved["ratios"] == pytest.approx(res["ratios"], nan_ok=True)
    assert len(saved["sizes"]) == 2
    first, doubled = saved["sizes"]
    for s in (first, doubled):
        assert s["input_bytes"] > 0 and s["store_bytes"] > 0 and s["source_frames"] > 0
        assert s["read_floor"]["seconds"] > 0 and s["read_floor"]["files"] == s["input_files"]
        assert set(s["builds"]) == {"1", "2"}
        for b in s["builds"].values():
            assert b["seconds"] > 0 and b["peak_rss_tree"] > 0 and b["source_frames"] == s["source_frames"]
            # the build tree's own CPU time was sampled; the rest of the machine's share is a fraction
            assert b["cpu_seconds_tree"] > 0 and 0.0 <= b["other_cpu_share"] <= 1.0
    assert doubled["source_frames"] > first["source_frames"]
    assert first["smplx"]["sequences"] >= 1 and first["smplx"]["source_fps"] > 0
    assert first["export"]["seconds"] > 0
    ld = first["loading"]
    assert ld["rows"] > 0 and ld["loader_fps"] > 0 and ld["hf_fps"] > 0 and ld["hf_rows"] > 0
    assert saved["machine"]["cpus"] >= 1 and saved["date"]


def test_ratios_come_from_the_figures(result):
    _out, res = result
    s, d = res["sizes"]
    r = res["ratios"]
    b1, b2 = s["builds"]["1"], s["builds"]["2"]
    assert r["worker_speedup"] == pytest.approx(b1["seconds"] / b2["seconds"])
    assert r["build_vs_read_floor"] == pytest.approx(b2["seconds"] / s["read_floor"]["seconds"])
    assert r["smplx_speedup"] == pytest.approx((b2["source_frames"] / b2["seconds"]) / s["smplx"]["source_fps"])
    assert r["size_ratio"] == pytest.approx(s["store_bytes"] / s["input_bytes"])
    assert r["loader_mfps"] == pytest.approx(s["loading"]["loader_fps"] / 1e6)
    assert r["loader_vs_hf"] == pytest.approx(s["loading"]["loader_fps"] / s["loading"]["hf_fps"])
    assert r["build_vs_read_floor_2x"] == pytest.approx(d["builds"]["2"]["seconds"] / d["read_floor"]["seconds"])
    st = s["stages"]["cpu_seconds"]
    assert {"read", "resample", "fk", "contacts", "quality", "write"} <= set(st) and all(v >= 0 for v in st.values())
    assert r["contacts_quality_share"] == pytest.approx((st["contacts"] + st["quality"]) / sum(st.values()))
    assert r["amass_projected_seconds"] == pytest.approx(26e6 * d["builds"]["2"]["seconds"] / d["builds"]["2"]["source_frames"])
    peaks = [max(b["peak_rss_tree"] for b in x["builds"].values()) for x in (s, d)]
    assert r["peak_rss_gb"] == pytest.approx(max(peaks) / 1e9)
    assert r["rss_growth"] == pytest.approx(abs(peaks[1] / peaks[0] - 1))
    targets = {t["key"]: t for t in res["targets"]}
    assert set(targets) == {k for k, *_ in bench.TARGETS}
    for t in targets.values():
        assert t["value"] == r[t["key"]] and not math.isnan(t["value"])
        assert t["pass"] == (t["value"] >= t["target"] if t["op"] == ">=" else t["value"] <= t["target"])


def test_table_prints_every_target(result):
    _out, res = result
    text = bench.format_table(res)
    for _key, label, _op, _thr in bench.TARGETS:
        line = next(ln for ln in text.splitlines() if label in ln)
        assert line.rstrip().endswith(("PASS", "FAIL"))
    assert "read floor" in text and "smplx" in text and "FrameLoader" in text and "doubled archive" in text
    assert "projected: all of AMASS SMPL+H G" in text and "per 1M source frames" in text


def test_ray_row_is_a_ratio_of_two_builds(result):
    """The Ray build's figure (here a stand-in: running Ray belongs to `make bench`) becomes a ratio and a table row."""
    import copy

    _out, res = result
    res = copy.deepcopy(res)
    s = res["sizes"][0]
    assert "ray_build" not in s and res["ratios"]["ray_overhead"] is None
    s["ray_build"] = dict(s["builds"]["2"], executor="ray", seconds=3 * s["builds"]["2"]["seconds"])
    s["ray_build"]["source_fps"] = s["source_frames"] / s["ray_build"]["seconds"]
    r = bench.ratios(res)
    assert r["ray_overhead"] == pytest.approx(3.0)
    res["ratios"] = r
    text = bench.format_table(res)
    assert "build, 2 Ray workers" in text and "Ray executor vs local pool, 2 CPUs: 3.00x the wall time (+200%)" in text


def test_cli_registers_bench():
    from amass_arrow.cli import COMMANDS, _load_plugins

    _load_plugins()
    assert "bench" in COMMANDS


def test_stage_profile_accounts_for_the_workers_task(result):
    """The stage profile runs convert_task over every converted file: its stages sum to its total, whose
    share by contacts + quality is the ratio the table checks."""
    _out, res = result
    first = res["sizes"][0]
    st = first["stages"]
    secs = st["cpu_seconds"]
    assert {"read", "resample", "fk", "contacts", "quality", "table", "row", "write", "other"} <= set(secs)
    assert sum(secs.values()) == pytest.approx(st["total"], rel=1e-9, abs=1e-9)
    assert st["source_frames"] == first["source_frames"]  # every file, not a sample
    share = (secs["contacts"] + secs["quality"]) / st["total"]
    assert res["ratios"]["contacts_quality_share"] == pytest.approx(share)
    assert 0 < share < 1


def test_worker_speedup_on_the_doubled_archive_is_reported(result):
    _out, res = result
    d = res["sizes"][1]["builds"]
    assert res["ratios"]["worker_speedup_2x"] == pytest.approx(d["1"]["seconds"] / d["2"]["seconds"])
    assert f"on the doubled archive: {res['ratios']['worker_speedup_2x']:.2f}x" in bench.format_table(res)


def test_each_build_row_is_the_fastest_of_its_runs(result):
    _out, res = result
    for s in res["sizes"]:
        for b in s["builds"].values():
            assert len(b["runs"]) == bench.BUILD_RUNS and b["seconds"] == min(b["runs"])
            assert b["source_fps"] == pytest.approx(b["source_frames"] / b["seconds"])


def test_humanml3d_row_exports_every_clip_of_its_clone(result):
    _out, res = result
    h = res["humanml3d"]
    # 0.002 x HumanML3D: round(13,425 x 0.002) = 27 AMASS rows + round(1,191 x 0.002) = 2 HumanAct12 rows, x 2 mirrors
    assert h["clips"] == 2 * (27 + 2) and h["written"] == h["clips"] and h["clip_frames"] > 40 * h["clips"]
    assert res["ratios"]["humanml3d_minutes"] == pytest.approx(h["seconds"] / 60 / 0.002)
    assert any(t["key"] == "humanml3d_minutes" for t in res["targets"])
