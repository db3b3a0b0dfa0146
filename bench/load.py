"""Concurrent compose requests against the REST API: ``python -m bench.load`` (part of ``make bench``).

It builds a data home in a temporary folder (8 real chorales from ``--source``, a tiny U-Net trained for 2 steps),
serves the app with uvicorn on a free loopback port and sends ``--requests`` compositions (MIDI, WAV and PNG) at
once. Every request must succeed, and each composition must be listed once; it prints the wall time and the
latency percentiles (p50, p95, max). Exit code 1 if any request failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MODEL = "tiny-bach"
#: A U-Net small enough to train 2 steps in seconds.
TINY_UNET = {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4}


def make_home(home: Path, source: Path) -> None:
    """Build 8 real chorales and train :data:`MODEL` in the data home ``home`` (``MUSEFORGE_HOME`` is set)."""
    from museforge.datasets.build import build_dataset
    from museforge.training import TrainConfig, train

    os.environ["MUSEFORGE_HOME"] = str(home)
    build_dataset("bach", source, limit=8)
    config = TrainConfig(
        name=MODEL,
        genre="bach",
        architecture="unet",
        epochs=1,
        max_steps=2,
        batch_size=4,
        update_ratio=1,
        model_config=dict(TINY_UNET),
        metrics_samples=4,
        samples_per_epoch=0,
        device="cpu",
    )
    train(config, progress=False)


@contextmanager
def live_server() -> Iterator[str]:
    """The app under uvicorn in a thread, on a free loopback port; yields its base URL."""
    import uvicorn

    from museforge.server.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile ``share`` (0-1] of ascending ``sorted_values``."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def run_load(requests: int) -> dict[str, Any]:
    """Send ``requests`` compose requests at once to a live server over the current data home; the figures."""
    import httpx

    with (
        live_server() as url,
        httpx.Client(base_url=url, timeout=300, limits=httpx.Limits(max_connections=2 * requests)) as http,
    ):
        if http.get("/api/health").status_code != 200:
            raise RuntimeError("the server is not healthy")

        def one(i: int) -> tuple[int, float]:
            start = time.perf_counter()
            response = http.post("/api/compositions", json={"melody": "twinkle", "model": MODEL, "seed": i})
            return response.status_code, time.perf_counter() - start

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=requests) as pool:
            results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
        listed = http.get("/api/compositions", params={"limit": 2 * requests}).json()
        healthy = http.get("/api/health").json().get("status") == "ok"
    latencies = sorted(seconds for _, seconds in results)
    return {
        "requests": requests,
        "succeeded": sum(code == 201 for code, _ in results),
        "listed_once": len(listed) == requests and len({c["id"] for c in listed}) == requests,
        "healthy_after": healthy,
        "wall_seconds": round(wall, 3),
        "p50_seconds": round(statistics.median(latencies), 3),
        "p95_seconds": round(percentile(latencies, 0.95), 3),
        "max_seconds": round(latencies[-1], 3),
        "per_request_seconds": round(wall / requests, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="compose requests sent at once")
    default = os.environ.get("MUSEFORGE_SHARED_DATASETS", "../shared/datasets")
    parser.add_argument("--source", type=Path, default=Path(default), help="folder laid out like ../shared/datasets")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.requests < 1:
        print("bench.load: --requests must be at least 1", file=sys.stderr)
        return 2
    if not (args.source / "bach").is_dir():
        print(f"bench.load: no bach data in {args.source} (pass --source)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="museforge-load-") as tmp:
        make_home(Path(tmp), args.source)
        figures = run_load(args.requests)
    print(
        f"{figures['requests']} concurrent compose requests (MIDI + WAV + PNG, tiny model): "
        f"{figures['succeeded']} succeeded in {figures['wall_seconds']} s; latency p50 {figures['p50_seconds']} s, "
        f"p95 {figures['p95_seconds']} s, max {figures['max_seconds']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ok = figures["succeeded"] == figures["requests"] and figures["listed_once"] and figures["healthy_after"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
