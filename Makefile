# precision_onco — the two commands a newcomer types are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
MLFLOW_PORT ?= 5000
MLFLOW_HOST ?= 127.0.0.1
SERVE_PORT ?= 5001
STAMP := $(VENV)/.installed
BYTECODE := $(VENV)/.compiled
NUMBA := $(VENV)/.numba

.PHONY: help install browser run test test-fast lint bench ui server serve lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --quiet --python $(PY) -c requirements.lock -e '.[dev]'
	touch $@

# Bytecode of the installed packages, written once here: with PYTHONDONTWRITEBYTECODE set
# (as in many containers and CI images) Python never caches it, and every start of
# `precision-onco serve` (or any command) would compile scipy, pandas and sklearn again,
# about 3x the import time. Python reads these files whatever that variable says.
$(BYTECODE): $(STAMP)
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	  || echo "compileall: some files were not compiled (they are imported from source)" >&2
	touch $@

# The compiled boosters' Numba functions (src/precision_onco/models/forest.py), compiled
# once into their on-disk cache (again when that file changes): a server or a stage then
# loads them in a fraction of a second instead of compiling them for seconds at its start.
$(NUMBA): $(BYTECODE) src/precision_onco/models/forest.py
	$(PY) -c 'from precision_onco.models.forest import warm_up; warm_up()'
	touch $@

install: $(STAMP) $(BYTECODE) $(NUMBA)  ## create .venv and install the project with its locked dependencies

browser:  ## install Debian's Chromium (PDF reports, browser tests) when missing
	bash scripts/install_browser.sh

run: install  ## run the whole pipeline (dvc repro) on the default config
	source $(VENV)/bin/activate && dvc repro

test: install browser  ## run the test suite
	source $(VENV)/bin/activate && python -m pytest

test-fast: install  ## run the tests that are not marked slow
	source $(VENV)/bin/activate && python -m pytest -m "not slow"

lint: install  ## ruff (check and format) and mypy on src, pipelines, tests and bench
	$(VENV)/bin/ruff check src pipelines tests bench
	$(VENV)/bin/ruff format --check src pipelines tests bench
	$(VENV)/bin/mypy src pipelines tests bench

bench: install  ## run the benchmarks under bench/
	source $(VENV)/bin/activate && for b in bench/bench_*.py; do python $$b || exit 1; done

ui: install  ## open the MLflow UI on the project's tracking store
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlruns.db --default-artifact-root ./mlartifacts --port $(MLFLOW_PORT)

server: install  ## team tracking server with basic auth (MLFLOW_AUTH_ADMIN_PASSWORD, MLFLOW_FLASK_SERVER_SECRET_KEY)
	@test -n "$$MLFLOW_AUTH_ADMIN_PASSWORD" || { echo "make server: set MLFLOW_AUTH_ADMIN_PASSWORD (the admin password; never in the repository)" >&2; exit 2; }
	@test -n "$$MLFLOW_FLASK_SERVER_SECRET_KEY" || { echo "make server: set MLFLOW_FLASK_SERVER_SECRET_KEY (CSRF key, e.g. openssl rand -hex 32; the same for every server)" >&2; exit 2; }
	MLFLOW_AUTH_CONFIG_PATH=scripts/mlflow_basic_auth.ini $(VENV)/bin/mlflow server --app-name basic-auth --backend-store-uri sqlite:///mlruns.db --artifacts-destination ./mlartifacts --host $(MLFLOW_HOST) --port $(MLFLOW_PORT)

serve: install  ## serve the recommender champion (precision-onco serve, see docs/mlops.md)
	$(VENV)/bin/precision-onco serve --port $(SERVE_PORT)

lock: install  ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile --quiet --python $(PY) pyproject.toml --extra dev -o requirements.lock

clean:  ## remove the virtual environment and caches (not data)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
