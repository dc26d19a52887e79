# Two commands on a fresh machine: `make run` (the portal on the seeded emulator) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Test processes (pytest-xdist): one per core of the 2-core CI machine; `make test TEST_WORKERS=0` runs serially.
TEST_WORKERS ?= 2

.PHONY: run test bench lint system-deps clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $@

## Start the emulator (seeded with the manual's data) and the portal under gunicorn. Ctrl-C stops both.
run: $(INSTALLED)
	$(BIN)/d365portal demo

## Lint and types, then the whole suite: unit, emulator contract, pages, browser (Chromium) and
## multi-process (Redis) tests.
test: $(INSTALLED) system-deps lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## Load and fault benchmark; writes var/bench/report.json and a plot.
bench: $(INSTALLED)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check d365portal tests bench
	$(BIN)/mypy d365portal

## Chromium (browser tests) and redis-server (multi-process tests): installed with apt when missing.
system-deps:
	@scripts/ensure-system-deps.sh

clean:
	rm -rf $(VENV) var/bench .pytest_cache
