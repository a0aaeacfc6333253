# CareValue: two commands on a fresh machine. `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PATIENTS ?= 20000
DEMO_SEED ?= 42

.PHONY: demo test test-fast bench venv clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,test]'
	@touch $(STAMP)

venv: $(STAMP) ## create or update the virtual environment

demo: $(STAMP) ## generate the synthetic trust, load it and run everything that exists
	$(BIN)/carevalue demo --patients $(DEMO_PATIENTS) --seed $(DEMO_SEED)

test: $(STAMP) ## run the whole test suite (Spark tests skip with a reason where Java 17 is missing)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## the suite without slow tests
	$(BIN)/python -m pytest -m 'not slow'

bench: $(STAMP) ## measure generate and ingest at 100k and 1M patients (writes bench/results/*.json)
	$(BIN)/python -m carevalue.bench

clean: ## remove the environment and generated data
	rm -rf $(VENV) var
