"""Shared pytest fixtures: one synthetic archive + body models per test session."""

from __future__ import annotations

import pytest

from amass_arrow.tools.synthetic import SynthResult, synth


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> SynthResult:
    """A synthetic archive (`.amass_root`) and body models (`.body_models`), written once per session."""
    return synth(tmp_path_factory.mktemp("synthetic"), seed=0)


@pytest.fixture(scope="session")
def demo_store(synthetic_root, tmp_path_factory):
    """A store built once per session from `synthetic_root` (1 worker, no progress bar); returns its path."""
    from amass_arrow.build.orchestrate import build
    from amass_arrow.config import load_build_config

    out = tmp_path_factory.mktemp("demo") / "store"
    cfg = load_build_config(None, amass_root=str(synthetic_root.amass_root),
                            body_models=str(synthetic_root.body_models), out=str(out), workers=1)
    build(cfg, progress=False)
    return out
