"""schema.Columns: the column names every module spells by attribute."""

import pyarrow as pa
import pytest

from amass_arrow import schema


def test_columns_are_the_schemas_names_in_order():
    assert list(schema.SEQ)[:-1] == schema.SEQUENCE_SCHEMA.names and list(schema.SEQ)[-1] == "take"
    assert list(schema.REJ) == schema.REJECT_SCHEMA.names
    assert list(schema.LAB) == schema.LABEL_SEGMENT_SCHEMA.names
    assert list(schema.UNM) == schema.LABEL_UNMATCHED_SCHEMA.names
    frame = schema.frame_schema(2, joint_velocities=True).names
    assert list(schema.FRM) == [*frame, "dataset", "subject"]


def test_attribute_is_the_name_and_a_misspelling_fails_naming_the_table():
    assert schema.SEQ.source_path == "source_path" and schema.FRM.joints == schema.JOINTS
    assert schema.FRM.left_foot_contact in schema.CONTACT_COLUMNS
    assert "floor_height" in schema.SEQ and "floor_hieght" not in schema.SEQ
    with pytest.raises(AttributeError, match=r"sequences table has no column 'floor_hieght'"):
        schema.SEQ.floor_hieght  # noqa: B018
    with pytest.raises(AttributeError, match="fixed"):
        schema.SEQ.seq_id = "id"


def test_columns_follow_a_schema_change():
    cols = schema.Columns("demo", pa.schema([pa.field("a", pa.int8()), pa.field("b", pa.int8())]).names)
    assert (cols.a, cols.b, list(cols)) == ("a", "b", ["a", "b"])
    with pytest.raises(AttributeError):
        cols.c  # noqa: B018
