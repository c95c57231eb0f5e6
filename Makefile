# Two commands do all the set-up (README.md): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit peers venv venv-dev clean

$(BIN)/python:
	bash scripts/bootstrap-venv.sh $(VENV)

# The bridge and, as its own distribution, the demo with its simulators (samples/pyproject.toml).
$(VENV)/.base-installed: $(BIN)/python pyproject.toml samples/pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check -e . -e ./samples
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml samples/pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' -e ./samples
	touch $@ $(VENV)/.base-installed

venv: $(VENV)/.base-installed
venv-dev: $(VENV)/.dev-installed

demo: venv
	$(BIN)/esb-bridge demo

peers:
	bash scripts/ensure-peers.sh

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv-dev
	$(BIN)/mypy

unit: venv-dev
	$(BIN)/pytest tests/unit -q $(PYTEST_ARGS)

test: venv-dev peers lint typecheck
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
