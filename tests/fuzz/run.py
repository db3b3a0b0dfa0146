"""Feed generated MIDI files to compose and to the studio's upload, one by one, with a time and memory watchdog.

Run as a script (a fresh process, so that its peak memory is its own)::

    python tests/fuzz/run.py --count 1000 --seed 0 > report.json

Every input must end in a result or a clean one-line error (compose: a MuseforgeError; upload: 201 or a 4xx
answer), within ``--limit`` seconds each. Long pieces (the ``long_piece``, ``overlaps`` and ``unended`` families)
also go through Enhance under the studio's work limit, within ``--enhance-limit`` seconds (a rewrite the limit lets
through is about 10 s on an idle 2-core CPU). Torch runs one thread: the watchdog is there for hangs, and two threads
on a CPU shared with other work are up to 15x slower, one thread about 2x. The report counts outcomes and lists
every crash and every slow input, with the process's peak resident memory above what it held after warming up;
``run_list`` lists every run as ``[input, target, seconds, MB the process's peak rose by]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "src")]
warnings.filterwarnings("ignore")

from tests.fuzz.midi_inputs import fuzz_inputs  # noqa: E402

#: Hard stop for one input (a hang is reported, not waited for).
WATCHDOG_SECONDS = 60
#: Families whose inputs Enhance rewrites too (long pieces).
ENHANCE_FAMILIES = ("long_piece", "overlaps", "unended")


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"still running after {WATCHDOG_SECONDS} s")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--genre", default="jazz")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds compose or upload may take on one input")
    parser.add_argument("--enhance-limit", type=float, default=30.0, help="seconds Enhance may take on one input")
    args = parser.parse_args()

    import torch
    from fastapi.testclient import TestClient

    from museforge.errors import MuseforgeError
    from museforge.pipelines.compose import compose
    from museforge.pipelines.enhance import enhance
    from museforge.pipelines.work import REQUEST_MAX_PASSES, work_limits
    from museforge.server.app import create_app

    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    home = Path(tempfile.mkdtemp(prefix="museforge-fuzz-"))
    work = home / "inputs"
    work.mkdir()
    outcomes: dict[str, int] = {}
    crashes: list[dict[str, Any]] = []
    slow: list[dict[str, Any]] = []
    disagree: list[dict[str, Any]] = []
    runs: list[list[Any]] = []
    slowest = 0.0

    def record(kind: str) -> None:
        outcomes[kind] = outcomes.get(kind, 0) + 1

    import os

    os.environ["MUSEFORGE_HOME"] = str(home)
    with TestClient(create_app(home), base_url="http://localhost") as client:
        warm = work / "warm.mid"
        warm.write_bytes(next(fuzz_inputs(1, seed=10**6))[1])
        compose("twinkle", args.genre, seed=0, out_midi=home / "warm_out.mid")
        baseline = peak_rss_mb()
        inputs = 0
        for label, data in fuzz_inputs(args.count, args.seed):
            inputs += 1
            path = work / "input.mid"
            path.write_bytes(data)
            accepted: dict[str, bool] = {}
            targets = ["compose", "upload"] + (["enhance"] if label.endswith(ENHANCE_FAMILIES) else [])
            for target in targets:
                started, peak_before = time.perf_counter(), peak_rss_mb()
                signal.alarm(WATCHDOG_SECONDS)
                try:
                    if target in ("compose", "enhance"):
                        try:
                            if target == "compose":
                                compose(path, args.genre, seed=0, out_midi=home / "out.mid")
                            else:
                                with work_limits(REQUEST_MAX_PASSES):
                                    enhance(path, "bach", seed=0, out_midi=home / "out.mid")
                            record("compose: composed" if target == "compose" else "enhance: rewritten")
                            if target == "compose":
                                accepted[target] = True
                        except MuseforgeError as error:
                            message = str(error)
                            if not message or "\n" in message or message.endswith("()"):
                                crashes.append({"input": label, "target": target, "error": f"bad message {message!r}"})
                            record(f"{target}: refused")
                            if target == "compose":
                                accepted[target] = False
                    else:
                        response = client.post("/api/melodies/upload", files={"file": ("in.mid", data, "audio/midi")})
                        if response.status_code >= 500:
                            crashes.append({"input": label, "target": target, "error": response.text[:300]})
                        record(f"upload: {response.status_code}")
                        if response.status_code != 413:  # the upload's size limit is the server's own
                            accepted[target] = response.status_code == 201
                except Exception as error:
                    crashes.append({"input": label, "target": target, "error": f"{type(error).__name__}: {error}"})
                finally:
                    signal.alarm(0)
                seconds = time.perf_counter() - started
                runs.append([label, target, round(seconds, 3), round(peak_rss_mb() - peak_before, 1)])
                if target != "enhance":
                    slowest = max(slowest, seconds)
                if seconds > (args.enhance_limit if target == "enhance" else args.limit):
                    slow.append({"input": label, "target": target, "seconds": round(seconds, 2)})
            if len(accepted) == 2 and accepted["compose"] != accepted["upload"]:
                disagree.append({"input": label, "composed": accepted["compose"], "uploaded": accepted["upload"]})
    report = {
        "inputs": inputs,
        "runs": len(runs),
        "outcomes": dict(sorted(outcomes.items())),
        "crashes": crashes,
        "slow": slow,
        "disagreements": disagree,
        "slowest_seconds": round(slowest, 3),  # of compose and upload
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_above_warm_mb": round(peak_rss_mb() - baseline, 1),
        "run_list": runs,
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
