"""Labels carried over a rebuild never keep an old clock (issue 20, item 7).

A new fps_overrides entry stretches a sequence's timeline: its labels' seconds no longer hold, so the
rebuild drops them (naming them and the command to re-import); the other sequences keep theirs.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.build.orchestrate import build
from amass_arrow.config import load_build_config
from amass_arrow.labels import babel, filename, write_labels
from amass_arrow.store.amend import LabelsDroppedWarning
from amass_arrow.store.reader import Store
from amass_arrow.store.verify import verify

STRETCHED, KEPT = "CMU/01/01_01", "CMU/01/01_02"


def _babel(d: Path) -> Path:
    """One frame label 1.0-2.0 s (BABEL seconds at the file's 120 fps) on each of two CMU takes."""
    d.mkdir(parents=True)

    def entry(sid, seq):
        return {"babel_sid": sid, "url": "", "feat_p": f"CMU/{seq}_poses.npz", "dur": 1.0,
                "seq_ann": None,
                "frame_ann": {"babel_lid": f"l{sid}", "anntr_id": "a1", "labels": [
                    {"raw_label": "walk", "proc_label": "walk", "seg_id": f"s{sid}", "act_cat": ["walk"],
                     "start_t": 1.0, "end_t": 2.0}]}}

    (d / "train.json").write_text(json.dumps({"1": entry(1, STRETCHED), "2": entry(2, KEPT)}))
    return d


def _labels(store, source="babel"):
    t = pq.read_table(Path(store) / schema.labels_path(source))
    return sorted((r["seq_id"], r["start_t"], r["end_t"]) for r in t.to_pylist())


def test_a_rebuild_that_stretches_a_sequence_drops_its_stale_labels(synthetic_root, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(Path(synthetic_root.amass_root) / "CMU", src / "CMU")
    out = tmp_path / "store"

    def cfg(**kw):
        return load_build_config(None, amass_root=str(src), body_models=str(synthetic_root.body_models),
                                 out=str(out), workers=1, **kw)

    build(cfg(), progress=False)
    bdir = _babel(tmp_path / "babel")
    write_labels(out, babel.import_babel(out, bdir))
    write_labels(out, filename.import_filename(out))
    # before: 1.0-2.0 s on both takes (120 fps file, no override: store seconds = BABEL seconds)
    assert _labels(out) == [(STRETCHED, 1.0, 2.0), (KEPT, 1.0, 2.0)]
    kept_names = [r for r in _labels(out, "filename") if r[0] != STRETCHED]

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        build(cfg(fps_overrides={STRETCHED: 60.0}), progress=False)  # the take really ran at 60 fps: twice as long
    msgs = [str(w.message) for w in got if issubclass(w.category, LabelsDroppedWarning)]
    assert len(msgs) == 1
    assert STRETCHED in msgs[0] and KEPT not in msgs[0]
    assert f"amass-arrow labels import babel {out} {bdir}" in msgs[0]
    assert "filename" not in msgs[0]  # no file-name label on that take (its name '01_01' has no keyword)

    # the stretched take's labels are gone, not left at their old seconds; the other take keeps its own
    assert _labels(out) == [(KEPT, 1.0, 2.0)]
    assert [r for r in _labels(out, "filename") if r[0] != STRETCHED] == kept_names
    info = Store(out).info
    assert info.labels["babel"]["dropped"]["sequences"] == [STRETCHED] and info.labels["babel"]["rows"] == 1
    assert info.files[schema.labels_path("babel")]["rows"] == 1
    assert verify(out).ok
    # re-importing gives the new clock: BABEL's 1.0-2.0 file seconds at 120 fps are 2.0-4.0 s at 60 fps
    write_labels(out, babel.import_babel(out, bdir))
    assert _labels(out) == [(STRETCHED, pytest.approx(2.0), pytest.approx(4.0)), (KEPT, 1.0, 2.0)]
