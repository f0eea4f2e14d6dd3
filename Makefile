# chatsync: `make demo` and `make test` each build everything they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp

.PHONY: install demo test lint clean reliability bench

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

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy sources pipelines

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Kills, overlaps, a fault storm and hostile payloads against the simulator's ground truth (~10 min).
reliability: install
	$(BIN)/python -m bench.reliability

# chatsync against a hand-written client on the same simulator; prints a table, writes bench/RESULTS.md.
# Add the 1M-message full load with: make bench BENCH_ARGS="--sizes 10000 100000 1000000"
bench: install
	$(BIN)/python -m bench.perf $(BENCH_ARGS)
