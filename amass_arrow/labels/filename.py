"""Fallback labels from sequence file names (`walking_slow02`, `C19 - run to hop to walk`, `WalkInCircle`).

A name is split into lower-case words at separators, digits and camelCase humps; a rule matches
a word that starts with one of its stems (`walk` matches walking, walks). Each matching rule gives
one sequence-level segment (0 -> store length, num_frames / store_fps) with `proc_label` = the rule's label,
`raw_label` = the words that matched, `act_cat` = [label]. Names matching no rule are reported
(reason `no_keyword`), so coverage is visible.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..schema import SEQ
from . import KIND_SEQUENCE, ImportResult, SequenceIndex, open_index

#: label -> word stems (a word matches when it starts with a stem); order = output order
RULES: dict[str, tuple[str, ...]] = {
    "walk": ("walk", "stroll", "march", "treadmill"),
    "run": ("run", "sprint"),
    "jog": ("jog",),
    "jump": ("jump", "hop", "leap", "skip"),
    "dance": ("danc", "salsa", "waltz", "ballet"),
    "kick": ("kick",),
    "punch": ("punch", "box", "jab"),
    "throw": ("throw", "toss", "pitch"),
    "catch": ("catch",),
    "sit": ("sit",),
    "stand": ("stand",),
    "turn": ("turn", "rotat", "spin", "pivot"),
    "crawl": ("crawl",),
    "climb": ("climb", "upstair", "downstair", "stair"),
    "squat": ("squat",),
    "kneel": ("kneel",),
    "lie": ("lie", "lying"),
    "bend": ("bend", "bow"),
    "stretch": ("stretch", "streching"),
    "wave": ("wave", "waving"),
    "balance": ("balanc",),
}
_NEGATIVE = {"bowl", "bowling", "bowls"}  # words a stem would wrongly claim

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z]+")


def words(name: str) -> list[str]:
    """`WalkInCounterClockwise02_poses` -> ['walk', 'in', 'counter', 'clockwise', 'poses']."""
    out = []
    for chunk in _SPLIT.split(name):
        out.extend(w.lower() for w in _CAMEL.split(chunk) if w)
    return out


def match(name: str) -> list[tuple[str, list[str]]]:
    """[(label, matched words)] for a sequence name, in RULES order."""
    ws = [w for w in words(name) if w not in _NEGATIVE]
    hits = []
    for label, stems in RULES.items():
        got = [w for w in ws if w.startswith(stems)]
        if got:
            hits.append((label, got))
    return hits


def import_filename(store_path: str | Path, index: SequenceIndex | None = None) -> ImportResult:
    """Keyword labels for every store sequence's name (nothing is written)."""
    if index is None:
        _, index = open_index(store_path)
    res = ImportResult("filename", inputs=["sequences.name"])
    for seq_id, row in sorted(index.rows.items()):
        name = row[SEQ.name]
        hits = match(name)
        if not hits:
            res.report(seq_id, "no_keyword", f"name {name!r} matches no keyword rule", seq_id=seq_id)
            continue
        for label, got in hits:
            res.add(seq_id, 0.0, index.length(seq_id), kind=KIND_SEQUENCE, source_ref=seq_id,
                    raw_label=" ".join(dict.fromkeys(got)), proc_label=label, act_cat=[label])
    return res
