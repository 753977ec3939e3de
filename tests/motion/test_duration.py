"""One duration convention: T frames at fps last T/fps seconds (frame k covers [k/fps, (k+1)/fps)).

The stored `sequences.duration`, the `sequences` view, the label index and every shipped slice agree.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from amass_arrow import schema
from amass_arrow.labels import SequenceIndex
from amass_arrow.query.splits import Definition, materialize
from amass_arrow.query.sql import connect
from amass_arrow.store.reader import Store


@pytest.fixture(scope="module")
def con(demo_store):
    return connect(demo_store)


def test_duration_seconds():
    assert schema.duration_seconds(60, 30.0) == 2.0  # 60 frames = 2 s: frames 0..59 cover [0, 2)
    assert schema.duration_seconds(1, 30.0) == pytest.approx(1 / 30)
    assert schema.duration_seconds(0, 30.0) == 0.0


def test_stored_view_and_label_durations_are_frames_over_fps(demo_store, con):
    st = Store(demo_store)
    stored = pq.read_table(st.root / schema.SEQUENCES_PATH, columns=["seq_id", "num_frames", "store_fps", "duration"])
    index = SequenceIndex.of_store(st)
    for sid, n, fps, d in zip(*(stored[c].to_pylist() for c in stored.column_names)):
        assert d == pytest.approx(n / fps, abs=1e-12), sid
        assert index.length(sid) == pytest.approx(n / fps, abs=1e-12), sid
    view = con.sql("SELECT count(*) FROM sequences WHERE abs(duration - num_frames / store_fps) > 1e-12").fetchall()[0][0]
    assert view == 0


def test_slices_agree_on_the_last_frame(con, tmp_path):
    """A row starting on a sequence's last frame holds one frame: trim_heads keeps it (it used (T-1)/fps)."""
    sid, n, fps = con.sql("SELECT seq_id, num_frames, store_fps FROM sequences WHERE dataset = 'CMU' ORDER BY seq_id LIMIT 1").fetchall()[0]
    f = tmp_path / "last_frame.sql"
    f.write_text(f"SELECT seq_id, 'train' AS split, (num_frames - 1) / store_fps AS start_t FROM sequences WHERE seq_id = '{sid}'")
    with pytest.warns(UserWarning):  # validation/test are empty
        rows = materialize(con, Definition(name="last", sql=str(f), slices=["sql/slices/trim_heads.sql"])).rows.to_pylist()
    assert [(r["seq_id"], r["start_frame"], r["end_frame"]) for r in rows] == [(sid, n - 1, n)]
    # one window as long as the whole sequence fits exactly: [0, n/fps) -> frames [0, n)
    g = tmp_path / "whole.sql"
    g.write_text(f"SELECT seq_id, 'train' AS split FROM sequences WHERE seq_id = '{sid}'")
    with pytest.warns(UserWarning):
        win = materialize(con, Definition(name="win", sql=str(g), slices=["sql/slices/windows.sql"],
                                          params={"window_seconds": n / fps, "stride_seconds": 1.0})).rows.to_pylist()
    assert [(r["start_frame"], r["end_frame"]) for r in win] == [(0, n)]
    # min_duration keeps the whole sequence at exactly its length, drops it one frame above
    with pytest.warns(UserWarning):
        keep = materialize(con, Definition(name="k", sql=str(g), slices=["sql/slices/min_duration.sql"],
                                           params={"min_seconds": n / fps})).rows.num_rows
        drop = materialize(con, Definition(name="d", sql=str(g), slices=["sql/slices/min_duration.sql"],
                                           params={"min_seconds": (n + 1) / fps})).rows
    assert keep == 1
    assert drop.num_rows == 0
