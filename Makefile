# Patron: the two commands a developer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# UI tests drive Debian's Chromium (never a browser downloaded by a test tool).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Browser tests run Segment's analytics.js from npm (tests/e2e/js, installed from its lock file).
NPM ?= $(shell command -v npm || echo /usr/bin/npm)
JS := tests/e2e/js
JS_STAMP := $(JS)/node_modules/.installed

.PHONY: demo test lint types install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "UI tests need Chromium at $(CHROMIUM): install it, or set CHROMIUM=/path/to/chromium"; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(NPM):
	@command -v apt-get >/dev/null || { echo "the analytics.js tests need npm at $(NPM): install Node.js, or set NPM=/path/to/npm"; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm

$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json | $(NPM)
	cd $(JS) && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

demo: $(STAMP)
	$(BIN)/patron demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

test: lint types $(CHROMIUM) $(JS_STAMP)
	PATRON_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(JS)/node_modules
