"""Shared pytest fixtures: one synthetic archive + body models per test session."""

from __future__ import annotations

import pytest

from amass_arrow.synthetic import SynthResult, synth


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> SynthResult:
    """A synthetic archive (`.amass_root`) and body models (`.body_models`), written once per session."""
    return synth(tmp_path_factory.mktemp("synthetic"), seed=0)
