# The two quick-start commands: `make run` (the whole workbook on the embedded
# backends, then the report path) and `make test` (the full test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.labkit-installed

.PHONY: setup run test lint format bench garak-reviewer clean

# torch goes in first, pinned: 2.13.0 is the CPU build; left to the resolver, the rag
# extra's `torch>=2.13` would take a newer CUDA build of several GB the workbook never uses.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labkit needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	LABKIT_BACKEND=$${LABKIT_BACKEND:-embedded} $(BIN)/labkit run notebooks

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: setup
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# garak (not a labkit dependency: it brings torch) against the Prompt Reviewer service over REST;
# GARAK_PYTHON is a python that has garak installed (docs/guardrails.md, "garak").
garak-reviewer: setup
	LABKIT_GARAK_PYTHON=$${GARAK_PYTHON:-$$LABKIT_GARAK_PYTHON} $(BIN)/python benchmarks/garak_reviewer.py

clean:
	rm -rf $(VENV) runs .labkit .pytest_cache .ruff_cache
