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
# The fast inner loop leaves out what needs services, a browser, or server processes.
FAST   := not (postgres or redis or s3 or cluster or browser or bench or slow)
# Branch coverage of src/hubbub over the whole suite (server processes included) may only rise.
COVERAGE_FLOOR := 93

# The container image: `make image` tags it $(IMAGE); `make test-image` builds it on a Debian
# base made with debootstrap and runs it (minutes; not part of `make test`).
IMAGE  ?= hubbub:dev

.PHONY: help run check test lint typecheck jstest pytest bench image test-image clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

run: $(STAMP) ## Start the server on 127.0.0.1:8081 (SQLite at ./data/hubbub.db)
	$(BIN)/hubbub serve

# The fast set runs on every core (pytest-xdist): it starts no servers, so its tests don't
# compete for ports or time; `make test` stays serial (its timing-sensitive tests do).
check: $(TSTAMP) lint typecheck ## The inner loop: lint, types, SQLite unit and API tests
	$(BIN)/pytest -q -n auto -m "$(FAST)"

test: $(TSTAMP) lint typecheck jstest pytest ## Every gate: lint, types, the client's checks, every test, coverage

lint: $(TSTAMP) ## ruff, formatting, import contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(TSTAMP) ## mypy --strict over src, tests and bench
	$(BIN)/mypy

jstest: $(NSTAMP) ## The web client: ESLint, tsc on its JSDoc types, unit tests (node --test)
	$(NBIN)/eslint $(JS) src/hubbub/web/static/app/sw.js tests/js eslint.config.js
	$(NBIN)/tsc -p tsconfig.json
	node --test tests/js/

pytest: $(TSTAMP) ## Every test but the image's, with branch coverage (floor: COVERAGE_FLOOR)
	rm -f .coverage .coverage.*
	$(BIN)/pytest -m "not image" --durations=30 --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

bench: $(TSTAMP) ## Benchmarks (not a test): make bench ARGS="--scenario send --runs 3"
	$(BIN)/python bench/run.py $(ARGS)

# podman or docker, whichever is installed; podman keeps HEALTHCHECK only in docker format.
image: ## Build the container image with podman or docker: make image IMAGE=hubbub:1.0
	@if command -v podman >/dev/null; then \
	  set -x; podman build --format docker -t $(IMAGE) $(IMAGE_ARGS) .; \
	elif command -v docker >/dev/null; then \
	  set -x; docker build -t $(IMAGE) $(IMAGE_ARGS) .; \
	else echo "make image needs podman or docker (apt-get install podman)" >&2; exit 1; fi

test-image: $(TSTAMP) ## Build the image on a debootstrapped Debian base and run it (podman, root)
	$(BIN)/pytest -m image tests/deploy/test_image.py

clean: ## Remove the venv, node_modules and tool caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
