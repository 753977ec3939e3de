"""Exports never mix runs, never delete what is not theirs, and survive a kill or a full disk (issue 20, items 8-9).

Every exporter writes a fresh folder that run_export swaps in (export.publish_export); provenance.json marks
a folder as an export of ours. Faults are injected at the swap's named points (export.FAULT), not timed.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from amass_arrow import export
from amass_arrow.cli import main
from amass_arrow.errors import ConfigError, ExportError
from amass_arrow.export.registry import names
from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits, load_splits_config
from amass_arrow.query.splits import Definition

# every sequence, three splits, a caption on each row (HumanML3D texts/ files come from it)
ALL = ("SELECT seq_id, CASE row_number() OVER (ORDER BY seq_id) % 3 WHEN 0 THEN 'train' WHEN 1 THEN 'validation' "
       "ELSE 'test' END AS split, 'a person walks ' || seq_id AS text FROM sequences")
# the first six sequences, no captions
FEW = ("SELECT seq_id, CASE row_number() OVER (ORDER BY seq_id) % 3 WHEN 0 THEN 'train' WHEN 1 THEN 'validation' "
       "ELSE 'test' END AS split FROM (SELECT seq_id FROM sequences ORDER BY seq_id LIMIT 6)")


def _sql(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.sql"
    p.write_text(text)
    return p


def _export(store, out: Path, sql: Path, kinds, **spec) -> None:
    cfg = SplitsConfig(definitions=[Definition(name="d", sql=str(sql))],
                       exports=[ExportSpec(kind=k, columns=["trans", "joints"], **spec) for k in kinds])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_splits(store, cfg, out, progress=False, log=lambda *a: None)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or p.name.endswith(".old")
                  or p.name.endswith(".tmp"))


def test_a_second_export_into_one_folder_equals_a_fresh_one_for_every_exporter(demo_store, tmp_path):
    kinds = [k for k in names()]
    all_sql, few_sql = _sql(tmp_path, "all", ALL), _sql(tmp_path, "few", FEW)
    _export(demo_store, tmp_path / "twice", all_sql, kinds)
    assert list((tmp_path / "twice" / "d" / "humanml3d" / "texts").glob("*.txt"))  # the first run wrote captions
    _export(demo_store, tmp_path / "twice", few_sql, kinds)
    _export(demo_store, tmp_path / "fresh", few_sql, kinds)
    for k in kinds:
        folder = ExportSpec(kind=k).folder
        again = _snapshot(tmp_path / "twice" / "d" / folder)
        fresh = _snapshot(tmp_path / "fresh" / "d" / folder)
        assert sorted(again) == sorted(fresh), f"{k}: files of the first export left behind"
        assert again["provenance.json"] == fresh["provenance.json"]
    # no old captions on the new clips: the second export has no texts at all, as a fresh one
    assert not list((tmp_path / "twice" / "d" / "humanml3d" / "texts").glob("*.txt"))
    assert _leftovers(tmp_path / "twice" / "d") == []


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "../x", "/tmp/x", "a\\b"])
def test_export_names_are_plain_folder_names(bad, tmp_path):
    with pytest.raises(ConfigError, match="plain folder name"):
        ExportSpec(kind="torch", name=bad).validate("export")
    cfg = tmp_path / "splits.yaml"
    cfg.write_text(f"definitions:\n  - {{name: official, sql: sql/splits/amass_official.sql}}\n"
                   f"exports:\n  - {{kind: hf, name: '{bad}'}}\n")
    with pytest.raises(ConfigError, match=r"exports\[0\]\.name"):
        load_splits_config(cfg)
    cfg.write_text(f"definitions:\n  - {{name: '{bad}', sql: sql/splits/amass_official.sql}}\nexports: []\n")
    with pytest.raises(ConfigError, match=r"definitions\[0\]\.name"):
        load_splits_config(cfg)


def test_name_dotdot_no_longer_deletes_the_users_folder(demo_store, tmp_path):
    out = tmp_path / "mine"
    (out / "d").mkdir(parents=True)
    (out / "thesis.tex").write_text("three years of work")
    spec = ExportSpec(kind="hf", name="..")  # built directly: the CLI's and the YAML's checks are not the only line
    cfg = SplitsConfig(definitions=[Definition(name="d", sql=str(_sql(tmp_path, "few", FEW)))], exports=[spec])
    with pytest.raises(ConfigError, match="plain folder name"):
        build_splits(demo_store, cfg, out, progress=False, log=lambda *a: None)
    assert (out / "thesis.tex").read_text() == "three years of work"


def test_an_out_folder_that_is_not_our_export_is_refused_not_replaced(demo_store, tmp_path, capsys):
    out = tmp_path / "out"
    theirs = out / "few" / "hf_frame"
    theirs.mkdir(parents=True)
    (theirs / "notes.txt").write_text("not an export")
    sql = _sql(tmp_path, "few", FEW)
    assert main(["export", str(demo_store), "--sql", str(sql), "--kind", "hf", "--columns", "trans",
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(theirs) in err[0] and "refusing to replace" in err[0]
    assert _snapshot(theirs) == {"notes.txt": b"not an export"}
    # an earlier export of ours is replaced; an empty folder is fine
    theirs.joinpath("notes.txt").unlink()
    assert main(["export", str(demo_store), "--sql", str(sql), "--kind", "hf", "--columns", "trans",
                 "--out", str(out), "--quiet"]) == 0
    assert export.is_export(theirs) and (theirs / "dataset_dict.json").is_file()
    assert main(["export", str(demo_store), "--sql", str(sql), "--kind", "hf", "--columns", "trans",
                 "--out", str(out), "--quiet"]) == 0
    assert export.is_export(theirs)


POINTS = ("written", "marked", "set_aside", "swapped")


@pytest.mark.parametrize("kind", ["hf", "torch"])
def test_no_space_at_each_fault_point_leaves_the_previous_export(demo_store, tmp_path, monkeypatch, kind):
    all_sql, few_sql = _sql(tmp_path, "all", ALL), _sql(tmp_path, "few", FEW)
    out = tmp_path / "out"
    folder = out / "d" / ExportSpec(kind=kind).folder
    _export(demo_store, tmp_path / "fresh", few_sql, [kind])
    fresh = _snapshot(tmp_path / "fresh" / "d" / ExportSpec(kind=kind).folder)
    _export(demo_store, out, all_sql, [kind])
    before = _snapshot(folder)
    assert before["provenance.json"] != fresh["provenance.json"]
    for point in POINTS:
        def full(p, point=point):
            if p == point:
                raise OSError(errno.ENOSPC, "No space left on device", str(folder))

        monkeypatch.setattr(export, "FAULT", full)
        with pytest.raises(ExportError, match="no space left"):
            _export(demo_store, out, few_sql, [kind])
        got = _snapshot(folder)
        if point != "swapped":
            assert got == before, point  # the previous complete export, untouched
        else:  # the fault came after the swap: the new export, complete
            assert sorted(got) == sorted(fresh) and got["provenance.json"] == fresh["provenance.json"]
        assert _leftovers(out / "d") == [], point
    monkeypatch.setattr(export, "FAULT", None)
    _export(demo_store, out, few_sql, [kind])  # re-running completes
    now = _snapshot(folder)
    assert sorted(now) == sorted(fresh) and now["provenance.json"] == fresh["provenance.json"]


KILL = """
import os, signal, warnings, sys
from amass_arrow import export
from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits
from amass_arrow.query.splits import Definition
point = sys.argv[1]
export.FAULT = lambda p: os.kill(os.getpid(), signal.SIGKILL) if p == point else None
warnings.simplefilter("ignore")
cfg = SplitsConfig(definitions=[Definition(name="d", sql=sys.argv[3])],
                   exports=[ExportSpec(kind="torch", columns=["trans", "joints"])])
build_splits(sys.argv[2], cfg, sys.argv[4], progress=False, log=lambda *a: None)
"""


def test_a_killed_export_leaves_the_previous_one_or_none_and_a_rerun_completes(demo_store, tmp_path):
    all_sql, few_sql = _sql(tmp_path, "all", ALL), _sql(tmp_path, "few", FEW)
    _export(demo_store, tmp_path / "fresh", few_sql, ["torch"])
    fresh = _snapshot(tmp_path / "fresh" / "d" / "torch_frame")
    for point in POINTS:
        out = tmp_path / point
        folder = out / "d" / "torch_frame"
        _export(demo_store, out, all_sql, ["torch"])
        before = _snapshot(folder)
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(KILL), point, str(demo_store), str(few_sql), str(out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == -9, (point, r.stderr[-2000:])
        if folder.exists():
            got = _snapshot(folder)
            # before the swap: the previous export; after it: the new one, complete
            assert got == before if point != "swapped" else got["provenance.json"] == fresh["provenance.json"], point
        else:
            assert point == "set_aside"  # the only moment with no export in place; the next run puts it back
        _export(demo_store, out, few_sql, ["torch"])  # re-running completes and clears what the kill left
        now = _snapshot(folder)
        assert sorted(now) == sorted(fresh) and now["provenance.json"] == fresh["provenance.json"], point
        assert _leftovers(out / "d") == [], point


def test_split_rows_out_of_space_keep_the_previous_file(demo_store, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    few_sql, out = _sql(tmp_path, "few", FEW), tmp_path / "out"
    _export(demo_store, out, few_sql, ["torch"])
    rows = out / "d" / "split_rows.parquet"
    before = pq.read_table(rows)

    def half(table, where, **kw):  # the disk fills in the middle of the file
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(pq, "write_table", half)
    with pytest.raises(ExportError, match="no space left while writing the split rows"):
        _export(demo_store, out, few_sql, ["torch"])
    monkeypatch.undo()
    assert pq.read_table(rows).equals(before)
    assert sorted(p.name for p in (out / "d").iterdir()) == ["report.json", "split_rows.parquet", "torch_frame"]


def test_two_exports_writing_one_folder_are_refused(tmp_path):
    """Two hf window exports of one definition both default to hf_window: the second would replace the first."""
    cfg = tmp_path / "splits.yaml"
    cfg.write_text("definitions: [{name: official}]\n"
                   "exports:\n  - {kind: hf, unit: window, window: 60}\n  - {kind: hf, unit: window, window: 120}\n")
    with pytest.raises(ConfigError, match=r"exports\[0\] and exports\[1\] both write official/hf_window"):
        load_splits_config(cfg)
    cfg.write_text("definitions: [{name: official}]\n"
                   "exports:\n  - {kind: hf, unit: window, window: 60}\n  - {kind: hf, unit: window, window: 120, name: hf_w120}\n")
    assert [e.folder for e in load_splits_config(cfg).exports] == ["hf_window", "hf_w120"]


def test_a_delete_of_the_replaced_export_killed_halfway_does_not_block_later_exports(demo_store, tmp_path, monkeypatch):
    """The replaced export is deleted with its mark last: interrupted, it still reads as ours and the next export
    clears it (deleting the mark first left an unmarked `.<name>.old` that made every later swap fail)."""
    from amass_arrow import export as ex

    sql = _sql(tmp_path, "few", FEW)
    _export(demo_store, tmp_path / "o", sql, ["hf"])
    real = ex._remove_export

    def killed(d):
        files = [p for p in d.rglob("*") if p.is_file() and p.name != ex.MARK]
        files[0].unlink()  # part of it deleted, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(ex, "_remove_export", killed)
    with pytest.raises(KeyboardInterrupt):
        _export(demo_store, tmp_path / "o", sql, ["hf"])
    old = tmp_path / "o" / "d" / ".hf_frame.old"
    assert old.is_dir() and ex.is_export(old)
    monkeypatch.setattr(ex, "_remove_export", real)
    _export(demo_store, tmp_path / "o", sql, ["hf"])
    assert not old.exists() and ex.is_export(tmp_path / "o" / "d" / "hf_frame")
    assert _leftovers(tmp_path / "o" / "d") == []
