# crmsim — one command each: `make demo`, `make test`, `make lab`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lab dashboard chromium validate bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# (re)install when the project metadata changes
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,distributed,dashboard]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/crmsim compare scenarios/retail_baseline.yaml scenarios/retail_better_service.yaml \
		--replications 6 --jobs 2 --out out/demo --force
	$(BIN)/crmsim run scenarios/retail_baseline.yaml --seed 1 --out out/run --force >/dev/null
	@echo "plots: out/demo/differences.png, out/demo/kpi_intervals.png, out/run/lifecycle.png, out/run/money.png, out/run/survival.png"

# the browser tests drive Debian's chromium (Playwright's own download is not used)
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# two worker processes (pytest-xdist); each test file, each notebook stays on one worker
test: $(STAMP) chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile

dashboard: $(STAMP)
	$(BIN)/crmsim dashboard

validate: $(STAMP)
	$(BIN)/crmsim validate

# the issue's table: 10k, 100k and 1M customers (1M takes minutes; BENCH_SCALE=100000 for less)
BENCH_SCALE ?= 100000 1000000
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py --scale $(BENCH_SCALE)

lint: $(STAMP)
	$(BIN)/ruff check crmsim tests benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) out .pytest_cache
