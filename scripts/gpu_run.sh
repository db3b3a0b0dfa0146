#!/usr/bin/env bash
# The GPU run (scripts/gpu_run.py): the bench on CUDA, then the shipped recipes trained larger, in 9 minutes.
#
#   scripts/gpu_run.sh --prepare                 # here: copy the built dataset caches to .cache/gpu_run
#   scripts/gpu_run.sh OUT --data .cache/gpu_run # on the GPU machine (carry .cache/gpu_run there)
#   scripts/gpu_run.sh OUT --data DIR --smoke    # on a CPU: the same path with tiny networks, in seconds
#
# Python: $PYTHON, else .venv/bin/python where it exists, else python3 (a GPU image's own, with CUDA torch).
# Packages missing there can travel as wheels in .whl/ (installed into a temporary folder first).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  home="${MUSEFORGE_HOME:-$HOME/.museforge}"
  rm -rf .cache/gpu_run && mkdir -p .cache/gpu_run/datasets
  for cache in "$home"/datasets/*/; do
    genre=$(basename "$cache")
    [ -f "$cache/windows.npz" ] || continue
    mkdir -p ".cache/gpu_run/datasets/$genre"
    cp "$cache/manifest.json" "$cache/windows.npz" ".cache/gpu_run/datasets/$genre/"
  done
  du -sh .cache/gpu_run
  exit 0
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu_run_site .whl/*.whl
  export PYTHONPATH="/tmp/gpu_run_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# a backstop above the run's own budget (9 minutes unless --minutes says otherwise)
exec timeout 600 "$PY" scripts/gpu_run.py "$@"
