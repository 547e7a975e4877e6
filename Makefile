# TrendFlow: `make demo` (set up + end-to-end pipeline on a small built-in corpus), `make test`,
# `make serve` (the service and its author page on the demo's outputs).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_AUTH_MODE := disabled
export WANDB_MODE ?= offline
export RAY_DATA_DISABLE_PROGRESS_BARS ?= 1

.PHONY: venv demo test bench lock schemas clean chromium serve

venv: $(STAMP)

# The venv is rebuilt only when the pinned requirements or pyproject change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q -e . --no-deps
	rm -f $(VENV)/.installed-* && touch $@

demo: venv
	bash scripts/demo.sh

# The author page's browser tests drive the system Chromium through Playwright (no browser download:
# Playwright's own browser builds cannot be fetched here). Installed from Debian when missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)
chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is still missing"; exit 1; }

test: venv chromium
	$(BIN)/trendflow schemas check
	$(BIN)/python -m pytest -q

# The service on `make demo`'s outputs; the author page is at http://$(SERVE_HOST):$(SERVE_PORT)/ (Ctrl-C stops).
# Its own local Ray instance (RAY_ADDRESS=local) unless RAY_ADDRESS names a cluster.
DEMO_OUT ?= demo_out
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000
serve: venv
	@test -d $(DEMO_OUT)/models || { echo "error: $(DEMO_OUT)/models is missing: run make demo first"; exit 2; }
	@echo "author page: http://$(SERVE_HOST):$(SERVE_PORT)/   (API docs: http://$(SERVE_HOST):$(SERVE_PORT)/docs)"
	RAY_ADDRESS=$${RAY_ADDRESS:-local} $(BIN)/trendflow serve --models $(DEMO_OUT)/models --store $(DEMO_OUT)/store --dataset $(DEMO_OUT)/dataset \
	  --cache $(DEMO_OUT)/serve_cache --config configs/demo.yaml --host $(SERVE_HOST) --port $(SERVE_PORT)

bench: venv
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Re-resolve the direct dependencies (requirements.in) and pin the result.
lock:
	$(BIN)/pip install -r requirements.in
	$(BIN)/pip freeze --exclude-editable > requirements.lock

schemas: venv
	$(BIN)/trendflow schemas generate

clean:
	rm -rf demo_out .pytest_cache
