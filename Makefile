# invrender: `make demo` sets up and runs the main job, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast bench lint clean

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

lint: $(STAMP)
	$(VENV)/bin/ruff check invrender tests bench scenes examples

clean:
	rm -rf out .pytest_cache
