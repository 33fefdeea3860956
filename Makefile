# The two commands of the README: `make demo` and `make test` (`make check`: the unit
# tests only, no Snakemake run).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test check report benchmark lint format clean wheel

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml standin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./standin
	touch $@

demo: setup
	$(PY) -m sezlights_standin.demo

report: setup
	$(VENV)/bin/snakemake --report results/report.html

# the whole suite: the unit tests (make check), then the Snakemake runs two test files
# at a time (each file's module fixtures made once), then those marked `serial` (timed
# or interrupted runs) alone; fails if any part does
test: check
	$(VENV)/bin/pytest -m "workflow and not serial" -n 2 --dist loadfile --durations=20; status=$$?; \
	$(VENV)/bin/pytest -m serial --durations=8; serial=$$?; \
	[ $$status -eq 0 ] && [ $$serial -eq 0 ]

# the unit tests: no test that runs Snakemake (marked `workflow`), two processes
check: setup
	$(VENV)/bin/pytest -m "not workflow" -n 2 --durations=10

# Full-resolution benchmark (not part of the tests): ~10 GB of disk, ~30 minutes.
benchmark: setup
	$(PY) bench/benchmark.py

lint: setup
	$(VENV)/bin/ruff check src standin tests workflow/scripts bench
	$(VENV)/bin/ruff format --check src standin tests workflow/scripts bench
	$(VENV)/bin/snakefmt --check workflow
	$(VENV)/bin/snakemake --lint --configfile config/demo.yaml

format: setup
	$(VENV)/bin/ruff check --fix src standin tests workflow/scripts bench
	$(VENV)/bin/ruff format src standin tests workflow/scripts bench
	$(VENV)/bin/snakefmt workflow

clean:
	rm -rf results resources logs benchmarks demo-data .snakemake
