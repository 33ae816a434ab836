# The two commands of the README, plus the benchmarks. Each creates .venv when it is missing
# and (re)installs the project whenever pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# Put the venv first on PATH so notebook kernels and the `simlib` script are the venv's own.
export PATH := $(BIN):$(PATH)

.PHONY: lab test bench dashboard install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "simlib needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Jupyter refuses to start as root without --allow-root; root is the default user in containers.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest -q

dashboard: $(STAMP)
	$(BIN)/voila notebooks/dashboards/synchronization.ipynb

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
