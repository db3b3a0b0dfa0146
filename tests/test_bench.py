"""``make bench`` runs: one training case end to end, with its memory child process and its FLOP count.

Only that it measures and reports is checked here: speed itself is never asserted in tests (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_measures_the_tutorial_shape_fast_and_plain(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "bench.run", "--only", "musegan @ tutorial", "--rounds", "1", "--skip-compose"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*argv, "--json", str(out)], cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| musegan @ tutorial shape |" in done.stdout and "48 -> " in done.stdout
    report = json.loads(out.read_text())
    (row,) = report["training"]
    assert (row["batch"], row["update_ratio"]) == (16, 1)
    assert 300_000 < row["generator_params"] < 350_000 and 190_000 < row["critic_params"] < 220_000
    assert all(row["samples_per_second"][v] > 0 and row["peak_memory_mb"][v] > 0 for v in ("fast", "plain"))
    # one generator update with one critic update: G and D forward/backward plus the penalty's double backward
    assert 1.0 < row["gflop_per_step"] < 3.0
    assert row["reference"]["samples_per_second"] == 48.0
    assert report["machine"]["device"] == "cpu" and report["compose"] == []


def test_bench_on_cuda_without_a_gpu_is_a_one_line_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--device", "cuda"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "bench: --device cuda was asked for but no CUDA GPU is available"
