# The README's two commands: `make studio` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: studio test bench fuzz screenshots lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

studio: $(STAMP)
	$(BIN)/lumos-studio

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# Hostile and mutated OTLP requests against a live receiver for a minute (LUMOS_FUZZ_SECONDS).
fuzz: $(STAMP)
	$(BIN)/python -m bench fuzz

screenshots: $(STAMP)
	$(BIN)/python screenshots/make_screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .lumos .pytest_cache
