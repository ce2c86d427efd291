# The README's two commands: `make studio` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: studio test bench fuzz screenshots lint clean

# pip's own lines (each package as it is collected, a bar for each download) are the progress.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "installing lumos-studio and its dependencies into $(VENV) (about a minute the first time)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "installed; $(VENV) is ready"

# Bytecode first (~0.1 s when current): an environment with PYTHONDONTWRITEBYTECODE would
# otherwise compile every module of the studio at each start (~150 ms of the first frame).
studio: $(STAMP)
	@$(BIN)/python -m compileall -q lumos_core lumos_studio
	$(BIN)/lumos-studio

# Bytecode first, as for studio: the suite starts many processes (workers, CLI runs), each of
# which would otherwise compile the modules it imports where PYTHONDONTWRITEBYTECODE is set.
# One test process more than the CPUs: the tests wait on worker processes, sockets and the UI's
# timers part of the time (on two cores, three processes ran 2,390 tests in 7:18 at 170 % CPU;
# two took 8:55).
TEST_PROCESSES ?= $(shell $(PYTHON) -c "import os; print((os.cpu_count() or 1) + 1)")
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@$(BIN)/python -m compileall -q lumos_core lumos_studio bench
	$(BIN)/python -m pytest -n $(TEST_PROCESSES)

# Each figure with its target and PASS/BELOW, then a summary. The million-span store is built once
# into .bench-cache/ (minutes); LUMOS_BENCH_SCALE=1,3,10 adds 3M and 10M for the query benchmarks.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# The peer the agent benchmark compares with (pydantic-ai), only for `make bench`.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

# Hostile and mutated OTLP requests against a live receiver for a minute (LUMOS_FUZZ_SECONDS).
fuzz: $(STAMP)
	$(BIN)/python -m bench fuzz

screenshots: $(STAMP)
	$(BIN)/python screenshots/make_screenshots.py
	$(BIN)/python screenshots/make_web_screenshot.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .lumos .pytest_cache
