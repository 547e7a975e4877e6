# TrendFlow: `make demo` (set up + end-to-end pipeline on a small built-in corpus), `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_AUTH_MODE := disabled
export WANDB_MODE ?= offline
export RAY_DATA_DISABLE_PROGRESS_BARS ?= 1

.PHONY: venv demo test bench lock schemas clean

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

test: venv
	$(BIN)/trendflow schemas check
	$(BIN)/python -m pytest -q

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
