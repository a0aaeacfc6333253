# CareValue: two commands on a fresh machine. `make demo` and `make test`.
# Python 3.11 or newer: python3.11 where it exists, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PATIENTS ?= 20000
DEMO_SEED ?= 42

.PHONY: demo lint test test-fast bench venv clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

# The web app's front-end assets come from npm (package-lock.json pins them) and from the
# plotly wheel; carevalue.web.assets copies them into src/carevalue/web/static/vendor.
$(STAMP): pyproject.toml package.json package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "make: CareValue needs Python 3.11 or newer; install it, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "make: CareValue's web assets need Node.js 20 or newer with npm; install them (Debian: apt-get install nodejs npm)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,test,postgres,bench]'
	npm ci --no-audit --no-fund
	$(BIN)/python -m carevalue.web.assets
	@touch $(STAMP)

venv: $(STAMP) ## create or update the virtual environment

demo: $(STAMP) ## generate the synthetic trust, load it, run everything, make demo users and serve the dashboards at http://127.0.0.1:8000
	$(BIN)/carevalue demo --patients $(DEMO_PATIENTS) --seed $(DEMO_SEED) --serve

lint: $(STAMP) ## check src and tests with ruff: the rules in pyproject.toml, and the formatting (docs/testing.md says how to fix)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: $(STAMP) lint ## lint, validate the condition packs, run their test patients, then run the whole test suite (Spark tests skip with a reason where Java 17 is missing)
	$(BIN)/carevalue validate
	$(BIN)/carevalue assure
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP) ## the suite without slow tests
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m 'not slow'

bench: $(STAMP) ## measure ingest, episodes, costing, outcomes and statistics at 100k and 1M patients (writes bench/results/*.json)
	$(BIN)/python -m carevalue.bench
	$(BIN)/python -m carevalue.bench.outcomes
	$(BIN)/python -m carevalue.bench.stats
	$(BIN)/python -m carevalue.bench.flow
	$(BIN)/python -m carevalue.bench.web_load

clean: ## remove the environment, the npm packages, the built web assets and generated data
	rm -rf $(VENV) var node_modules src/carevalue/web/static/vendor
