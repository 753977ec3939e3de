"""Publish a new build of a local store equal to the current one plus or minus a few files (label imports),
and carry label tables over a rebuild (`carry_labels`).

The published build stays immutable: unchanged files are hard links into the new build, whose id
names its content (`Manifest.content_id`, as a build's), and which is published like any other (layout.StoreLayout.publish) under the one-writer lock.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from amass_arrow import schema
from amass_arrow.errors import StoreError
from amass_arrow.io.atomic import file_entry, link_tree, write_parquet_atomic, write_text_atomic
from amass_arrow.io.remote import is_url
from amass_arrow.schema import LAB, SEQ

from .layout import StoreLayout, WriteLock
from .reader import Store

#: the sequence fields that fix where a label's store seconds fall (labels.SequenceIndex reads them)
TIMELINE = (SEQ.num_frames, SEQ.store_fps, SEQ.source_fps, SEQ.fps_in_file, SEQ.source_frames)
#: how many sequences a dropped-labels message names
LIST_SEQUENCES = 10


class LabelsDroppedWarning(UserWarning):
    """A rebuild changed some sequences' timelines: their labels were dropped (re-import them)."""


def changed_timelines(old: pa.Table, new_rows: Iterable[dict[str, Any]]) -> set[str]:
    """seq_ids in both the old `sequences` table and `new_rows` whose timeline (TIMELINE) differs: a new fps
    override, other store fps or frame count. A field missing on either side (an older store) is not compared."""
    fields = [f for f in TIMELINE if f in old.column_names]
    before = {r[SEQ.seq_id]: r for r in old.select([SEQ.seq_id, *fields]).to_pylist()}
    out = set()
    for r in new_rows:
        b = before.get(r[SEQ.seq_id])
        if b is not None and any(b[f] is not None and r.get(f) is not None and b[f] != r[f] for f in fields):
            out.add(r[SEQ.seq_id])
    return out


def reimport_command(store: str, source: str, info: dict[str, Any]) -> str:
    """The CLI line that imports label source `source` again, from the inputs its manifest entry records."""
    inputs = [str(i) for i in info.get("inputs", []) if i != "sequences.name"]
    if source == "babel" and inputs:  # recorded per json file; the command takes their folder
        inputs = [str(Path(inputs[0]).parent)]
    return " ".join(["amass-arrow labels import", source, shlex.quote(store), *map(shlex.quote, inputs)])


def carry_labels(read: Callable[[str], pa.Table], labels: dict[str, dict[str, Any]], files: Iterable[str],
                 changed: set[str], store: str) -> tuple[dict[str, pa.Table], str | None]:
    """What a rebuild must rewrite of the old build's label files, and the message naming what it dropped.

    Labels are seconds on a sequence's store clock: when its timeline changed (`changed`), the old seconds
    are wrong, so its rows are dropped from every `labels/<source>.parquet` (rel -> table without them) and
    `labels[source]` records them (`dropped`). `read(rel)` reads an old build's file. The other files are
    carried over unchanged.
    """
    rewrite: dict[str, pa.Table] = {}
    lines = []
    want = pa.array(sorted(changed), pa.string())
    for rel in sorted(f for f in files if f.startswith(schema.LABELS_DIR + "/")
                      and not f.startswith(schema.LABELS_UNMATCHED_DIR + "/")):
        if not changed:
            break
        table = read(rel)
        hit = pc.fill_null(pc.is_in(table[LAB.seq_id], value_set=want), False)
        n = pc.sum(hit).as_py() or 0
        if not n:
            continue
        rewrite[rel] = table.filter(pc.invert(hit))
        source = Path(rel).stem
        seqs = sorted(set(table.filter(hit)[LAB.seq_id].to_pylist()))
        info = labels.setdefault(source, {})
        info["rows"] = rewrite[rel].num_rows
        info["dropped"] = {"rows": n, "sequences": seqs, "reason": "timeline changed by a rebuild"}
        more = f" and {len(seqs) - LIST_SEQUENCES} more" if len(seqs) > LIST_SEQUENCES else ""
        lines.append(f"{source}: {n} label(s) of {', '.join(seqs[:LIST_SEQUENCES])}{more}; re-import: "
                     f"{reimport_command(store, source, info)}")
    if not lines:
        return rewrite, None
    return rewrite, ("labels dropped: the rebuild changed these sequences' timelines (fps override, store fps or "
                     "frame count), so their label seconds no longer hold. " + " | ".join(lines))


def amend(path: str | Path, add: dict[str, pa.Table], *, labels: dict[str, dict[str, Any]] | None = None,
          remove: set[str] = frozenset()) -> Path:
    """Publish a new build equal to the current one plus `add` (rel path -> table) minus `remove`.

    Used by label imports: the published build stays immutable; unchanged files are hard links.
    `labels` entries are merged into the manifest's `labels` field.
    """
    if is_url(path):
        raise StoreError(f"{path}: label imports into a store on object storage are not supported yet; "
                         f"import into a local store and build it to the bucket, or copy the labels/ files by hand")
    layout = StoreLayout(path)
    with WriteLock(layout):
        store = Store(path, lease=False)
        if not layout.path.is_symlink():
            raise StoreError(f"{layout.path} is a plain copy of a store; amend the original (a symlinked store)")
        staging = layout.staging(f"amend-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            link_tree(store.root, staging, skip=set(add) | set(remove) | {schema.INFO_PATH})
            info = store.info
            for rel in remove:
                info.files.pop(rel, None)
            for rel in sorted(add):
                write_parquet_atomic(add[rel], staging / rel)
                info.files[rel] = file_entry(staging / rel, add[rel].num_rows)
            info.labels.update(labels or {})
            info.build_id = info.content_id()
            write_text_atomic(info.to_json(), staging / schema.INFO_PATH)
            return layout.publish(staging, info.build_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
