# Campus security gateway (护校安园): developer entry points.
#
# A fresh clone needs nothing but `make demo` or `make test`: the first run creates .venv with
# $(PYTHON) (Python 3.11 or newer) and installs the package with its dev extras; the install is
# redone whenever pyproject.toml is newer than the stamp .venv/.installed.
#
#   make venv    create/refresh .venv
#   make demo    everything on one machine (embedded broker, SQLite, simulated devices/police)
#   make lint    ruff check, ruff format --check, mypy --strict
#   make test    lint, then the whole pytest suite
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
.PHONY: help venv demo lint test bench clean distclean

help:
	@echo "make venv | demo | lint | test | bench | clean | distclean"
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
