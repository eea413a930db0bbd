# invlab — the course's commands. `make lab` to study, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.invlab-installed
PORT   ?= 8888
LAB_FLAGS ?=
# Jupyter refuses to run as root (containers, CI) unless told; say so only when root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab lab-instructor test labs check-labs check-solutions grade grade-merge bench bench-peers site clean

# One install for every target: a venv with requirements.txt and invlab (editable).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The course site's packages (Sphinx, MyST-NB, the book theme, MathJax), on top of the course's:
# `make site` and `make test` need them, `make lab` does not (requirements.txt stays the students').
SITE_STAMP := $(VENV)/.invlab-site-installed
$(SITE_STAMP): requirements-site.txt $(STAMP)
	$(PY) -m pip install -q -r requirements-site.txt
	touch $(SITE_STAMP)

# JupyterLab for students, in the working copy work/ (git-ignored): the first run copies
# labs/ there; later runs put a newer lab beside the student's copy and say so
# (course/workspace.py). No nbgrader instructor UI (course/jupyter/student/).
# No browser is opened; the URL with its token is printed.
WORK ?= work
JUPYTER := $(VENV)/bin/jupyter
# Flags both JupyterLabs share (their config folders also run kernels over local sockets).
LAB_COMMON = --no-browser --port=$(PORT) $(ROOT_FLAG)
lab: $(STAMP)
	$(PY) -m course.workspace "$(WORK)"
	JUPYTER_CONFIG_PATH="$(CURDIR)/course/jupyter/student$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(JUPYTER) lab $(LAB_COMMON) --ServerApp.root_dir="$(WORK)" $(LAB_FLAGS)

# JupyterLab for instructors: solutions/ with nbgrader's Create Assignment toolbar and
# formgrader (course/jupyter/instructor/). Build the student labs with `make labs`.
lab-instructor: $(STAMP)
	JUPYTER_CONFIG_PATH="$(CURDIR)/course/jupyter/instructor$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(JUPYTER) lab $(LAB_COMMON) --ServerApp.root_dir="$(CURDIR)/solutions" $(LAB_FLAGS)

# The whole suite, offline: unit tests, blank labs, wrong-answer banks, every lab installed from
# the wheel and run outside the repository, every solution through the grader, browser, site.
# Two workers, one test module each (a module's kernel fixtures stay in one worker): every
# model trains on one thread, so a 2-core machine runs two modules at once. PYTEST_ARGS=
# runs it serially; PYTEST_ARGS="tests/test_grade.py" runs one file (serially).
PYTEST_ARGS ?= -n 2 --dist loadscope
test: $(STAMP) $(SITE_STAMP)
	INVLAB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "invlab: pytest collected no tests (exit 5)"; fi; exit $$rc

# Regenerate the student labs from solutions/ (nbgrader's own preprocessors).
labs: $(STAMP)
	$(PY) -m course.build

# Each solution notebook alone, cell by cell (nbval), in this checkout: for a lab's author while
# editing it. `make test` does not repeat it: test_install.py runs every lab (solutions pasted)
# outside the repository and test_grade_labs.py runs every solution through the grader.
check-solutions: $(STAMP)
	INVLAB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest solutions $(PYTEST_ARGS)

check-labs: $(STAMP)
	$(PY) -m course.build --check

# Grade a class: make grade LAB=01 SUBMISSIONS=submissions/ [OUT=grades.csv] [ARGS="--timeout 60"]
OUT ?= grades.csv
grade: $(STAMP)
	@test -n "$(LAB)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade LAB=NN SUBMISSIONS=DIR [OUT=grades.csv] [ARGS=\"...\"]"; exit 2; }
	$(PY) -m course.grade "$(SUBMISSIONS)" --lab "$(LAB)" --out "$(OUT)" $(ARGS)

# Join shard gradebooks (--shard K/N runs): make grade-merge PARTS="parts/*/grades.csv" OUT=grades.csv
grade-merge: $(STAMP)
	@test -n "$(PARTS)" || { echo "usage: make grade-merge PARTS=\"parts/*/grades.csv\" [OUT=grades.csv]"; exit 2; }
	$(PY) -m course.grade merge $(PARTS) --out "$(OUT)"

# The figures the issues ask for: notebook run times, step-time ratio, MMD timing.
bench: $(STAMP)
	INVLAB_OFFLINE=1 $(PY) benchmarks/run_all.py

# Lab 4's RealNVP against zuko and normflows (equal time, equal parameters, several seeds): the
# peers are benchmark-only packages (benchmarks/requirements.txt), never the students'.
bench-peers: $(STAMP)
	$(PY) -m pip install -q -r benchmarks/requirements.txt
	INVLAB_OFFLINE=1 $(PY) benchmarks/peers.py --recipe both

# The course site, offline, into _build/html/ (website/build.py): the student labs with the
# solutions' figures, the API reference, the instructors' pages. Open _build/html/index.html,
# or serve it: python -m http.server -d _build/html. SOLUTIONS=1: the full solutions, into
# _build/html-instructor/ (for instructors; never publish it).
site: $(SITE_STAMP)
	$(PY) -m website.build $(if $(SOLUTIONS),--solutions,)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache _build
