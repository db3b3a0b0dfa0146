# museforge: `make demo` (the main job) and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
MUSEFORGE := $(VENV)/bin/museforge
# Debian packages the project needs: FluidSynth and its General MIDI soundfont render audio; Chromium runs
# the browser tests (driven by Playwright for Python, never a downloaded browser).
DEBIAN_PACKAGES := fluidsynth fluid-soundfont-gm chromium
# The read-only real MIDI data beside the project (tests and CI read it from there).
SHARED_DATASETS ?= $(abspath ../shared/datasets)
export MUSEFORGE_SHARED_DATASETS := $(SHARED_DATASETS)

.PHONY: install system test lint demo bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned: the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[audio,server,dev]"
	touch $@

install: $(VENV)/.installed system

system:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install lint
	$(PY) -m pytest -q

demo: install
	$(MUSEFORGE) demo --out out

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
