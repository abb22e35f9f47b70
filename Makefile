# axnb developer commands.
#
#   make demo         run notebooks/quickstart.ipynb headless and print the best point
#   make test         ruff, then pytest on tests/ and the notebooks (nbval), then the SAAS
#                     plug-in's tests and notebook in .venv-saas
#   make test-lowest  core tests in .venv-lowest, on the lowest versions allowed (ci/lowest.txt)
#   make lab          JupyterLab on notebooks/
#   make lint         ruff check + ruff format --check
#   make bench        benchmarks against Ax and Optuna (make bench-quick: a short run)
#   make clean        remove the venvs, caches and the demo's experiment file
#
# The venv is built once and reused: each install step leaves a stamp file in .venv that
# depends on pyproject.toml, so editing the dependencies re-installs and nothing else does.
# torch is installed first, pinned to the CPU build (a bare "torch" would pull CUDA wheels).
# .venv-lowest (make test-lowest) is built the same way, with every runtime dependency held to
# the floor that pyproject.toml declares by the constraints in ci/lowest.txt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
TORCH  := torch==2.13.0
PIP_INSTALL := $(PIP) install --quiet --progress-bar off
LOWEST      := .venv-lowest
LOWEST_PIP  := $(LOWEST)/bin/pip install --quiet --progress-bar off
# The tests run on the lowest versions: the engine, the layers on top of it and the widgets
# (the floors VS Code and Colab need: ipywidgets 8, anywidget, plotly 6), without the
# browser and slow tests. A suggestion that falls back to random points for lack of a BoTorch
# feature warns "axnb: ..." (RuntimeWarning); -W makes that an error instead of a silent pass.
LOWEST_TESTS := tests/test_engine.py tests/test_experiment.py tests/test_space.py \
	tests/test_constraints.py tests/test_loop.py tests/test_persistence.py \
	tests/test_widgets_dashboard.py tests/test_dashboard_weight.py tests/test_widgets_panel.py \
	tests/test_trust.py

# .venv-saas (`make test-saas`): the test venv plus axnb's "saas" extra (JAX and NumPyro, ~400
# MB), for the fully Bayesian SAAS plug-in. A .pth file puts .venv's packages on its path, so
# only the extra is installed there and .venv itself stays under 2 GB.
SAAS       := .venv-saas
SAAS_TESTS := tests/test_plugins_saas.py notebooks/custom_models.ipynb

# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-m 'not slow' -x"`.
PYTEST_ARGS ?=
NOTEBOOK    ?= notebooks/quickstart.ipynb

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast test-saas test-lowest lab lint format bench bench-quick bench-scale clean venv

help:
	@sed -n '3,11p' Makefile | sed 's/^# *//'

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

$(SAAS)/.stamp: pyproject.toml $(VENV)/.stamp-test
	$(PYTHON) -m venv $(SAAS)
	$(PY) -c "import site; print(site.getsitepackages()[0])" > \
		"$$($(SAAS)/bin/python -c 'import site; print(site.getsitepackages()[0])')/_axnb_base.pth"
	$(SAAS)/bin/pip install --quiet --progress-bar off -e ".[saas]" $(TORCH)
	touch $@

$(LOWEST)/.stamp-torch:
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST_PIP) $(TORCH)
	touch $@

$(LOWEST)/.stamp-test: pyproject.toml ci/lowest.txt $(LOWEST)/.stamp-torch
	$(LOWEST_PIP) -e ".[test]" -c ci/lowest.txt $(TORCH)
	touch $@

# ---------------------------------------------------------------- everyday targets
demo: $(VENV)/.stamp-demo
	$(PY) scripts/run_notebook.py $(NOTEBOOK)

test: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env \
		$(addprefix --ignore=,$(SAAS_TESTS)) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-saas

test-saas: $(SAAS)/.stamp
	$(SAAS)/bin/python -m pytest -p no:cacheprovider $(SAAS_TESTS) --nbval-lax \
		--nbval-current-env $(PYTEST_ARGS)

test-fast: PYTEST_ARGS += -m "not slow and not browser"
test-fast: test

test-lowest: $(LOWEST)/.stamp-test
	$(LOWEST)/bin/python ci/check_lowest.py
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider -m "not slow and not browser" \
		-W "error:axnb:RuntimeWarning" $(LOWEST_TESTS) $(PYTEST_ARGS)

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

# The long runs at scale (issue 20): 500 trials x 3 seeds x 3 methods; over an hour on 2 cores.
bench-scale: $(VENV)/.stamp-bench
	$(PY) -m bench.scale --out bench/out/scale --write

clean:
	rm -rf $(VENV) $(LOWEST) $(SAAS) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis dask-worker-space
	rm -f notebooks/quickstart.axnb.json notebooks/quickstart.axnb.json.lock
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
