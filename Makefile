# Quick start: `make demo` (set up + run the main job on the demo corpus), `make test` (set up + tests),
# `make notebooks` (set up + run the walkthroughs in notebooks/ and write them as .ipynb with their outputs).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: demo test notebooks install clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m experiments.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# NOTEBOOK_FLAGS=--quick: the tests' tiny settings; names after the flags pick notebooks (e.g. NOTEBOOK_FLAGS=01)
NOTEBOOK_FLAGS ?=
notebooks: $(STAMP)
	$(BIN)/python notebooks/render.py $(NOTEBOOK_FLAGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache runs notebooks/*.ipynb notebooks/runs
