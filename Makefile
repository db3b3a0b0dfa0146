# museforge: `make demo` (the main job) and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
MUSEFORGE := $(VENV)/bin/museforge
# Debian packages the project needs: FluidSynth and its General MIDI soundfont render audio; Chromium runs
# the browser tests (driven by Playwright for Python, never a downloaded browser).
DEBIAN_PACKAGES := fluidsynth fluid-soundfont-gm chromium
# Where pip takes torch from. Empty: the default index, where the pinned version resolves to the CPU wheel on this
# project's machines; on a plain machine the same pin can pull the multi-GB CUDA build, so point it at PyTorch's
# CPU wheels: make install TORCH_INDEX=https://download.pytorch.org/whl/cpu (passed to pip as --index-url).
TORCH_INDEX ?=
TORCH_VERSION ?= 2.13.0
# The read-only real MIDI data beside the project (tests and CI read it from there).
SHARED_DATASETS ?= $(abspath ../shared/datasets)
export MUSEFORGE_SHARED_DATASETS := $(SHARED_DATASETS)

.PHONY: install system test test-fast lint demo bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned (and from TORCH_INDEX when set): the CPU wheel; an unpinned torch would pull a
	# multi-GB CUDA build.
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==$(TORCH_VERSION)
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

# The unit tests alone (under 90 s on 2 cores): no training runs, browsers, torchrun or benchmarks (marked slow).
test-fast: install
	$(PY) -m pytest -q -m "not slow"

demo: install
	$(MUSEFORGE) demo --out out

bench: install
	$(PY) -m bench.run
	$(PY) -m bench.load
	$(PY) -m bench.jam

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
