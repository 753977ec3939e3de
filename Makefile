# The user's verbs. With no arguments everything runs on the built-in synthetic demo data.
#   make build-splits                      demo archive -> store -> splits -> HF datasets + torch
#   make test                              the test suite (creates .venv on first use)
#   make build AMASS_ROOT=/data/amass BODY_MODELS=/data/body_models STORE=/data/store
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?= demo
AMASS_ROOT ?= $(DEMO)/synth/amass
BODY_MODELS ?= $(DEMO)/synth/body_models
STORE ?= $(DEMO)/store
OUT ?= $(DEMO)/splits
SPLITS ?= configs/splits.yaml
WORKERS ?= 2
BUILD_ARGS ?=

.PHONY: help install build labels build-splits export test bench bench-fk fidelity lint clean
help:
	@grep -E '^#' Makefile | head -5

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Regenerated when the generator's code changes.
$(DEMO)/synth/.done: $(wildcard amass_arrow/synthetic/*.py) | $(VENV)/.installed
	rm -rf $(DEMO)/synth
	$(PY) -m amass_arrow synth $(DEMO)/synth --annotations
	touch $@

# Store only. Demo data unless AMASS_ROOT/BODY_MODELS/STORE are given.
build: $(VENV)/.installed $(if $(filter $(DEMO)/synth/amass,$(AMASS_ROOT)),$(DEMO)/synth/.done)
	$(PY) -m amass_arrow build $(AMASS_ROOT) --body-models $(BODY_MODELS) --out $(STORE) --workers $(WORKERS) $(BUILD_ARGS)

# Demo labels: the synthetic BABEL / HumanML3D files, plus file-name keywords (real data: see README).
labels: build
	$(PY) -m amass_arrow labels import babel $(STORE) $(DEMO)/synth/annotations/babel
	$(PY) -m amass_arrow labels import humanml3d $(STORE) $(DEMO)/synth/annotations/humanml3d/index.csv $(DEMO)/synth/annotations/humanml3d/texts
	$(PY) -m amass_arrow labels import filename $(STORE)

# Store (if needed), then every split in $(SPLITS) with its exporters into $(OUT).
build-splits: build
	$(PY) -m amass_arrow build-splits $(STORE) --config $(SPLITS) --out $(OUT)

# One split definition with one exporter, from an existing store (never builds it).
#   make export STORE=/data/store SQL=sql/splits/amass_official.sql KIND=torch OUT=/data/exports
SQL ?= sql/splits/amass_official.sql
KIND ?= hf
export: $(VENV)/.installed
	$(PY) -m amass_arrow export $(STORE) --sql $(SQL) --kind $(KIND) --out $(OUT)/$(KIND)

test: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: $(VENV)/.installed
	$(PY) -m amass_arrow bench --out bench-out

bench-fk: $(VENV)/.installed
	$(PY) -m amass_arrow.benchfk

# Contact methods vs ground truth on mocap-like synthetic feet (per motion kind x source rate x method).
fidelity: $(VENV)/.installed
	$(PY) -m amass_arrow.fidelity --store

lint: $(VENV)/.installed
	$(PY) -m pip install -q ruff && $(VENV)/bin/ruff check amass_arrow tests

clean:
	rm -rf $(DEMO) bench-out .pytest_cache
