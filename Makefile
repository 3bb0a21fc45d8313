# One task runner. `make run` and `make test` work on a fresh clone: they create
# .venv, install everything (system packages too) and build the index if needed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip.conf here names local mirrors that may not exist; their warnings are noise.
QUIET_PIP := (grep -v "is ignored: it is neither a file nor a directory" || true)

.PHONY: help install sysdeps index run test test-fast lint format eval bench bench-scale clean

help:
	@echo "make run    - set up, build the index if needed, start the page on http://127.0.0.1:7860"
	@echo "make test   - set up and run the whole test suite"
	@echo "make screenshots - the page at phone and desktop sizes, light and dark, in screenshots/"
	@echo "make lint | format | eval | bench | bench-scale | index | clean"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the CPU build on local disk; anything else pulls CUDA.
	$(BIN)/pip install -q torch==2.13.0 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install -q -e '.[dev]' 2>&1 | $(QUIET_PIP)
	touch $@

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
sysdeps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Bytecode for the package too: an editable install has none, and with
# PYTHONDONTWRITEBYTECODE set (as on these machines) Python never writes it, so every
# cold `advisor ask` compiled ~40 modules from source (~0.1 s of CPU). compileall
# writes it anyway and only for changed files; a stale file is simply not used.
index: install
	$(BIN)/python -m compileall -q advisor
	$(BIN)/advisor index

run: install index
	$(BIN)/advisor serve

# pytest exits 5 when it collects nothing; that is not a failure of the code.
test: install sysdeps
	rc=0; $(BIN)/pytest || rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-fast: install
	$(BIN)/pytest -m "not slow and not browser and not server"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every library, each against its own baseline: the first (corpus/, evals/datasets/,
# evals/baseline.json) on the index, then each evals/corpora/<name>/ on a temporary
# index. All of them run; the target fails if any of them fails.
eval: install index
	rc=0; $(BIN)/advisor eval || rc=1; \
	for library in evals/corpora/*/; do \
	  if [ -d "$$library/corpus" ]; then $(BIN)/advisor eval --library "$$library" || rc=1; fi; \
	done; exit $$rc

bench: install index
	$(BIN)/python evals/bench.py

# Synthetic libraries of about 1k, 10k and 100k passages, side by side (a report, minutes).
bench-scale: install
	$(BIN)/python evals/bench_scale.py

# axe-core (accessibility checks in the browser tests) from the npm registry, into .cache/.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1
.PHONY: axe screenshots
$(AXE):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing npm (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION)

axe: $(AXE)
test: $(AXE)

# The page at 1280x800 and 390x844, light and dark, into screenshots/ (git-ignored).
screenshots: install sysdeps $(AXE)
	$(BIN)/python -m tests.screenshots --out screenshots

clean:
	rm -rf $(VENV) index/chroma index/manifest.json evals/reports .pytest_cache .ruff_cache
