# hubbub: `make run` starts the server, `make test` runs every gate. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-run
TSTAMP := $(VENV)/.stamp-test
# The web client's checks run on Node.js with dev tools from package-lock.json (never served).
NBIN   := node_modules/.bin
NSTAMP := node_modules/.stamp-ci
JS     := src/hubbub/web/static/app/js

.PHONY: run test lint typecheck jstest pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes (the stamp is newer than pyproject.toml).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $@

# npm ci only when node_modules is missing or older than the lockfile; tools then run from
# node_modules/.bin, so nothing is fetched while checking.
$(NSTAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: $(STAMP)
	$(BIN)/hubbub serve

test: $(TSTAMP) lint typecheck jstest pytest

lint: $(TSTAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

typecheck: $(TSTAMP)
	$(BIN)/mypy

# The web client: ESLint, tsc on its JSDoc types, and its unit tests (tests/js) on node --test.
jstest: $(NSTAMP)
	$(NBIN)/eslint $(JS) tests/js eslint.config.js
	$(NBIN)/tsc -p tsconfig.json
	node --test tests/js/

pytest: $(TSTAMP)
	$(BIN)/pytest

# Benchmarks (not a test): `make bench ARGS="--scenario send --runs 3"`; see docs/benchmarks.md.
bench: $(TSTAMP)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
