"""``make bench`` and the GPU run work end to end: the training bench (fast, plain and the reference in the same
rounds, each one's FLOPs), the concurrent-requests load run, and ``scripts/gpu_run.sh --smoke``.

Only that they measure and report is checked here: speed itself is never asserted in tests (docs/performance.md).
All of it takes minutes, so it is marked slow (``make test-fast`` leaves it out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from bench.references import akanametov_step, tutorial_step
from museforge.models.layers import count_parameters

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}


def test_bench_measures_the_tutorial_shape_fast_plain_and_the_reference(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "bench.run", "--only", "musegan @ tutorial", "--rounds", "1", "--skip-compose"]
    done = subprocess.run(
        [*argv, "--json", str(out)], cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| musegan @ tutorial shape |" in done.stdout and "48 -> " in done.stdout
    assert "fewer than 5: a smoke run" in done.stdout and "load average" in done.stdout
    assert "CPU: " in done.stdout and "native bf16" in done.stdout and "the fast step ran" in done.stdout
    report = json.loads(out.read_text())
    (row,) = report["training"]
    assert (row["batch"], row["update_ratio"], row["rounds"]) == (16, 1, 1)
    assert 300_000 < row["generator_params"] < 350_000 and 190_000 < row["critic_params"] < 220_000
    variants = {"fast", "plain", "reference"} | ({"fast fp32"} if row["precision"] == "bf16" else set())
    assert set(row["samples_per_second"]) == variants and all(v > 0 for v in row["samples_per_second"].values())
    assert all(row["peak_memory_mb"][v] > 0 for v in ("fast", "plain"))
    # each variant's own work: the tutorial's step is 1.42 GFLOP at batch 16 (G 314k / D 204k); museforge's
    # plain step does two critic passes where the fast one does one
    ref = row["reference"]
    assert (ref["generator_params"], ref["critic_params"]) == (313_951, 204_321)
    assert 85 < row["mflop_per_sample"]["reference"] < 92
    assert row["mflop_per_sample"]["fast"] < row["mflop_per_sample"]["plain"]
    assert 40 < row["mflop_per_sample"]["fast"] < 100
    assert ref["stored_samples_per_second"] == 48.0 and ref["samples_per_second"] > 0
    assert ref["ratio"] == pytest.approx(row["samples_per_second"]["fast"] / ref["samples_per_second"], rel=1e-6)
    assert report["machine"]["device"] == "cpu" and report["compose"] == []
    assert report["machine"]["cpu_capability"] and report["machine"]["load_average"] >= 0


def test_the_references_have_their_published_sizes_and_train() -> None:
    step = akanametov_step(batch=2, update_ratio=1)
    assert 6_500_000 < count_parameters(step.generator) < 6_700_000
    assert 1_400_000 < count_parameters(step.critic) < 1_500_000
    before = [p.detach().clone() for p in step.generator.parameters()]
    step.step()
    assert any(not p.equal(b) for p, b in zip(step.generator.parameters(), before, strict=True))
    tutorial = tutorial_step(batch=2)
    before = [p.detach().clone() for p in tutorial.critic.parameters()]
    tutorial.step()
    assert any(not p.equal(b) for p, b in zip(tutorial.critic.parameters(), before, strict=True))


def test_bench_on_cuda_without_a_gpu_is_a_one_line_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--device", "cuda"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "bench: --device cuda was asked for but no CUDA GPU is available"


def test_the_load_run_serves_concurrent_compositions(tmp_path: Path, shared_datasets: Path) -> None:
    out = tmp_path / "load.json"
    argv = [sys.executable, "-m", "bench.load", "--requests", "6", "--source", str(shared_datasets), "--json", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["succeeded"] == 6 and figures["listed_once"] and figures["healthy_after"]
    assert 0 < figures["p50_seconds"] <= figures["p95_seconds"] <= figures["max_seconds"] <= figures["wall_seconds"]
    assert "6 concurrent compose requests" in done.stdout and "p95" in done.stdout


def test_the_load_run_refuses_a_missing_source(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench.load", "--source", str(tmp_path / "nowhere")]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no bach data" in done.stderr


def test_the_gpu_run_goes_end_to_end_on_a_cpu(tmp_path: Path, shared_datasets: Path) -> None:
    from museforge.datasets.build import build_dataset

    data = tmp_path / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSEFORGE_HOME", str(data))
        build_dataset("bach", shared_datasets, limit=12, resolution=4)
    out = tmp_path / "out"
    argv = ["bash", str(REPO / "scripts" / "gpu_run.sh"), str(out), "--data", str(data), "--smoke"]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(tmp_path), timeout=900)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    files = ["bench.json", "bench.log", "models.tar.gz", "summary.md", "training.json"]
    assert sorted(p.name for p in out.iterdir()) == files
    (row,) = json.loads((out / "training.json").read_text())
    assert (row["genre"], row["status"], row["steps"]) == ("bach", "ok", 2)
    with tarfile.open(out / "models.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"models/bach.safetensors", "models/bach.json", "models/bach.metrics.jsonl"} <= names
    assert json.loads((out / "bench.json").read_text())["training"][0]["case"] == "musegan @ tutorial shape"
    summary = (out / "summary.md").read_text()
    assert "- bench: ok" in summary and "- training: ok" in summary and "| bach | ok | 2 |" in summary
    # the data home it was given is left as it was: the runs live in a temporary home
    assert sorted(p.name for p in (data / "datasets").iterdir()) == ["bach"] and not (data / "models").exists()


def test_the_gpu_run_refuses_a_folder_without_datasets(tmp_path: Path) -> None:
    argv = ["bash", str(REPO / "scripts" / "gpu_run.sh"), str(tmp_path / "out"), "--data", str(tmp_path), "--smoke"]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert done.returncode == 2 and "no datasets/" in done.stderr and not (tmp_path / "out").exists()


def test_the_jam_bench_times_the_library_and_the_websocket_of_a_real_server(tmp_path: Path) -> None:
    out = tmp_path / "jam.json"
    argv = [sys.executable, "-m", "bench.jam", "--bars", "12", "--sessions", "2", "--bar-ms", "20", "--json", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| websocket, a bar every 20 ms | 2 |" in done.stdout and "| websocket, stress | 2 |" in done.stdout
    rows = json.loads(out.read_text())["jam"]
    assert [row["sessions"] for row in rows] == [1, 1, 2, 2] and not any(row.get("errors") for row in rows)
    assert all(0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"] for row in rows)
