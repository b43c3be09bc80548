# Two commands for a new developer: `make demo` (the whole loop on embedded defaults)
# and `make test` (lint, types and every test). Both create the venv when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_LINK_MODE := copy

.PHONY: venv demo test lint typecheck pytest k8s-tools cluster-tools lock clean down

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q -p $(BIN)/python -c constraints.txt -e '.[dev]'
	@touch $@

## Regenerate the pinned constraints after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o constraints.txt

k8s-tools:
	@start=$$SECONDS && bash scripts/k8s-tools.sh >/dev/null && echo "== phase k8s tools: $$((SECONDS - start))s"

## The real single-node cluster's runtime (Debian packages, root), binaries and images, each phase timed.
cluster-tools: venv
	@bash scripts/cluster-tools.sh

demo: venv
	$(BIN)/tipsml demo

down: venv
	$(BIN)/tipsml down

lint: venv
	@start=$$SECONDS && $(BIN)/ruff check . && echo "== phase lint: $$((SECONDS - start))s"

typecheck: venv
	@start=$$SECONDS && $(BIN)/mypy && echo "== phase typecheck: $$((SECONDS - start))s"

pytest: venv cluster-tools k8s-tools
	@start=$$SECONDS && $(BIN)/pytest -p no:cacheprovider --durations=25 tests \
		&& echo "== phase pytest: $$((SECONDS - start))s"

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .tipsml .mypy_cache .ruff_cache
