# TWIGMA compendium. `make` (or `make help`) lists the targets.
#
#   make figures                      run every notebook on the embedded synthetic sample
#   make figures RELEASE=path OUT=dir run them on another release file, outputs under dir/
#   make test                         run every test (lint first)
#   make test-fast                    run the package's unit tests alone (no notebook, browser or torch)
#   make robustness                   re-check the claims over the grid robustness.yml (specification curve)
#
# The first target that needs Python builds .venv/ from the base lock env/requirements.txt (and rebuilds
# it when that file changes); embedding and text search (make embeddings, search, import-clip-retrieval)
# and make test add the embedding layer env/requirements-embed.txt (torch, open_clip) on first use; make lint
# adds only its tools (ruff, nbstripout, mypy and its type stubs, pre-commit).
# PYTHON names the interpreter used to create it (3.11).
#
# Notebooks run side by side on every core by default (make -j1 runs them one after another); each
# prints a line when it starts (>> name) and one when it is done.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# parallel by default: as many jobs as cores, unless the command line says otherwise (-jN there wins);
# the cores this process may use, not OMP_NUM_THREADS (which nproc would otherwise report)
NPROC := $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
ifeq ($(filter -j% j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(NPROC)
endif

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed
EMBED_STAMP := $(VENV)/.installed-embed
TEST_STAMP := $(VENV)/.installed-test
LINT_STAMP := $(VENV)/.installed-lint
LOCK := env/requirements.txt
EMBED_LOCK := env/requirements-embed.txt
TEST_LOCK := env/requirements-test.txt
PIP_TOOLS_VERSION := 7.6.2
PIP_COMPILE := --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
# pip's notes about local package mirrors that do not list a package are noise
QUIET_PIP := { grep -v '^WARNING: Location' || true; }

SAMPLE := data/sample/twigma_sample.csv.gz
SAMPLE_EMB := data/sample/embeddings
RELEASE ?= $(SAMPLE)
# Image embeddings (store folder): the sample's synthetic ones go with the sample release only;
# with another RELEASE and no EMBEDDINGS, the image notebooks are skipped with a message.
ifeq ($(RELEASE),$(SAMPLE))
  EMBEDDINGS ?= $(SAMPLE_EMB)
else
  EMBEDDINGS ?=
endif
OUT ?=
# Dask cluster for the image analyses (08-09 search, 07 dispersion) and make embeddings: empty (one
# process), local:N (a LocalCluster of N workers per notebook) or a running scheduler's address
SCHEDULER ?=

# Paths with spaces ("/data/My Drive/twigma.csv.gz"): make splits target and prerequisite names at spaces,
# so make tracks such a path through a link without spaces, build/.links/<checksum>-<name>, to the same file
# or folder; the commands themselves get the path as given. (A double quote or backquote is refused below;
# a $ must be written $$ on make's command line.)
space := $(subst ,, )
LINKS := build/.links
nospace = $(if $(findstring $(space),$(1)),$(shell p='$(subst ','\'',$(strip $(1)))'; case "$$p" in (/*) ;; (*) p="$$PWD/$$p";; esac; \
	$(if $(2),mkdir -p "$$p";) mkdir -p $(LINKS) && \
	l=$(LINKS)/$$(printf '%s' "$$p" | cksum | cut -d' ' -f1)-$$(basename "$$p" | tr ' ' _) && \
	ln -sfn "$$p" "$$l" && echo "$$l"),$(1))
dquote := "
ifneq ($(findstring $(dquote),$(RELEASE)$(EMBEDDINGS)$(OUT))$(findstring `,$(RELEASE)$(EMBEDDINGS)$(OUT)),)
  $(error a path with a double quote or backquote in it cannot go through make: run each notebook with \
    .venv/bin/python -m twigma run-notebook notebooks/NN_name.ipynb --release PATH --embeddings STORE --out DIR, \
    then .venv/bin/python -m twigma claims --out DIR)
endif
# A path with a line break cannot pass through make or a shell command, and one that starts with a dash
# is read as an option by the commands it reaches: both are refused before anything is made.
define newline


endef
$(foreach v,RELEASE EMBEDDINGS OUT,$(if $(findstring $(newline),$($(v))),$(error $(v) holds a line break \
  ($(subst $(newline),\n,$($(v)))): rename that file or folder to a name without one and give the new name)))
$(foreach v,RELEASE EMBEDDINGS OUT,$(if $(filter -%,$(firstword $($(v)))),$(error $(v)=$($(v)) starts with a \
  dash, which commands would read as an option: give it as $(v)=./$($(v)) (or rename it))))
# the name make uses for each (the path itself when it has no space)
RELEASE_F := $(call nospace,$(RELEASE))
EMBEDDINGS_F := $(call nospace,$(EMBEDDINGS))
OUT_F := $(call nospace,$(OUT),folder)
ifeq ($(strip $(OUT_F)),)
  O :=
else
  O := $(patsubst %/,%,$(OUT_F))/
endif
BUILD := $(O)build
RESULTS := $(O)results

# Runs that write to one OUT exclude each other (src/twigma/run/lock.py): a goal that writes there takes
# the OUT's lock when make starts, held by a small process until this make exits (a killed make releases it
# with its process); a second make on the same OUT stops at once, saying which run holds it. Recipes find
# the lock in TWIGMA_RUN_LOCK and do not take it again; make -n (which writes nothing) takes none.
LOCKING_GOALS := figures run report robustness croissant track clean
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
ifneq ($(filter $(LOCKING_GOALS),$(MAKECMDGOALS)),)
  ifeq ($(TWIGMA_RUN_LOCK)$(DRY_RUN),)
    RUN_LOCK := $(shell $(PYTHON) src/twigma/run/lock.py hold '$(subst ','\'',$(BUILD))' $$PPID)
    ifneq ($(.SHELLSTATUS),0)
      $(error $(RUN_LOCK))
    endif
    export TWIGMA_RUN_LOCK := $(RUN_LOCK)
  endif
endif

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst notebooks/%,$(BUILD)/%,$(NOTEBOOKS))
PACKAGE := $(shell find src/twigma -name '*.py') pyproject.toml
RUN_PARAMS := $(BUILD)/.params
EMB_PARAMS := $(BUILD)/.params-embeddings
IMAGE_NBS := $(patsubst notebooks/%,$(BUILD)/%,$(shell grep -lE '"EMBEDDINGS(: [a-z]+)? = ' $(NOTEBOOKS) /dev/null))
EMB_FILES := $(if $(strip $(EMBEDDINGS_F)),$(wildcard $(EMBEDDINGS_F)/meta.json $(EMBEDDINGS_F)/*.npy))
CLAIMS := $(RESULTS)/claims.csv
MANIFEST := $(RESULTS)/provenance.json
# OUT as the user wrote it, for messages (make's own names may be links without spaces)
SHOWN := $(if $(strip $(OUT)),$(patsubst %/,%,$(OUT))/)
NB_LIST := $(BUILD)/.notebooks

.PHONY: run lint help env env-embed lock notebook figures robustness verify report croissant data rehydrate images refs embeddings import-clip-retrieval test test-fast lab sample validate bench clean clean-env FORCE

help: ## list the targets (default)
	@echo "TWIGMA compendium: make <target> [RELEASE=<release file>] [EMBEDDINGS=<store folder>] [OUT=<output folder>]"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | \
		awk -F'\t' '{printf "  %-10s %s\n", $$1, $$2}'

# The environment is the complete base lock env/requirements.txt (compiled from env/requirements.in by
# `make lock`); embedding and text search add env/requirements-embed.txt (torch, torchvision, open_clip),
# the tests add it and env/requirements-test.txt. Each layer is reinstalled when its lock changes.
$(ENV_STAMP): $(LOCK) pyproject.toml env/jupyterlab-overrides.json
	@echo ">> building the Python environment in $(VENV)/ from $(LOCK) (first use: a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(PY) -m pip install --quiet -r $(LOCK) 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install $(LOCK) (see above)" >&2; exit 1; }
	@set -o pipefail; $(PY) -m pip install --quiet --no-deps -e . 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install the twigma package (see above)" >&2; exit 1; }
	@# JupyterLab settings of this environment: no news pop-up, no update check (see the file)
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp env/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

# the targets that need torch and open_clip, named in the line that says why a download starts
EMBED_GOALS := $(or $(addprefix make ,$(filter embeddings search import-clip-retrieval test env-embed,$(MAKECMDGOALS))),embedding and text search)
$(EMBED_STAMP): $(EMBED_LOCK) $(ENV_STAMP)
	@echo ">> installing the embedding layer (torch, open_clip) for $(EMBED_GOALS) into $(VENV)/ from $(EMBED_LOCK)"
	@echo "   (first use only: PyPI's torch wheels bring NVIDIA's CUDA libraries, about 5.4 GB on disk)"
	@set -o pipefail; $(PY) -m pip install --quiet -r $(EMBED_LOCK) 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install $(EMBED_LOCK) (see above)" >&2; exit 1; }
	@touch $@

# the test tools need only the base layer (make test-fast); make test adds the embedding layer beside them
$(TEST_STAMP): $(TEST_LOCK) $(ENV_STAMP)
	@echo ">> adding the test tools to $(VENV)/ from $(TEST_LOCK)"
	@set -o pipefail; $(PY) -m pip install --quiet -r $(TEST_LOCK) 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install $(TEST_LOCK) (see above)" >&2; exit 1; }
	@touch $@

# make lint needs only its tools: ruff, nbstripout, mypy and the stubs mypy reads, and pre-commit (whose hooks
# in .pre-commit-config.yaml run these same tools) ([tool.mypy] in pyproject.toml), at
# the versions the test lock pins (their dependencies too: the lock is pip's constraints file), on the base
# layer (seconds, not the embedding layer's 5.4 GB); make test installs the whole test layer, these included.
LINT_TOOLS := ruff mypy pandas-stubs scipy-stubs types-pyyaml types-seaborn types-tqdm nbstripout pre-commit
LINT_PINS = $(shell grep -E '^($(subst $(space),|,$(LINT_TOOLS)))==' $(TEST_LOCK))
$(LINT_STAMP): $(TEST_LOCK) $(ENV_STAMP)
	@echo ">> adding the lint tools to $(VENV)/ as $(TEST_LOCK) pins them: $(LINT_PINS)"
	@set -o pipefail; $(PY) -m pip install --quiet $(foreach p,$(LINT_PINS),"$(p)") -c $(TEST_LOCK) 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install $(LINT_PINS) (see above)" >&2; exit 1; }
	@touch $@

# cffconvert (the tests validate CITATION.cff with it) lives in a small venv of its own, .venv-cff/: it needs
# jsonschema 3, and the base layer has jupyter's jsonschema 4. make test builds it from its lock on first use.
CFF_VENV := $(VENV)-cff
CFF_LOCK := env/requirements-cff.txt
CFF_STAMP := $(CFF_VENV)/.installed
$(CFF_STAMP): $(CFF_LOCK)
	@echo ">> cffconvert in its own $(CFF_VENV)/ from $(CFF_LOCK) (it needs jsonschema 3; the base layer has 4)"
	@test -x $(CFF_VENV)/bin/python || $(PYTHON) -m venv $(CFF_VENV)
	@set -o pipefail; $(CFF_VENV)/bin/python -m pip install --quiet -r $(CFF_LOCK) 2>&1 | $(QUIET_PIP) || \
		{ echo "pip could not install $(CFF_LOCK) (see above)" >&2; exit 1; }
	@touch $@

LOCK_TOOLS := $(VENV)-tools
lock: ## recompile the locks (env/requirements.txt, -embed.txt, -test.txt, -cff.txt) from env/*.in (pip-tools)
	@test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
		$(LOCK_TOOLS)/bin/pip install --quiet pip-tools==$(PIP_TOOLS_VERSION) 2>&1 | $(QUIET_PIP); }
	cd env && ../$(LOCK_TOOLS)/bin/pip-compile $(PIP_COMPILE) -o requirements.txt requirements.in
	@# the embedding and test layers are constrained (-c in their .in files) to the base lock, so they
	@# add packages to the base environment without changing a version in it
	cd env && ../$(LOCK_TOOLS)/bin/pip-compile $(PIP_COMPILE) -o requirements-embed.txt requirements-embed.in
	cd env && ../$(LOCK_TOOLS)/bin/pip-compile $(PIP_COMPILE) -o requirements-test.txt requirements-test.in
	cd env && ../$(LOCK_TOOLS)/bin/pip-compile $(PIP_COMPILE) -o requirements-cff.txt requirements-cff.in

env: $(ENV_STAMP) ## build the Python environment in .venv/ (done on first use by the other targets)

env-embed: $(EMBED_STAMP) ## add the embedding layer (torch, open_clip) to .venv/ (done on first use by embeddings, search, test)

# The embedded synthetic sample has one producer: these two rules. Readers never generate it.
$(SAMPLE): src/twigma/synthetic/release.py | $(ENV_STAMP)
	$(PY) -m twigma sample $@

$(SAMPLE_EMB)/meta.json: $(SAMPLE) src/twigma/synthetic/embeddings.py | $(ENV_STAMP)
	$(PY) -m twigma sample-embeddings

sample: $(SAMPLE) $(SAMPLE_EMB)/meta.json ## generate the embedded synthetic sample and its embeddings (data/sample/)

ifneq ($(RELEASE),$(SAMPLE))
$(RELEASE_F):
	@echo "RELEASE=$(RELEASE): no such file. Download the release (see docs/real-data.md) or give its path." >&2; exit 1
endif

# The parameters a run was made with; rewritten only when they change, so that a new
# RELEASE reruns every notebook while an unchanged one reruns nothing (and a RELEASE that does not exist
# changes nothing: the run stays as it was). Their recipes run only when the value differs from the file's
# (read when make reads this file), so that make -n plans right too: a recipe run every time would make every
# notebook look out of date to make -n.
param_changed = $(if $(call words_differ,$(shell cat "$(1)" 2>/dev/null),$(2)),FORCE)
# the words of one and not the other, either way (a notebook removed from a list counts too)
words_differ = $(strip $(filter-out $(1),$(2)) $(filter-out $(2),$(1)))
# A path is recorded by its absolute form, one with a space by its link's name (the checksum of its absolute
# path and its name): the same from any checkout, so that a run copied with a copy of the checkout is up to date.
param_path = $(if $(filter $(LINKS)/%,$(1)),$(notdir $(1)),$(abspath $(1)))
RUN_PARAMS_LINE = RELEASE=$(call param_path,$(RELEASE_F))
EMB_PARAMS_LINE = EMBEDDINGS=$(if $(strip $(EMBEDDINGS_F)),$(call param_path,$(EMBEDDINGS_F)))
$(RUN_PARAMS): $(RELEASE_F) $(call param_changed,$(RUN_PARAMS),$(RUN_PARAMS_LINE))
	@mkdir -p $(@D)
	@echo "$(RUN_PARAMS_LINE)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

# The notebooks of the run, rewritten only when one is added or removed: a removed notebook's verdicts then
# leave the ledger (twigma claims drops them) and its files the manifest.
NB_LIST_LINE = $(notdir $(NOTEBOOKS))
$(NB_LIST): $(call param_changed,$(NB_LIST),$(NB_LIST_LINE))
	@mkdir -p $(@D)
	@echo "$(NB_LIST_LINE)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(EMB_PARAMS): $(RELEASE_F) $(call param_changed,$(EMB_PARAMS),$(EMB_PARAMS_LINE))
	@mkdir -p $(@D)
	@echo "$(EMB_PARAMS_LINE)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/%.ipynb: notebooks/%.ipynb $(PACKAGE) $(RELEASE_F) $(RUN_PARAMS) | $(ENV_STAMP)
	@echo ">> $*"
	@TWIGMA_SCHEDULER="$(SCHEDULER)" TWIGMA_INPUTS=required $(PY) -m twigma run-notebook $< \
		--release "$(RELEASE)" --out "$(OUT)" $(if $(strip $(EMBEDDINGS)),--embeddings "$(EMBEDDINGS)")

# the image notebooks also depend on the embedding store and which one is used
$(IMAGE_NBS): $(EMB_PARAMS) $(EMB_FILES)
ifeq ($(EMBEDDINGS),$(SAMPLE_EMB))
$(IMAGE_NBS): $(SAMPLE_EMB)/meta.json
endif

# The release is parsed, validated and given its typed cache once (twigma validate), before any notebook
# starts; then they all start together (each reads only its columns from that cache).
READY := $(BUILD)/.release-ready
$(READY): $(RELEASE_F) $(RUN_PARAMS) $(PACKAGE) | $(ENV_STAMP)
	@$(PY) -m twigma validate "$(RELEASE)"
	@touch $@
$(EXECUTED): $(READY)
# Which notebook reads which other's table (02's cluster names: 03, 04, 05, 07, 10) is declared in each
# notebook's metadata, "twigma": {"reads": ["02_themes_map/cluster_names"]}; DEPS holds the ordering
# generated from those declarations (src/twigma/run/deps.py, also `twigma deps`), rewritten whenever a
# notebook changes, or one is added or removed (make remakes an included file first, even under make -n).
# Under make a declared table must be there (TWIGMA_INPUTS=required above): a notebook never falls back to
# computing it itself.
DEPS := build/deps.mk
$(DEPS): $(NOTEBOOKS) notebooks src/twigma/run/deps.py
	@$(PYTHON) src/twigma/run/deps.py $@ $(NOTEBOOKS)
-include $(DEPS)

# make -j starts them in this order: the longest first (on the sample and on large releases), 02 early
# since the notebooks that read its table wait for it, then the others in number order
FIRST_NBS := $(foreach n,02 11 06 12 10,$(filter $(BUILD)/$(n)_%,$(EXECUTED)))
$(CLAIMS): $(FIRST_NBS) $(filter-out $(FIRST_NBS),$(EXECUTED)) $(NB_LIST)
	@$(PY) -m twigma claims --out "$(OUT)"

# The manifest is a target of its own: a make figures stopped before writing it writes it on the next run.
# The mark tells the figures recipe that something ran.
$(MANIFEST): $(CLAIMS)
	@$(PY) -m twigma provenance --out "$(OUT)"
	@touch $(BUILD)/.made-now

# Specification curve (docs/robustness.md): every specification of the grid GRID is one target
# $(ROB)/<group>-<digest>.json, named by its values, so make runs in parallel (-j) only those not yet
# run; they are listed by a generated fragment, read only when robustness is asked for.
GRID ?= robustness.yml
ROB := $(BUILD)/robustness
ROB_MK := $(ROB)/specs.mk
ROB_ARGS = --grid "$(GRID)" --release "$(RELEASE)" --out "$(OUT)" $(if $(strip $(EMBEDDINGS)),--embeddings "$(EMBEDDINGS)")
ROB_SUMMARY := $(RESULTS)/robustness_summary.csv
ROB_NB := $(BUILD)/12_robustness.ipynb
ifneq ($(filter robustness,$(MAKECMDGOALS)),)
-include $(ROB_MK)
$(ROB_NB): $(ROB_SUMMARY)
endif

$(ROB_MK): $(GRID) $(EMB_PARAMS) | $(ENV_STAMP)
	@$(PY) -m twigma robustness makefile --target $@ $(ROB_ARGS) >/dev/null

# a specification needs the release validated and its typed cache built, as the notebooks do ($(READY))
$(ROB)/%.json: $(PACKAGE) $(RELEASE_F) $(RUN_PARAMS) $(READY) | $(ENV_STAMP)
	@$(PY) -m twigma robustness run $* $(ROB_ARGS)

$(ROB_IMAGE_SPECS): $(EMB_PARAMS) $(EMB_FILES)
ifeq ($(EMBEDDINGS),$(SAMPLE_EMB))
$(ROB_IMAGE_SPECS): $(SAMPLE_EMB)/meta.json
endif

$(ROB_SUMMARY): $(ROB_SPECS) $(ROB_MK)
	@$(PY) -m twigma robustness collect $(ROB_ARGS)

# notebook 12 draws the curves; under make figures it reads the summary when there is one, else it runs the
# small grid of the grid file, so an edit of that file reruns it
$(ROB_NB): $(wildcard $(ROB_SUMMARY)) $(call nospace,$(GRID))

robustness: $(ROB_SUMMARY) $(ROB_NB) ## re-check the claims over every specification of robustness.yml (GRID=): results/robustness*.csv, figures/12_*
	@$(PY) -m twigma provenance --out "$(OUT)" >/dev/null

notebook: | $(ENV_STAMP) ## new notebook from the template: make notebook NAME=NN_topic (make figures runs it)
	@$(PY) -m twigma new-notebook "$(NAME)"

# One notebook with other parameters, recorded as a run of its own: its manifest and figures name every
# parameter's effective value, its verdicts go to OUT's claims.csv, make verify OUT= checks it. PARAMS goes
# to the command through the environment, so that quotes in it reach it unchanged.
run: $(READY) $(if $(filter $(SAMPLE_EMB),$(EMBEDDINGS)),$(SAMPLE_EMB)/meta.json) | $(ENV_STAMP) ## one notebook with other parameters: make run NB=03_theme_shift PARAMS="ALPHA=0.05 MIN_IMAGES_PER_MONTH=50" OUT=runs/alpha05
	@test -n "$(NB)" || { echo "usage: make run NB=<notebook, e.g. 03_theme_shift> PARAMS=\"NAME=VALUE ...\" OUT=<folder> [RELEASE=] [EMBEDDINGS=] (twigma run-notebook --help lists how values are typed)" >&2; exit 2; }
	@test -f "notebooks/$(NB:.ipynb=).ipynb" || { echo "NB=$(NB): no notebooks/$(NB:.ipynb=).ipynb; the notebooks are: $(notdir $(NOTEBOOKS:.ipynb=))" >&2; exit 2; }
	@echo ">> $(NB:.ipynb=)$(if $(strip $(PARAMS)), with $(PARAMS))"
	@TWIGMA_SCHEDULER="$(SCHEDULER)" $(PY) -m twigma run-notebook "notebooks/$(NB:.ipynb=).ipynb" --release "$(RELEASE)" \
		--out "$(OUT)" $(if $(strip $(EMBEDDINGS)),--embeddings "$(EMBEDDINGS)") --params "$$PARAMS"
	@$(PY) -m twigma claims --out "$(OUT)" >/dev/null
	@$(PY) -m twigma provenance --out "$(OUT)"

figures: $(MANIFEST) ## run every notebook (papermill): figures/, results/, executed copies in build/
	@if [ -e $(BUILD)/.made-now ]; then rm -f $(BUILD)/.made-now; else echo ">> nothing to do: every notebook's \
	figures and tables are up to date ($(SHOWN)figures/, $(SHOWN)results/, verdicts in $(SHOWN)results/claims.csv; \
	make verify$(if $(strip $(OUT)), OUT='$(OUT)') checks them)"; fi
	@$(PY) -m twigma provenance --out "$(OUT)" --notes

report: $(MANIFEST) ## render the run as a static site: $(OUT)/report/index.html opens from disk (runs what is missing first)
	@rm -f $(BUILD)/.made-now
	@$(PY) -m twigma report --out "$(OUT)"

verify: | $(ENV_STAMP) ## check a run's figures and tables against its manifest results/provenance.json [OUT=]
	@$(PY) -m twigma verify --out "$(OUT)"

validate: $(RELEASE_F) | $(ENV_STAMP) ## check a release file and build its typed cache
	@$(PY) -m twigma validate "$(RELEASE)"

croissant: $(RELEASE) | $(ENV_STAMP) ## Croissant 1.1 metadata (JSON-LD, Responsible-AI fields) of RELEASE: results/croissant.json, listed in the run's manifest [OUT=] [CROISSANT_ARGS=--typed]
	@$(PY) -m twigma croissant --release "$(RELEASE)" --out "$(OUT)" $(CROISSANT_ARGS)
	@$(PY) -m twigma provenance --out "$(OUT)" >/dev/null

TWEETS_DB ?= data/raw/rehydrated.sqlite
IMAGES_DIR ?= data/raw/twigma_images
NAME_BY ?= auto

data: | $(ENV_STAMP) ## download the newest release table from Zenodo into data/raw/ and validate it
	$(PY) -m twigma data

rehydrate: | $(ENV_STAMP) ## tweets and photo URLs by tweet id from the X API (needs X_BEARER_TOKEN); resumable
	$(PY) -m twigma rehydrate --release "$(RELEASE)" --store "$(TWEETS_DB)"

images: | $(ENV_STAMP) ## download the rehydrated photos into data/raw/twigma_images/, named as RELEASE's image_name (NAME_BY=auto|media_id|file_code), match rate at the end; resumable
	$(PY) -m twigma images --store "$(TWEETS_DB)" --dest "$(IMAGES_DIR)" --release "$(RELEASE)" --name-by "$(NAME_BY)"

REF_N ?= 5000
ART_N ?= 5000

refs: | $(ENV_STAMP) ## reference sets into data/raw/refs/: MS-COCO 2017 val (natural) and a WikiArt sample (art, ART_N=5000)
	$(PY) -m twigma refs --n-natural $(REF_N) --n-art $(ART_N)

# `make embeddings` writes to data/embeddings/ unless EMBEDDINGS is given on the command line
EMBED_DIR := $(if $(filter command line environment,$(origin EMBEDDINGS)),$(EMBEDDINGS),data/embeddings)
MODEL ?= ViT-L-14
PRETRAINED ?= openai
WEIGHTS ?=
EMBED_ARGS ?=

embeddings: | $(EMBED_STAMP) ## CLIP-embed a folder of images: IMAGES=<folder> SOURCE=<twigma|natural|art> [EMBEDDINGS=<store>] [MODEL=, PRETRAINED= or WEIGHTS=]
	@test -n "$(IMAGES)" -a -n "$(SOURCE)" || { echo "usage: make embeddings IMAGES=<folder> SOURCE=<twigma|natural|art> [EMBEDDINGS=<store folder>] [MODEL=ViT-L-14 PRETRAINED=openai | WEIGHTS=<file>] [EMBED_ARGS='--batch-size 128 ...']" >&2; exit 2; }
	TWIGMA_SCHEDULER="$(SCHEDULER)" $(PY) -m twigma embed "$(IMAGES)" --source "$(SOURCE)" --embeddings "$(EMBED_DIR)" --model "$(MODEL)" \
		--pretrained "$(PRETRAINED)" $(if $(strip $(WEIGHTS)),--weights "$(WEIGHTS)") $(EMBED_ARGS)

# clip-retrieval does not record its model: MODEL (and PRETRAINED or WEIGHTS) must be given on the command line
import-clip-retrieval: | $(EMBED_STAMP) ## embeddings made by clip-retrieval into the store: CLIP_DIR=<its output folder> SOURCE= MODEL= [PRETRAINED= or WEIGHTS=] [EMBEDDINGS=]
	@test -n "$(CLIP_DIR)" -a -n "$(SOURCE)" -a "$(origin MODEL)" != "file" || { echo "usage: make import-clip-retrieval CLIP_DIR=<clip-retrieval output folder> SOURCE=<twigma|natural|art> MODEL=<open_clip model it ran, e.g. ViT-L-14> [PRETRAINED=openai | WEIGHTS=<file>] [EMBEDDINGS=<store folder>]" >&2; exit 2; }
	$(PY) -m twigma import-clip-retrieval "$(CLIP_DIR)" --source "$(SOURCE)" --embeddings "$(EMBED_DIR)" --model "$(MODEL)" \
		$(if $(filter command line environment,$(origin PRETRAINED)),--pretrained "$(PRETRAINED)") $(if $(strip $(WEIGHTS)),--weights "$(WEIGHTS)")

# The query goes to the command through the environment, so that quotes and $ in it reach it unchanged.
track: $(RELEASE_F) | $(ENV_STAMP) ## share of images whose captions match a query, per month and cluster, with its trend: make track QUERY=<words or regex> [RELEASE=] [OUT=] [TRACK_ARGS=--regex]
	@test -n "$$QUERY" || { echo "usage: make track QUERY=<word, phrase or (TRACK_ARGS=--regex) regular expression> [RELEASE=<release file>] [OUT=<output folder>] [TRACK_ARGS='--substring --min-images-per-month 50']" >&2; exit 2; }
	@TWIGMA_MAKE_TRACK=1 $(PY) -m twigma track "$$QUERY" --release "$(RELEASE)" --out "$(OUT)" $(TRACK_ARGS)
	@$(PY) -m twigma provenance --out "$(OUT)" >/dev/null

K ?= 20
search: | $(EMBED_STAMP) ## images closest to a text (the store's CLIP model) or an image: make search TEXT=<text> or IMAGE=<image_name> EMBEDDINGS=<store> [RELEASE=] [K=20]
	@test -n "$$TEXT$$IMAGE" || { echo "usage: make search TEXT='a lighthouse at dusk' EMBEDDINGS=<store folder> [RELEASE=<release file>] [K=20] (or IMAGE=<image_name> instead of TEXT)" >&2; exit 2; }
	@$(PY) -m twigma search $${TEXT:+"$$TEXT"} $${IMAGE:+--image "$$IMAGE"} --k $(K) \
		$(if $(strip $(EMBEDDINGS)),--embeddings "$(EMBEDDINGS)") --release "$(RELEASE)"

# JupyterLab keeps its workspaces (open tabs, layout) and user settings in this checkout, build/.jupyterlab/,
# not in $HOME where another project's tabs and kernels would be restored (make clean resets them).
LAB_STATE := $(abspath build/.jupyterlab)
lab: $(ENV_STAMP) sample ## open JupyterLab on the notebooks with the project's environment [LAB_ARGS='--no-browser --port=8899']
	JUPYTER_PATH=$(abspath $(VENV))/share/jupyter PATH=$(abspath $(VENV))/bin:$$PATH \
		JUPYTERLAB_WORKSPACES_DIR="$(LAB_STATE)/workspaces" JUPYTERLAB_SETTINGS_DIR="$(LAB_STATE)/user-settings" \
		$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(LINT_STAMP) ## lint the code (ruff), check notebooks carry no outputs (nbstripout), type-check the package (mypy)
	@# the checks of .pre-commit-config.yaml's hooks, on every file (the hooks fix what they can; make lint only reports)
	@$(VENV)/bin/ruff check --quiet src tests bench notebooks && echo ">> ruff: src, tests, bench and notebooks are clean"
	@$(VENV)/bin/nbstripout --keep-id --verify $(NOTEBOOKS) notebooks/_template.ipynb || \
		{ echo "notebooks above carry outputs or execution counts: strip them with .venv/bin/nbstripout --keep-id FILE" >&2; exit 1; }
	@echo ">> nbstripout: the notebooks carry no outputs"
	@# [tool.mypy] in pyproject.toml says what to check and how; silent when clean, as ruff --quiet
	@$(VENV)/bin/mypy --no-error-summary && echo ">> mypy: src is clean"

test: lint $(TEST_STAMP) $(EMBED_STAMP) $(CFF_STAMP) sample ## lint (ruff, nbstripout, mypy), then run every test (tests/: the package, the notebooks, the browser)
	@HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# The package's unit tests alone: no notebook run, no browser, nothing that needs the embedding layer (the
# markers are set in tests/conftest.py and pyproject.toml); docs/benchmarks.md gives its time.
FAST_TESTS := not notebooks and not browser and not embedding_layer and not slow
test-fast: $(TEST_STAMP) $(CFF_STAMP) sample ## the package's unit tests only (no notebook, browser or embedding layer)
	@HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "$(FAST_TESTS)" --durations=10 $(PYTEST_ARGS)

bench: $(ENV_STAMP) ## benchmark the release pipeline on an 800,000-row synthetic release
	$(PY) bench/release_pipeline.py

clean: ## remove the outputs of make figures and make report (build/, figures/, results/, report/) and caches
	rm -rf $(BUILD) $(O)report $(O)figures/*.png $(O)figures/*.pdf $(RESULTS)/*.csv $(RESULTS)/*.json \
		$(RESULTS)/*.parquet $(RESULTS)/*/ data/interim/*.parquet data/interim/cache data/interim/hashes

clean-env: ## remove the Python environments (.venv/ and .venv-cff/)
	rm -rf $(VENV) $(CFF_VENV)

FORCE:
