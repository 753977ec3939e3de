"""make fidelity: the table of contact methods against the scripted feet's ground truth."""

from __future__ import annotations

import numpy as np

from amass_arrow.tools.fidelity import foot_flags, format_table, main, score, table
from amass_arrow.tools.synthetic.feet import make_take


def test_foot_flags_or_ankle_and_toe():
    f = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(foot_flags(f), [[True, False], [False, True], [False, False]])


def test_score_counts_frames_against_the_ground_truth():
    tk = make_take("run", 60.0, seconds=3.0, seed=5)
    sc = score([tk], "default")
    assert sc.frames == 180
    assert 0.9 < sc.agreement <= 1.0 and 0.0 <= sc.flight_flagged <= 0.1
    gt = tk.foot_contact
    assert abs(sc.one_foot - gt.any(axis=1).mean()) < 0.1  # runs: one foot down only part of the time


def test_table_rows_and_markdown(capsys):
    rows = table(kinds=("walk",), rates=(60.0,), seeds=(0,), seconds=3.0)
    assert [r["method"] for r in rows] == ["default", "protomotions", "humanml3d"]
    by = {r["method"]: r for r in rows}
    assert by["default"]["agreement"] > by["protomotions"]["agreement"]
    text = format_table(rows)
    assert text.splitlines()[1] == "|---|---|---|---|---|" and len(text.splitlines()) == 3
    assert text.splitlines()[2].startswith(f"| walk | 60 | {100 * by['default']['agreement']:.1f} / ")
    assert main(["--seeds", "1", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "| platform | 250 |" in out and "default: agree" in out
