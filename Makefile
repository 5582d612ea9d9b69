# Embeddings with TensorFlow: the two commands a learner needs are `make lab` and `make test`.
# Everything lives in .venv/ inside this folder: no sudo, nothing installed system-wide.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VARIANTS ?= 100k
TESTS  ?=
# pytest-xdist workers for `make test`: each takes whole files (a notebook keeps its own kernel), so
# two workers keep both cores busy; PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
LAB_ARGS ?=
# JupyterLab refuses to run as root (containers, some cloud VMs) unless told it is intended.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

.PHONY: lab test test-browser browser preflight setup data lessons solutions check-lessons clean help test-canary bump FORCE

help:
	@echo "make lab        set up, fetch the data, open JupyterLab on lessons/00_welcome.ipynb"
	@echo "                (the lab's file browser shows lessons/ and solutions/)"
	@echo "make preflight  before a workshop: one green line, or what to fix"
	@echo "make test       set up, fetch the data, run every test and notebook"
	@echo "make test-browser  run every lesson in JupyterLab in headless Chromium (CI)"
	@echo "make test TESTS=lessons/01_lookup_tables.ipynb   one notebook (or test file)"
	@echo "make data VARIANTS='100k 1m'   pre-fetch data (classroom / offline use)"
	@echo "make solutions  (authors) execute solutions/ in place, then regenerate lessons/"
	@echo "make lessons    (authors) regenerate lessons/ from solutions/"
	@echo "make test-canary  (maintainers) every test on tomorrow's TensorFlow/Keras: canary-report/REPORT.md"
	@echo "make bump TF=2.22.0 KERAS=3.16.0 TF_KERAS=2.22.0   (maintainers) move the pins, re-resolve, test"

# `make test PYTHON=python3.13` (PYTHON on the command line) with a .venv/ made by another Python
# makes .venv/ anew with the one asked for; without PYTHON= the existing .venv/ is used as it is.
ifeq ($(origin PYTHON),command line)
WANT_PY := $(shell $(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
HAVE_PY := $(shell test -x $(BIN)/python && $(BIN)/python -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
ifeq ($(WANT_PY),)
$(error PYTHON=$(PYTHON) does not run: give a Python 3.11 or newer, e.g. PYTHON=python3.12 or a full path)
endif
ifneq ($(HAVE_PY),)
ifneq ($(HAVE_PY),$(WANT_PY))
NEW_VENV := 1
endif
endif
endif

# Set-up runs again only when requirements.txt or pyproject.toml change (or PYTHON= asks for another Python).
$(STAMP): requirements.txt constraints.txt pyproject.toml $(if $(NEW_VENV),FORCE)
	@$(if $(NEW_VENV),echo ".venv/ was made with Python $(HAVE_PY); PYTHON=$(PYTHON) is Python $(WANT_PY): making .venv/ anew"; rm -rf $(VENV))
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (Keras 3.15 requires it); run: make PYTHON=python3.12 ...")'
	@# A venv whose pip does not run (half-made, e.g. before python3-venv was installed) is made anew.
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); } || { rm -rf $(VENV); echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt install python3-venv"; exit 1; }
	@echo "Setting up .venv/: about 700 MB of packages on the first run (a few minutes); pip shows each one."
	$(BIN)/python -m pip install --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -c constraints.txt
	@# Make course_lib importable from .venv without building a package (works offline too).
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "course_lib_repo.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	@touch $(STAMP)

setup: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m course_lib.datasets fetch $(VARIANTS)

# Rooted at the course folder, so the file browser reaches lessons/ and solutions/; the path of
# the notebook to open is relative to that root.
lab: data
	@echo "Starting JupyterLab on lessons/00_welcome.ipynb (answers: solutions/ in the file browser). Stop it with Ctrl-C."
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ROOT_FLAG) $(LAB_ARGS) lessons/00_welcome.ipynb

test: data
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(TESTS)

# Debian's Chromium (Playwright drives it; Playwright's own browser downloads are not used).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's Chromium (apt-get; needs root)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# Starts the course with `make lab` (port, token, --no-browser only) and runs every lesson in it.
test-browser: data browser
	$(BIN)/python tools/browser_test.py --chromium $(CHROMIUM) $(BROWSER_ARGS)

# A learner's check before the day: Python, set-up, data, a kernel that starts, free disk.
preflight:
	@test -x $(BIN)/python || { echo "NOT READY: set-up not done. Run: make setup   (then make data, then make preflight)"; exit 1; }
	@$(BIN)/python -m course_lib.preflight

lessons: $(STAMP)
	$(BIN)/python tools/make_lessons.py

check-lessons: $(STAMP)
	$(BIN)/python tools/make_lessons.py --check

solutions: $(STAMP)
	$(BIN)/python tools/run_notebooks.py $(NB)
	$(BIN)/python tools/make_lessons.py $(NB)

FORCE:

clean:  # removes .venv/ (make lab PYTHON=python3.12 also makes it anew when the Python differs)
	rm -rf $(VENV) .pytest_cache

# Maintainers (MAINTAINING.md). The canary: every test and notebook on the newest nightlies of
# TensorFlow, Keras and tf-keras, in its own environment (.canary-venv/); report in canary-report/.
# Not part of .ci/run. CANARY_STRICT=1 makes any failure exit 1.
CANARY_ARGS ?=
test-canary:
	$(PYTHON) tools/canary.py $(CANARY_ARGS)

# Maintainers: move TensorFlow, Keras and tf-keras to new releases (MAINTAINING.md): new pins in
# requirements.txt, constraints.txt from a clean resolve, then make test in a fresh .venv/.
TF ?=
KERAS ?=
TF_KERAS ?=
JAX ?=
BUMP_ARGS ?=
bump:
	$(PYTHON) tools/bump.py --tf "$(TF)" --keras "$(KERAS)" --tf-keras "$(TF_KERAS)" $(if $(JAX),--jax "$(JAX)") $(BUMP_ARGS)
