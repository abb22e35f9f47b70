# axnb developer commands.
#
#   make demo         run notebooks/quickstart.ipynb headless and print the best point
#   make test         ruff, then pytest on tests/ and the notebooks (nbval)
#   make lab          JupyterLab on notebooks/
#   make lint         ruff check + ruff format --check
#   make bench        benchmarks against Ax and Optuna (make bench-quick: a short run)
#   make clean        remove the venv, caches and the demo's experiment file
#
# The venv is built once and reused: each install step leaves a stamp file in .venv that
# depends on pyproject.toml, so editing the dependencies re-installs and nothing else does.
# torch is installed first, pinned to the CPU build (a bare "torch" would pull CUDA wheels).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
TORCH  := torch==2.13.0
PIP_INSTALL := $(PIP) install --quiet --progress-bar off

# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-m 'not slow' -x"`.
PYTEST_ARGS ?=
NOTEBOOK    ?= notebooks/quickstart.ipynb

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast lab lint format bench bench-quick clean venv

help:
	@sed -n '3,9p' Makefile | sed 's/^# *//'

# ---------------------------------------------------------------- virtual environment
$(VENV)/.stamp-torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) $(TORCH)
	touch $@

# The demo needs only the package and a kernel (keeps that venv small).
$(VENV)/.stamp-demo: pyproject.toml $(VENV)/.stamp-torch
	$(PIP_INSTALL) -e . nbclient ipykernel $(TORCH)
	touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-torch
	$(PIP_INSTALL) -e ".[test]" $(TORCH)
	touch $@ $(VENV)/.stamp-demo

$(VENV)/.stamp-bench: pyproject.toml $(VENV)/.stamp-test
	$(PIP_INSTALL) -e ".[test,bench]" $(TORCH)
	touch $@

venv: $(VENV)/.stamp-test

# ---------------------------------------------------------------- everyday targets
demo: $(VENV)/.stamp-demo
	$(PY) scripts/run_notebook.py $(NOTEBOOK)

test: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env \
		$(PYTEST_ARGS)

test-fast: PYTEST_ARGS += -m "not slow and not browser"
test-fast: test

lab: $(VENV)/.stamp-test
	cd notebooks && ../$(VENV)/bin/jupyter lab

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.stamp-bench
	$(PY) -m bench.run

bench-quick: $(VENV)/.stamp-bench
	$(PY) -m bench.run --quick

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis dask-worker-space
	rm -f notebooks/quickstart.axnb.json notebooks/quickstart.axnb.json.lock
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
