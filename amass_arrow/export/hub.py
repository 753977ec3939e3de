"""A Hub-ready Parquet dataset: one row per split row (a clip), zstd Parquet shards under `data/`, a dataset card.

    OUT/README.md                       the dataset card: a YAML header declaring `configs` (data_files per split)
                                        and `dataset_info.features`, then provenance and the AMASS licence note
    OUT/data/<split>-<k:05d>.parquet    at most `--shard-mb` MB (default 500) of feature values per shard (or one
                                        bigger clip); an empty split has no file and is left out of the card's
                                        configs (`datasets` cannot load a split of 0 rows; the card names it)

Columns: seq_id, dataset, subject, start_t, end_t (seconds, half-open, store clock), fps (the export rate),
num_frames, text / label (when the split rows carry them), then each chosen feature (`--columns`, default the
export's columns) as a (T, F) float32 array (`Array2D((None, F))`; `contacts` bool). The features are also in
each file's schema metadata, so `datasets.load_dataset(OUT)` gives every split with its arrays, streaming too
(RoMo's clip-per-row Parquet is the precedent). `--push REPO` uploads the folder with huggingface_hub (extra
`hub`; a private dataset repo is created if missing). AMASS's licence forbids redistribution: push to a private
repo, or share only what the licence allows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError, require
from ..schema import SPL
from .frames import FEATURES
from .registry import Exporter, register
from .units import SLICE_UNIT

DATA = "data"
CARD = "README.md"
LICENCE = ("AMASS and the body models are licensed for non-commercial research and forbid redistribution "
           "(https://amass.is.tue.mpg.de/license.html): this dataset is derived from AMASS; keep it private or share "
           "it only as the licence allows.")


@dataclass
class Options:
    shard_mb: float = field(default=500.0, metadata={"help": "hub: largest Parquet shard, MB of feature values"})
    push: str = field(default="", metadata={"help": "hub: upload the dataset to this Hub repo (needs huggingface_hub)"})

    def validate(self, where: str) -> None:
        if not float(self.shard_mb) > 0:
            raise ConfigError(f"{where}.shard_mb must be > 0; got {self.shard_mb}")


def hub_features(columns: list[str], widths: dict[str, int], texts: list[str]):
    """datasets.Features of one clip row (see the module docstring)."""
    ds = require("datasets", "hub")
    f: dict[str, Any] = {"seq_id": ds.Value("string"), "dataset": ds.Value("string"), "subject": ds.Value("string"),
                         "start_t": ds.Value("float64"), "end_t": ds.Value("float64"), "fps": ds.Value("float64"),
                         "num_frames": ds.Value("int64")}
    f.update({c: ds.Value("string") for c in texts})
    for c in columns:
        f[c] = ds.Array2D((None, widths[c]), FEATURES[c][0])
    return ds.Features(f)


def _array2d(arrays: list[np.ndarray], width: int, typ: pa.DataType) -> pa.Array:
    """(T_i, width) arrays -> the Array2D extension array (list<list<x>> storage) of `typ`."""
    lengths = np.array([len(a) for a in arrays], np.int64)
    flat = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.zeros(0)
    storage = typ.storage_type
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, len(flat) + 1, width, dtype=np.int32)),
                                     pa.array(flat, storage.value_type.value_type))
    outer = pa.ListArray.from_arrays(pa.array(np.r_[0, np.cumsum(lengths)].astype(np.int32)), inner)
    return pa.ExtensionArray.from_storage(typ, outer)


def clip_table(clips: list[dict[str, Any]], schema: pa.Schema, columns: list[str], widths: dict[str, int]) -> pa.Table:
    """Clip dicts (scalars + (T, F) feature arrays) -> one Arrow table of `schema` (features' arrow_schema)."""
    cols = {}
    for f in schema:
        if f.name in columns:
            cols[f.name] = _array2d([c[f.name] for c in clips], widths[f.name], f.type)
        else:
            cols[f.name] = pa.array([c[f.name] for c in clips], f.type)
    return pa.table(cols, schema=schema)


def card(features, splits: dict[str, int], provenance: dict[str, Any], columns: list[str], widths: dict[str, int]) -> str:
    """The dataset card: YAML header (configs with data_files per non-empty split, dataset_info features) + text."""
    import yaml

    empty = [s for s, n in splits.items() if not n]
    splits = {s: n for s, n in splits.items() if n}
    header = {
        "license": "other", "license_name": "amass", "license_link": "https://amass.is.tue.mpg.de/license.html",
        "tags": ["motion-capture", "amass", "smpl"], "pretty_name": f"AMASS clips ({provenance.get('definition')})",
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"{DATA}/{s}-*.parquet"} for s in splits]}],
        "dataset_info": {"features": features._to_yaml_list(),
                         "splits": [{"name": s, "num_examples": n} for s, n in splits.items()]},
    }
    prov = {k: provenance.get(k) for k in ("build_id", "format_version", "definition", "sql", "params", "fps", "store_fps",
                                           "resample", "joint_set", "joint_names", "frame", "contacts")}
    lines = [
        "---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", "",
        f"# AMASS clips: {provenance.get('definition')}", "",
        "One row per clip (a row of the split definition): `seq_id`, `dataset`, `subject`, `start_t`/`end_t` "
        "(seconds, half-open), `fps`, `num_frames`, captions/labels when present, and each feature as a (T, F) array: "
        + ", ".join(f"`{c}` (T, {widths[c]})" for c in columns) + ". Joints are metres in the "
        f"`{provenance.get('frame')}` frame, joint-major ({provenance.get('joint_set')}).", "",
        "```python", "import datasets", "dd = datasets.load_dataset(\"path/or/repo\")   # " + ", ".join(
            f"{s}: {n} clips" for s, n in splits.items()), "```", "",
        *([f"Empty splits, left out (`datasets` cannot load a split of 0 rows): {', '.join(empty)}.", ""] if empty else []),
        "## Licence", "", LICENCE, "",
        "## Provenance (amass_arrow)", "", "```json", json.dumps(prov, indent=1, sort_keys=True, default=str), "```", "",
    ]
    return "\n".join(lines)


def push(folder: Path, repo: str) -> None:
    """Upload `folder` to the Hub dataset repo `repo` (created private if missing)."""
    hub = require("huggingface_hub", "hub")
    api = hub.HfApi()
    api.create_repo(repo, repo_type="dataset", private=True, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset")


@register
class HubExporter(Exporter):
    name = "hub"
    units = (SLICE_UNIT,)
    Options = Options
    summary = "Hub-ready Parquet dataset: data/<split>-*.parquet clip rows with (T, F) arrays + README.md dataset card"
    load = "datasets.load_dataset('OUT/<definition>/hub')  # or the Hub repo given to --push"

    def export(self, ctx, out: Path) -> Path:
        opts: Options = ctx.options
        widths = ctx.widths()
        texts = ctx.split_table.text_columns()
        features = hub_features(ctx.columns, widths, texts)
        schema = features.arrow_schema  # carries the features as metadata: load_dataset restores the arrays
        limit = float(opts.shard_mb) * 1_000_000
        (out / DATA).mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for split in ctx.split_names():
            shard, clips, size, n = 0, [], 0, 0
            for s in ctx.slices(split):
                r = s.row
                fps = float(ctx.fps or r[SPL.store_fps] / (r.get(SPL.export_step) or 1))
                clip = {"seq_id": s.seq_id, "dataset": r[SPL.dataset], "subject": r[SPL.subject],
                        "start_t": r[SPL.start_frame] / r[SPL.store_fps], "end_t": r[SPL.end_frame] / r[SPL.store_fps],
                        "fps": fps, "num_frames": len(s), **{c: r.get(c) for c in texts},
                        **{c: s.feats[c] for c in ctx.columns}}
                nbytes = sum(s.feats[c].nbytes for c in ctx.columns)
                if clips and size + nbytes > limit:  # a shard closes before the clip that would cross the limit
                    self._write(clips, schema, ctx.columns, widths, out / DATA / f"{split}-{shard:05d}.parquet")
                    shard, clips, size = shard + 1, [], 0
                clips.append(clip)
                size += nbytes
                n += 1
                ctx.update_stats(split, {c: s.feats[c] for c in ctx.columns})
            if clips:  # an empty split has no file: datasets cannot load a split of 0 rows (the card names it)
                self._write(clips, schema, ctx.columns, widths, out / DATA / f"{split}-{shard:05d}.parquet")
            counts[split] = n
        (out / CARD).write_text(card(features, counts, ctx.provenance, ctx.columns, widths), encoding="utf-8")
        if opts.push:
            push(out, opts.push)
        return out

    @staticmethod
    def _write(clips, schema, columns, widths, path: Path) -> None:
        pq.write_table(clip_table(clips, schema, columns, widths), path, compression="zstd")


__all__ = ["HubExporter", "Options", "card", "clip_table", "hub_features", "push"]
