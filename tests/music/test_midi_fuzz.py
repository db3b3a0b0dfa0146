"""Fuzzing: generated malformed and extreme MIDI files through compose and the studio's upload.

Every input must end in a composition or a clean one-line error (HTTP 4xx for the upload), within 10 s and without
the process growing by a gigabyte; compose and upload must agree on which files are melodies. The fast lane runs
a sample; the full suite runs 1,000 inputs (2,000 runs). The generator is deterministic: a failure names its input,
and ``python tests/fuzz/run.py --count N --seed S`` reproduces it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_fuzz(count: int, seed: int, tmp_path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "fuzz" / "run.py"), "--count", str(count), "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check(report: dict[str, Any], count: int) -> None:
    assert report["inputs"] == count and report["runs"] == len(report["run_list"]) >= 2 * count
    assert report["crashes"] == []
    assert report["slow"] == [] and report["slowest_seconds"] < 10
    assert report["peak_above_warm_mb"] < 1024
    assert report["disagreements"] == []
    outcomes = report["outcomes"]
    # the inputs reach every path: some are composed, most are refused with a reason, none is a server error
    assert outcomes.get("compose: composed", 0) > count // 10 and outcomes.get("compose: refused", 0) > count // 3
    assert not [kind for kind in outcomes if kind.startswith("upload: 5")]


@pytest.mark.slow
def test_a_sample_of_malformed_midi_files(tmp_path: Path) -> None:
    check(run_fuzz(60, seed=1, tmp_path=tmp_path), 60)


@pytest.mark.slow
def test_a_thousand_malformed_midi_files(tmp_path: Path) -> None:
    check(run_fuzz(1000, seed=0, tmp_path=tmp_path), 1000)
