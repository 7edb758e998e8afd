# precision_onco — the two commands a newcomer types are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
MLFLOW_PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: help install browser run test test-fast lint bench ui lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --quiet --python $(PY) -c requirements.lock -e '.[dev]'
	touch $@

install: $(STAMP)  ## create .venv and install the project with its locked dependencies

browser:  ## install Debian's Chromium (PDF reports, browser tests) when missing
	bash scripts/install_browser.sh

run: install  ## run the whole pipeline (dvc repro) on the default config
	source $(VENV)/bin/activate && dvc repro

test: install browser  ## run the test suite
	source $(VENV)/bin/activate && python -m pytest

test-fast: install  ## run the tests that are not marked slow
	source $(VENV)/bin/activate && python -m pytest -m "not slow"

lint: install  ## ruff and mypy on the library
	$(VENV)/bin/ruff check src pipelines tests bench
	$(VENV)/bin/mypy src

bench: install  ## run the benchmarks under bench/
	source $(VENV)/bin/activate && for b in bench/bench_*.py; do python $$b || exit 1; done

ui: install  ## open the MLflow UI on the project's tracking store
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlruns.db --default-artifact-root ./mlartifacts --port $(MLFLOW_PORT)

lock: install  ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile --quiet --python $(PY) pyproject.toml --extra dev -o requirements.lock

clean:  ## remove the virtual environment and caches (not data)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
