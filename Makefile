# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORES  ?= all
# pytest runs in this many processes (pytest-xdist; `auto`: one per CPU). A test file stays in one
# process (--dist loadfile), so its module fixtures (whole review runs) are built once.
TEST_WORKERS ?= auto

.PHONY: setup bytecode run test lint system-deps lock clean

setup: $(STAMP) bytecode

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "metasr needs Python >= 3.11 (found: $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "could not create a venv: on Debian/Ubuntu, apt-get install python3-venv"; exit 1; }; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The package's modules compiled once per change: Python cannot keep its own compilation where it
# may not write bytecode (PYTHONDONTWRITEBYTECODE set, a read-only checkout), and compiling them at
# each start costs every command and every pipeline job about 0.1 s.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

# Runs the default review (the repository root: config/config.yaml, data/), or another review
# folder with `make run REVIEW=path/to/folder`; profiles/default applies automatically.
REVIEW ?= .
run: setup
	$(BIN)/metasr run $(REVIEW) --cores $(CORES)

# System packages some tests need (headless Chromium, SLURM daemons). Best effort: tests skip
# with a clear reason when these cannot be installed (not root, no apt).
system-deps:
	@bash tools/install_system_deps.sh

test: setup system-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile
	$(MAKE) --no-print-directory lint

# Style and type checks: `snakemake --lint` of the workflow, snakefmt, ruff and mypy (configured in
# pyproject.toml). Any finding fails the build.
lint: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/lint_workflow.py
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/ruff check src tests tools bench
	$(BIN)/mypy

lock:
	rm -rf /tmp/metasr-lock-venv && $(PYTHON) -m venv /tmp/metasr-lock-venv
	/tmp/metasr-lock-venv/bin/pip install -q -r requirements.in
	{ echo "# Full pinned dependency tree (pip freeze of a clean .venv built from requirements.in on Python 3.11)."; \
	  echo "# Regenerate: make lock"; /tmp/metasr-lock-venv/bin/pip freeze --all | grep -v -e "^pip==" -e "^# Editable"; } > requirements.lock

clean:
	rm -rf results logs benchmarks .snakemake
