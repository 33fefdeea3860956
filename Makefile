# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test report benchmark lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(PY) -m sezlights.demo

report: setup
	$(VENV)/bin/snakemake --report results/report.html

test: setup
	$(VENV)/bin/pytest

# Full-resolution benchmark (not part of the tests): ~10 GB of disk, ~30 minutes.
benchmark: setup
	$(PY) bench/benchmark.py

lint: setup
	$(VENV)/bin/ruff check src tests workflow/scripts bench
	$(VENV)/bin/ruff format --check src tests workflow/scripts bench
	$(VENV)/bin/snakefmt --check workflow
	$(VENV)/bin/snakemake --lint --configfile config/demo.yaml

format: setup
	$(VENV)/bin/ruff check --fix src tests workflow/scripts bench
	$(VENV)/bin/ruff format src tests workflow/scripts bench
	$(VENV)/bin/snakefmt workflow

clean:
	rm -rf results resources logs benchmarks demo-data .snakemake
