# neurodyn: `make demo` and `make test` each build .venv from nothing (python3 -m venv + pip).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The main job on small built-in defaults (N = 500, 6 gains, 2 seeds); replaces its own output.
demo: $(STAMP)
	$(BIN)/neurodyn chaos --out runs/demo_chaos.zarr --overwrite

# pytest on every core (pytest-xdist), one test file per process so that a file's tests share
# their compiled functions and module fixtures (tests/conftest.py also turns off the XLA CPU
# fusion emitters, which compile slowly: 13.1 min instead of 17.5 min on 2 cores, 2026-12-03).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/setup_peers.py
	$(BIN)/python benchmarks/bench_simulate.py --quick
	$(BIN)/python benchmarks/bench_peers.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
