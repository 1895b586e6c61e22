# cloudgd: the two commands a newcomer needs.
#   make demo   creates .venv, installs cloudgd with the trainer, runs the digits job here
#   make test   creates/updates .venv with every extra (checkov: .venv/checkov), then ruff,
#               ruff format, mypy, pytest
# Installs are skipped while pyproject.toml is unchanged (stamp files in .venv).
# CPU-only torch (much smaller download on Linux):
#   make demo PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PIP_ARGS ?=
PYTEST_WORKERS ?= 2
MIN_TESTS ?= 800

BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip install --disable-pip-version-check $(PIP_ARGS)
JUNIT := $(VENV)/pytest-junit.xml
# checkov pins boto3/urllib3 versions the cloud SDKs cannot share: it gets a venv of its own.
CHECKOV_VENV := $(VENV)/checkov

.PHONY: help demo report-figure test lint typecheck unit clean

help:
	@echo "make demo   install cloudgd + trainer in $(VENV), run examples/digits.yaml locally"
	@echo "make test   install everything in $(VENV), run ruff, ruff format --check, mypy, pytest"
	@echo "make report-figure  regenerate docs/img/digits-report.png (the README's figure)"
	@echo "make clean  remove $(VENV)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "cloudgd needs Python >= 3.11; try: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	@# The pip that ships with older Pythons (23.x) fails to resolve the cloud SDKs'
	@# opentelemetry pins (InconsistentCandidate); a current pip backtracks correctly.
	$(PY) -m pip install --disable-pip-version-check --quiet --upgrade 'pip>=24.2'

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PIP) -e '.[train,plots]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PIP) -e '.[all,dev]'
	touch $@

# The `scan` extra's requirements (checkov), read from pyproject.toml so the bound lives once.
$(VENV)/.checkov-installed: pyproject.toml | $(PY)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --quiet $(PIP_ARGS) \
	  $$($(PY) -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["scan"]))')
	touch $@

# The demo trains with the live view (on stderr, as -o json keeps stdout for the handle),
# then writes the run's report: reports/<job>.png and reports/<job>.md.
demo: $(VENV)/.demo-installed
	$(BIN)/cloudgd -o json submit examples/digits.yaml --provider local --wait --follow \
	  > $(VENV)/demo-submit.json
	$(BIN)/cloudgd report "$$($(PY) -c 'import json, sys; print(json.load(sys.stdin)["handle"])' \
	  < $(VENV)/demo-submit.json)" --spec examples/digits.yaml --out reports

report-figure: $(VENV)/.demo-installed
	$(PY) scripts/report_figure.py

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.test-installed
	$(PY) -m mypy

# A collection mistake must not pass as "0 failures": the junit report must show
# at least MIN_TESTS tests that ran.
unit: $(VENV)/.test-installed $(VENV)/.checkov-installed
	rm -f $(JUNIT)
	OMP_NUM_THREADS=1 CLOUDGD_CHECKOV=$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -n $(PYTEST_WORKERS) --junitxml=$(JUNIT)
	$(PY) .ci/count_tests.py $(JUNIT) $(MIN_TESTS)

test: lint typecheck unit

clean:
	rm -rf $(VENV)
