"""amass_arrow.export.registry and units: exporters found by name, options typed, row units assembled once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from amass_arrow.errors import ConfigError
from amass_arrow.export import registry
from amass_arrow.export.splits import ExportSpec
from amass_arrow.export.units import assemble, iter_slices


def _chunk(lengths=(5, 3, 7)):
    """A whole-row chunk: row r has lengths[r] frames; feature x = 10 * row + frame."""
    rid = np.repeat(np.arange(len(lengths)), lengths)
    frame = np.concatenate([np.arange(n) for n in lengths]).astype(np.int32)
    x = (10.0 * rid + frame).astype(np.float32)
    return pa.table({"row_id": rid, "seq_id": [f"s{r}" for r in rid], "frame": frame, "t": frame / np.float32(30),
                     "x": pa.FixedSizeListArray.from_arrays(pa.array(np.repeat(x, 2)), 2)})


def test_units_frame_slice_window():
    c = _chunk()
    f = assemble(c, "frame")
    assert len(f) == 15 and f.take is None and f.lengths().tolist() == [1] * 15
    s = assemble(c, "slice")
    assert s.lengths().tolist() == [5, 3, 7] and s.per_unit("seq_id").to_pylist() == ["s0", "s1", "s2"]
    w = assemble(c, "window", window=3, stride=2)
    # row 0: starts 0, 2; row 1: start 0; row 2: starts 0, 2, 4
    assert w.lengths().tolist() == [3] * 6
    x = w.column("x", 2)[:, 0].reshape(6, 3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [2, 3, 4], [10, 11, 12], [20, 21, 22], [22, 23, 24], [24, 25, 26]])
    assert assemble(c, "window", window=8, stride=1).offsets.tolist() == [0]  # no row is 8 frames long


def test_iter_slices_rows_and_arrays():
    c = _chunk((2, 4))
    rows = pa.table({"row_id": [0, 1], "seq_id": ["s0", "s1"], "weight": [1.0, 2.5]})
    got = list(iter_slices(iter([c.slice(0, 2), c.slice(2)]), rows, {"x": 2}))
    assert [len(s) for s in got] == [2, 4] and got[1].row["weight"] == 2.5 and got[1].seq_id == "s1"
    np.testing.assert_array_equal(got[1].feats["x"][:, 1], [10, 11, 12, 13])


def test_builtin_exporters_registered_and_spec_validation():
    assert {"hf", "torch"} <= set(registry.names())
    assert ExportSpec(kind="hf").validate("x").unit == "frame"
    with pytest.raises(ConfigError, match="kind must be one of"):
        ExportSpec(kind="nope").validate("x")
    with pytest.raises(ConfigError, match="unknown option"):
        ExportSpec(kind="hf", options={"shards": 2}).validate("x")


@dataclass
class _Opts:
    shards: int = 1
    scale: float = 1.0
    flag: bool = False


def test_options_are_typed():
    o = registry.parse_options(_Opts, {"shards": "3", "scale": 2, "flag": "yes"}, "w")
    assert (o.shards, o.scale, o.flag) == (3, 2.0, True)
    with pytest.raises(ConfigError, match="w.shards: expected int"):
        registry.parse_options(_Opts, {"shards": 1.5}, "w")
    with pytest.raises(ConfigError, match="w.flag: expected bool"):
        registry.parse_options(_Opts, {"flag": "maybe"}, "w")


def test_a_new_exporter_is_one_class(demo_store, tmp_path):
    """Registering a class makes it a valid kind for ExportSpec and build_splits; it sees slices of the split."""
    from amass_arrow.export.splits import SplitsConfig, build_splits
    from amass_arrow.query.splits import Definition

    @registry.register
    class Count(registry.Exporter):
        name = "_count_test"
        units = ("slice",)
        columns = ("trans",)
        Options = _Opts

        def export(self, ctx, out):
            out.mkdir(parents=True, exist_ok=True)
            for split in ctx.split_names():
                n = sum(len(s) * ctx.options.shards for s in ctx.slices(split))
                (out / f"{split}.txt").write_text(str(n))
            return out

    try:
        spec = ExportSpec(kind="_count_test", options={"shards": 2}).validate("t")
        assert spec.unit == "slice" and spec.folder == "_count_test"
        res = build_splits(demo_store, SplitsConfig([Definition()], [spec]), tmp_path, progress=False, log=lambda *_: None)
        path = res.outputs[0][2]
        import json

        rep = res.reports["official"]
        assert int((path / "train.txt").read_text()) == 2 * rep["train"]["frames"]
        assert json.loads((path / "provenance.json").read_text())["export"]["options"] == {"shards": 2}
    finally:
        registry.REGISTRY.pop("_count_test", None)


def test_every_registered_exporter_keeps_the_contract():
    """Each exporter module: a name usable as --kind and folder, valid units, typed options whose defaults validate,
    a summary and a load line (CLI help, README table); option flags do not collide with `export`'s own flags."""
    import argparse
    import dataclasses

    from amass_arrow.cli import COMMANDS, _load_plugins

    reg = registry.load_all()
    assert {"hf", "torch", "protomotions", "vposer"} <= set(reg)
    for name, e in reg.items():
        assert e.name == name and name.replace("_", "").isalnum(), name
        assert e.units and set(e.units) <= {"frame", "slice", "window"}, name
        assert e.summary and e.load, name
        opts = e.options({}, name)  # defaults are valid
        assert dataclasses.is_dataclass(opts), name
        assert ExportSpec(kind=name).validate(name).unit == e.units[0]
        assert e.folder(e.units[0]) == (name if len(e.units) == 1 else f"{name}_{e.units[0]}")
    _load_plugins()
    p = argparse.ArgumentParser()
    COMMANDS["export"][2](p)  # adds every exporter's option flags next to --window/--stride/...: no collision
    flags = {a.dest for a in p._actions}
    assert {f"opt_{f}" for f in registry.option_fields()} <= flags
