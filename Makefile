# Quickstart targets: each creates .venv by itself on a machine that only has Python 3.10+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/leadql demo

# one pytest worker per core (at most 4): the suite is mostly single-threaded Python
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check leadql tests bench examples

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
