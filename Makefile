# Campus security gateway (护校安园): developer entry points.
#
# A fresh clone needs nothing but `make demo` or `make test`: the first run creates .venv with
# $(PYTHON) (Python 3.11 or newer) and installs the package with its dev extras; the install is
# redone whenever pyproject.toml is newer than the stamp .venv/.installed.
#
#   make venv    create/refresh .venv
#   make demo    everything on one machine (embedded broker, SQLite, simulated devices/police)
#   make lint    ruff check, ruff format --check, mypy --strict
#   make test    lint, then the whole pytest suite (the fault tests of tests/chaos included, short)
#   make chaos   the fault tests with long faults; their counts go to docs/reliability.md
#   make bench   the benchmarks in bench/ (results go to docs/benchmarks.md)
#   make clean   remove caches and build output (make distclean also removes .venv, demo-data)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments, e.g. `make test PYTEST_ARGS="-k settings"` or `make demo DEMO_ARGS="--port 8081"`.
PYTEST_ARGS ?=
DEMO_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv demo lint test chaos bench clean distclean

help:
	@echo "make venv | demo | lint | test | chaos | bench | clean | distclean"
	@echo "  (PYTHON=$(PYTHON) creates $(VENV); it must be Python 3.11 or newer)"

venv: $(STAMP)

# The interpreter: created once, with a clear message when python3 is missing or too old.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found; install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
	  echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the gateway needs Python 3.11 or newer." >&2; \
	  echo "       Install one and run e.g. 'make PYTHON=python3.12 venv'." >&2; \
	  exit 1; }
	@echo "creating $(VENV) with $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	@$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; \
	  exit 1; }

# The package and its dev tools; redone when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing campus-gateway[dev] into $(VENV)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(BIN)/campus-gateway demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

# The fault tests (tests/chaos) with faults long enough to mean it: the police centre down for
# two minutes, six SIGKILLs, the broker, PostgreSQL and the disk away for tens of seconds. Each
# test writes its counts to CHAOS_REPORT_DIR; the table in docs/reliability.md is rewritten from
# them even when a test fails (its problem counts then show there). A missing service fails
# rather than skips: a hole in the table would read as "nothing lost". Override any duration,
# e.g. `make chaos CHAOS_OUTAGE_S=600`; CHAOS_SEED=N replays the SIGKILL test's draw.
CHAOS_OUTAGE_S ?= 120
CHAOS_KILLS ?= 6
CHAOS_BROKER_DOWN_S ?= 20
CHAOS_PG_DOWN_S ?= 30
CHAOS_DISK_FULL_S ?= 30
CHAOS_REPORT_DIR ?= test-artifacts/chaos

chaos: venv
	rm -rf $(CHAOS_REPORT_DIR)
	@status=0; \
	CAMPUS_REQUIRE_SERVICES=1 CHAOS_REPORT_DIR=$(CHAOS_REPORT_DIR) \
	  CHAOS_OUTAGE_S=$(CHAOS_OUTAGE_S) CHAOS_KILLS=$(CHAOS_KILLS) \
	  CHAOS_BROKER_DOWN_S=$(CHAOS_BROKER_DOWN_S) CHAOS_PG_DOWN_S=$(CHAOS_PG_DOWN_S) \
	  CHAOS_DISK_FULL_S=$(CHAOS_DISK_FULL_S) \
	  $(BIN)/python -m pytest tests/chaos -q -ra -p no:cacheprovider $(PYTEST_ARGS) || status=$$?; \
	CHAOS_OUTAGE_S=$(CHAOS_OUTAGE_S) CHAOS_KILLS=$(CHAOS_KILLS) \
	  CHAOS_BROKER_DOWN_S=$(CHAOS_BROKER_DOWN_S) CHAOS_PG_DOWN_S=$(CHAOS_PG_DOWN_S) \
	  CHAOS_DISK_FULL_S=$(CHAOS_DISK_FULL_S) \
	  $(BIN)/python -m tests.chaos.report $(CHAOS_REPORT_DIR) || status=1; \
	exit $$status

bench: venv
	@echo "bench: runs the benchmarks in bench/ ($(BIN)/python -m bench); record results in docs/benchmarks.md"
	@if [ -f bench/__main__.py ]; then \
	  $(BIN)/python -m bench; \
	else \
	  echo "bench: no benchmarks yet (bench/__main__.py does not exist)" >&2; exit 1; \
	fi

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist test-artifacts
	rm -rf *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) demo-data
