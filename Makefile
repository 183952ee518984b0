# invrender: `make demo` sets up and runs the main job, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast bench bench-compare lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/invrender optimize recipes/cbox_red_wall.yaml
	@echo "demo outputs: runs/cbox_red_wall/ (frames/, convergence.png, log.jsonl, params_final.json)"

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) bench/bench.py

# Mitsuba 3 in a side venv, never a dependency of the package or its tests (DESIGN §7)
MITSUBA_VENV ?= .venv-mitsuba
$(MITSUBA_VENV)/.installed:
	$(PYTHON) -m venv $(MITSUBA_VENV)
	$(MITSUBA_VENV)/bin/python -m pip install --quiet mitsuba==3.9.1 drjit==1.5.0 numpy
	touch $@

# ARGS="--quick" for the headline cases only, ARGS="--arch cuda" on a GPU
bench-compare: $(STAMP) $(MITSUBA_VENV)/.installed
	$(PY) bench/compare_mitsuba.py --mitsuba-python $(MITSUBA_VENV)/bin/python $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check invrender tests bench scenes examples

clean:
	rm -rf out .pytest_cache
