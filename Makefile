# chatsync: `make demo` and `make test` each build everything they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp

.PHONY: install demo test test-slow test-all docs-screenshots lint clean reliability bench bench-1m bench-insights bench-explore bench-intercom bench-merge dagster test-airflow postgres postgres-stop docs docs-build docs-reference

install: $(STAMP)

# Re-installs only when the project metadata changed; otherwise a no-op.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "chatsync needs Python 3.11+"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/chatsync demo

# Tiers by pytest marker (pyproject.toml): make test runs every test not marked slow (under 5 minutes),
# make test-slow the slow scenarios (kills, storms, Dagster jobs, insights quality), make test-all both.
# Two workers: about half the time on these 2-core machines; the shared warehouses (tests/worlds.py)
# are built once per run between them.
PYTEST := $(BIN)/pytest -n 2 --dist loadgroup
test: install
	$(PYTEST) -m "not slow"

test-slow: install
	$(PYTEST) -m slow

test-all: install
	$(PYTEST)

# The Explore page's screenshots: the browser test, writing into docs/assets (the suite writes to a temporary folder).
docs-screenshots: install
	CHATSYNC_SCREENSHOTS=$(CURDIR)/docs/assets $(BIN)/pytest -p no:cacheprovider tests/pipelines/explorer/test_browser.py

# The Airflow DAG in an environment of its own (.venv-airflow): Airflow beside dlt slows every dlt start.
AIRFLOW_VENV := .venv-airflow
$(AIRFLOW_VENV)/.install-stamp: pyproject.toml
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -e ".[dev,airflow]"
	touch $@

test-airflow: $(AIRFLOW_VENV)/.install-stamp
	$(AIRFLOW_VENV)/bin/pytest tests/pipelines/orchestrators/test_airflow.py

# Lint, not tests: ruff, mypy, the import contracts, and Dagster's own check of the definitions.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy sources pipelines
	$(BIN)/lint-imports
	VIRTUAL_ENV=$(CURDIR)/$(VENV) DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/dg check defs

clean:
	rm -rf $(VENV) .venv-airflow demo .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Dagster's UI and daemon on chatsync's assets, with the settings in .dlt/ (README, "Orchestration").
# Runs, logs and schedule state stay in .dagster/ (git-ignored but for its dagster.yaml).
dagster: install
	DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/dg check defs
	DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/dg dev

# Kills, overlaps, a fault storm and hostile payloads against the simulator's ground truth (~10 min).
reliability: install
	$(BIN)/python -m bench.reliability

# chatsync against a hand-written client on the same simulator; prints a table, writes bench/RESULTS.md.
# Options: make bench BENCH_ARGS="--providers owlbot --sizes 100000"; the 1M load: make bench-1m
bench: install
	$(BIN)/python -m bench.perf $(BENCH_ARGS)

# The 1M-message full load of every provider against the baseline (~30 min); writes bench/RESULTS-1M.md.
bench-1m: install
	$(BIN)/python -m bench.perf --sizes 1000000 --skip no-op audit 1% fan-out --results bench/RESULTS-1M.md

# dlt's merge strategies on chatsync's largest table, DuckDB and a real PostgreSQL (~2 min); writes its
# section of bench/RESULTS.md. Options: BENCH_ARGS="--rows 1000000 --destinations duckdb"
bench-merge: install
	$(BIN)/python -m bench.merge $(BENCH_ARGS)

# Insights at scale: the full fit at ~100k conversations (~900k messages) and the incremental refresh
# after 1,000 new ones, each its own process (~10 min); writes its section of bench/RESULTS.md.
bench-insights: install
	$(BIN)/python -m bench.insights $(BENCH_ARGS)

# chatsync explore over ~1M messages: start to first page, search, the longest transcript (~6 min with the load);
# BENCH_ARGS="--warehouse PATH" reuses a DuckDB warehouse. Writes its section of bench/RESULTS.md.
bench-explore: install
	$(BIN)/python -m bench.explore $(BENCH_ARGS)

# Intercom under its documented rate limit (167 per 10-second window), nothing configured (~2 min);
# writes its section of bench/RESULTS.md. Options: BENCH_ARGS="--size 4000"
bench-intercom: install
	$(BIN)/python -m bench.intercom_limits $(BENCH_ARGS)

# A real PostgreSQL 16 for trying the Postgres destination (docs/postgres.md): data in .chatsync/postgres.
PG_DIR := $(CURDIR)/.chatsync/postgres
postgres: install
	@$(BIN)/python -c 'import pgserver; s = pgserver.get_server("$(PG_DIR)", cleanup_mode=None); print("export DESTINATION__POSTGRES__CREDENTIALS=" + chr(39) + s.get_uri().replace(":@/", ":@localhost/", 1) + chr(39))'

postgres-stop: install
	@$(BIN)/python -c 'import pgserver; pgserver.get_server("$(PG_DIR)", cleanup_mode="stop").cleanup()'

# The docs site (mkdocs-material): serve it, build it strictly, regenerate the CLI and schema references.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site

docs-reference: install
	$(BIN)/python -m pipelines.cli.reference docs
