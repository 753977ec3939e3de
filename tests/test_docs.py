"""The README documents every command and every make verb a user is offered."""

from __future__ import annotations

import re
from pathlib import Path

from amass_arrow.cli import COMMANDS, _load_plugins

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_every_cli_command_is_in_the_readme():
    _load_plugins()
    assert len(COMMANDS) >= 10
    missing = [name for name in COMMANDS if f"amass-arrow {name} " not in README and f"`amass-arrow {name}`" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_make_verb_is_in_the_readme():
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    verbs = [v for v in phony if v not in ("help", "install", "clean")]
    assert {"build", "build-splits", "test", "bench", "lint"} <= set(verbs)
    missing = [v for v in verbs if f"make {v}" not in README]
    assert not missing, f"make targets missing from README.md: {missing}"


def test_every_label_source_and_exporter_is_in_the_readme():
    from amass_arrow.export.registry import load_all
    from amass_arrow.labels import SOURCES

    assert set(SOURCES) == {"babel", "humanml3d", "filename"}
    missing = [s for s in SOURCES if f"amass-arrow labels import {s}" not in README]
    assert not missing, f"label sources missing from README.md: {missing}"
    kinds = sorted(load_all())
    assert {"hf", "torch", "protomotions", "vposer", "humanml3d"} <= set(kinds)
    missing = [k for k in kinds if f"| `{k}` (" not in README]
    assert not missing, f"exporters missing from README.md's exporter table: {missing}"
