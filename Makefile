# The project's commands. Each one sets up what it needs first (system packages, virtualenv).
PYTHON ?= python3
VENV := .venv
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The oldest Airflow that pyproject.toml allows, on the newest Python it allows, in a second virtualenv: the
# libraries of constraints.txt but Airflow's own packages (and aiosqlite, which Airflow 3.3.0 wants older).
FLOOR_AIRFLOW := 3.3.0
FLOOR_PYTHON_VERSION := 3.13
FLOOR_PYTHON ?= python$(FLOOR_PYTHON_VERSION)
FLOOR_VENV := $(VENV)/floor
FLOOR_INSTALLED := $(FLOOR_VENV)/.installed
FLOOR_TESTS := tests/unit tests/test_reverse_etl_people.py

.PHONY: demo demo-ui test test-floor unit bench bench-mirror bench-postgres bench-sources lint format clean

$(INSTALLED): pyproject.toml constraints.txt scripts/system-deps.sh
	PYTHON=$(PYTHON) scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $(INSTALLED)

demo: $(INSTALLED)  ## a real sync from MySQL into the workspace emulator, end to end
	$(BIN)/python scripts/demo.py

demo-ui: $(INSTALLED)  ## the demo, then the Airflow UI on its runs (the "Customer.io syncs" page) until Ctrl-C (PORT=8080)
	$(BIN)/python scripts/demo.py --ui $(if $(PORT),--port $(PORT))

test: $(INSTALLED)  ## lint, types, doc snippets, the whole test suite (a private MySQL server, the emulator), then test-floor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/doc_snippets.py
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-floor

$(FLOOR_INSTALLED): pyproject.toml constraints.txt scripts/system-deps.sh
	scripts/system-deps.sh
	PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null | grep -E '^$(subst .,\.,$(FLOOR_PYTHON_VERSION))(\.|$$)' | tail -n 1)" \
		$(FLOOR_PYTHON) -m venv --clear $(FLOOR_VENV) 2>/dev/null \
		|| { echo "$(FLOOR_PYTHON) not found: the floor runs on $(PYTHON); Python $(FLOOR_PYTHON_VERSION) goes untested here" >&2; \
		     $(PYTHON) -m venv --clear $(FLOOR_VENV); }
	grep -vE '^(apache-airflow|aiosqlite)' constraints.txt > $(FLOOR_VENV)/constraints.txt
	$(FLOOR_VENV)/bin/pip install --quiet --upgrade pip
	$(FLOOR_VENV)/bin/pip install --quiet -c $(FLOOR_VENV)/constraints.txt 'apache-airflow==$(FLOOR_AIRFLOW)' \
		-e '.[postgres,snowflake,duckdb,sqlite,openlineage]' pytest pytest-timeout hypothesis
	touch $(FLOOR_INSTALLED)

test-floor: $(FLOOR_INSTALLED)  ## the unit layer and a real DagRun test on the oldest Airflow and the newest Python claimed
	$(FLOOR_VENV)/bin/pytest -q $(FLOOR_TESTS)

unit: $(INSTALLED)  ## the fast unit layer alone (tests/unit: no server, no Airflow DB, no HTTP), for the edit-test loop
	$(BIN)/pytest tests/unit -q

bench: $(INSTALLED)  ## throughput and memory (N=1,000,000 by default: make bench N=200000)
	$(BIN)/python -m benchmarks $(if $(N),--rows $(N))

bench-mirror: $(INSTALLED)  ## mirror mode against the raw read, and its memory at N and 3 x N (make bench-mirror N=200000)
	$(BIN)/python -m benchmarks.mirror $(if $(N),--rows $(N))

bench-postgres: $(INSTALLED)  ## a sync from PostgreSQL against the bare read, memory at N and 3 x N (make bench-postgres N=200000)
	$(BIN)/python -m benchmarks.postgres $(if $(N),--rows $(N))

bench-sources: $(INSTALLED)  ## per source (MySQL, PostgreSQL, DuckDB, SQLite, Snowflake on fakesnow): its bare read against our dry run, memory at N and 3 x N (make bench-sources N=200000)
	$(BIN)/python -m benchmarks.sources $(if $(N),--rows $(N))

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/doc_snippets.py

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/python scripts/doc_snippets.py --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info build dist
