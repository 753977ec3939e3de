# The user's verbs. With no arguments everything runs on the built-in synthetic demo data.
#   make build-splits                      demo archive -> store -> splits -> HF datasets + torch
#   make test                              the test suite (creates .venv on first use)
#   make build AMASS_ROOT=/data/amass BODY_MODELS=/data/body_models STORE=/data/store
#   make build-splits STORE=/data/store OUT=/data/splits    reads the store; never rebuilds it
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?= demo
# What is built where comes from the command line only (an exported AMASS_ROOT or STORE is ignored).
AMASS_ROOT = $(DEMO)/synth/amass
BODY_MODELS = $(if $(filter $(DEMO)/synth/amass,$(AMASS_ROOT)),$(DEMO)/synth/body_models)
STORE = $(DEMO)/store
OUT ?= $(DEMO)/splits
SPLITS ?= configs/splits.yaml
WORKERS ?= auto
BUILD_ARGS ?=
# Targets that read a store (labels, build-splits) (re)build it first only when AMASS_ROOT is given on
# the command line, or for the demo (neither AMASS_ROOT nor STORE given):
# `make build-splits STORE=/x OUT=/y` reads /x and never touches it.
given = $(filter command line override,$(origin $(1)))
DEMO_MODE := $(if $(call given,AMASS_ROOT)$(call given,STORE),,1)
STORE_BUILD := $(if $(call given,AMASS_ROOT)$(DEMO_MODE),build)
# Annotations imported by `make labels`: the demo's synthetic files only for the demo store.
BABEL ?= $(if $(DEMO_MODE),$(DEMO)/synth/annotations/babel)
HUMANML3D ?= $(if $(DEMO_MODE),$(DEMO)/synth/annotations/humanml3d)

.PHONY: help install build labels build-splits export test bench bench-fk fidelity metrics lint clean
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

# Store only. Demo data unless AMASS_ROOT/BODY_MODELS/STORE are given; a STORE without AMASS_ROOT is refused
# (it would fill that store with the demo archive). BUILD_ARGS=--replace allows replacing a store's content.
build: $(VENV)/.installed $(if $(filter $(DEMO)/synth/amass,$(AMASS_ROOT)),$(DEMO)/synth/.done)
	$(if $(call given,STORE),$(if $(call given,AMASS_ROOT),,$(error make build STORE=$(STORE) needs AMASS_ROOT=... and BODY_MODELS=...; without them it would build the demo archive into that store)))
	$(if $(BODY_MODELS),,$(error make build AMASS_ROOT=$(AMASS_ROOT) needs BODY_MODELS=... (the demo's synthetic models are not SMPL)))
	$(PY) -m amass_arrow build $(AMASS_ROOT) --body-models $(BODY_MODELS) --out $(STORE) --workers $(WORKERS) $(BUILD_ARGS)

# Labels: BABEL=folder and HUMANML3D=folder (index.csv + texts/) when given (the demo's synthetic ones for the
# demo store), plus file-name keywords. The store is (re)built first only as for build-splits.
labels: $(VENV)/.installed $(STORE_BUILD)
	$(if $(BABEL),$(PY) -m amass_arrow labels import babel $(STORE) $(BABEL))
	$(if $(HUMANML3D),$(PY) -m amass_arrow labels import humanml3d $(STORE) $(HUMANML3D)/index.csv $(HUMANML3D)/texts)
	$(PY) -m amass_arrow labels import filename $(STORE)

# Every split in $(SPLITS) with its exporters into $(OUT); the store is (re)built first only when AMASS_ROOT
# is given or for the demo.
build-splits: $(VENV)/.installed $(STORE_BUILD)
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
	$(PY) -m amass_arrow.tools.benchfk

# The field's metrics (GMD skating ratio, FlowMDM jerk) of a store's ground truth per split (the demo store by default).
metrics: $(VENV)/.installed $(STORE_BUILD)
	$(PY) -m amass_arrow metrics $(STORE) --sql $(SQL)

# Contact methods vs ground truth on mocap-like synthetic feet (per motion kind x source rate x method).
fidelity: $(VENV)/.installed
	$(PY) -m amass_arrow.tools.fidelity --store

# ruff, and the house's layering (pyproject's [tool.importlinter]: no stage imports one above it, no cycles)
lint: $(VENV)/.installed
	$(PY) -m pip install -q ruff && $(VENV)/bin/ruff check amass_arrow tests
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(DEMO) bench-out .pytest_cache
