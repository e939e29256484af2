# One venv (.venv) for the app, the tests and the tools; rebuilt when requirements change.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup run test lint format tiny

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Set up and run the web app on its defaults (SQLite under ./data, HPS v2.1).
run: setup
	$(VENV)/bin/python app.py

# The test suite (what CI runs). Never touches the network.
test: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# A tiny random-weight checkpoint for trying the app without the real weights.
tiny: setup
	$(VENV)/bin/python scripts/make_tiny_checkpoint.py data/tiny
