"""amass_arrow.build.parts: part names, paths and the sequences row a part carries in its metadata."""

from __future__ import annotations

import pyarrow as pa
import pytest

from amass_arrow import schema
from amass_arrow.build.parts import part_key, part_name, part_path, row_of, with_row


def test_row_rides_in_the_part_metadata():
    row = {schema.SEQ.seq_id: "CMU/01/01_01", schema.SEQ.num_frames: 3, schema.SEQ.betas: [0.5, -1.0]}
    table = with_row(pa.table({schema.FRM.frame: pa.array([0, 1, 2], pa.int32())}), row)
    assert row_of(table.schema) == row
    with pytest.raises(KeyError):
        row_of(pa.schema([(schema.FRM.frame, pa.int32())]))


def test_part_names_and_paths():
    key = part_key("common", "smplh:abc", None)
    assert key == part_key("common", "smplh:abc", None) != part_key("common", "smplh:abc", (30.0, "config"))
    name = part_name("CMU/01/01_01", "zip-1234", key)
    assert name.startswith("part-") and name.endswith(".parquet") and len(name) == len("part-.parquet") + 20
    assert name != part_name("CMU/01/01_01", "zip-1235", key)
    assert part_path("CMU", "01", name) == f"frames/dataset=CMU/subject=01/{name}"
    assert part_path("My Set", "a/b", name) == f"frames/dataset=My%20Set/subject=a%2Fb/{name}"
