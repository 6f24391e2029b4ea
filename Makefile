# Quick start: `make demo` and `make test` both create what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit ci bench bench-full clean checkov

$(VENV)/.installed: setup.cfg pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -c requirements/constraints.txt -e '.[dev]'
	touch $@

# checkov is isolated: its pins conflict with ours (see setup.cfg and docs/terraform.md).
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q -r requirements/checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed

# iam-simulate (AGPL), the oracle of the evaluator's differential test: installed from the
# pinned lock file at test time, never vendored. Without npm the test skips and says so.
IAMSIM := .cache/iam-simulate
IAMSIM_SRC := tests/checks/aws_access/iamsim
$(IAMSIM)/.installed: $(IAMSIM_SRC)/package.json $(IAMSIM_SRC)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(IAMSIM) && cp $(IAMSIM_SRC)/package.json $(IAMSIM_SRC)/package-lock.json $(IAMSIM)/ && \
	  npm ci --prefix $(IAMSIM) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the iam-simulate differential test will be skipped"; fi

iam-simulate: $(IAMSIM)/.installed

# Prowler, only for the side-by-side benchmark: its own venv, never a dependency of the package.
PROWLER_VENV := bench/.prowler-venv
$(PROWLER_VENV)/.installed:
	$(PYTHON) -m venv $(PROWLER_VENV)
	$(PROWLER_VENV)/bin/pip install -q prowler==5.46.0
	touch $@

# ansible-core, only for the SSH fleet comparison (bench/ssh_fleet.py --ansible): its own venv, never a dependency.
ANSIBLE_VENV := bench/.ansible-venv
$(ANSIBLE_VENV)/.installed:
	$(PYTHON) -m venv $(ANSIBLE_VENV)
	$(ANSIBLE_VENV)/bin/pip install -q ansible-core==2.18.19
	touch $@

demo: $(VENV)/.installed
	$(BIN)/aslcheck demo

lint: $(VENV)/.installed
	$(BIN)/ruff check aslcheck tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(IAMSIM)/.installed
	ASLCHECK_CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(BIN)/pytest -q

test: lint typecheck unit

# What CI runs: system packages, then `make test` in a fresh clone of HEAD in a temporary folder.
ci:
	.ci/run

bench: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(PROWLER_VENV)/.installed
	ASLCHECK_CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(BIN)/python bench/run_all.py --quick

bench-full: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(PROWLER_VENV)/.installed
	ASLCHECK_CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(BIN)/python bench/run_all.py --full

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) reports .mypy_cache .ruff_cache .pytest_cache
