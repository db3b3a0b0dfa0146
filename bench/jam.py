"""Jam latency: how long the server takes to answer a bar with the next bar's accompaniment (part of ``make bench``).

``python -m bench.jam`` plays ``--bars`` bars of a melody (Ode to Joy over and over, its notes moved a step every
pass so the tune never repeats exactly) into a shipped genre model:

- **in the library**: :meth:`museforge.pipelines.jam.JamSession.play_bar` timed on its own;
- **over the WebSocket** of a real server (``museforge serve`` in its own process on a loopback port): one
  session, then ``--sessions`` at once, each sending a bar every ``--bar-ms`` ms (100: twelve times as fast as
  4/4 at 200 bpm, whose bars last 1.2 s, so 1,000 bars take under two minutes); then the same sessions sending
  each bar as soon as the last answer came (``stress``: as many bars as the CPU can compose). The figures are the
  server's own time from receiving a bar's notes to sending the next bar's accompaniment (``server_ms`` of each
  answer) and the client's round trip.

Printed: p50, p99 and max per case, the CPU and its load. Exit code 1 if a session failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.load import percentile

#: Bars each session plays, and the model it plays with.
BARS = 1000
MODEL = "jazz"
#: Sessions at once in the concurrent case.
SESSIONS = 4
#: Milliseconds between a session's bars in the paced cases, and bars per session in the stress case.
BAR_MS = 100.0
STRESS_BARS = 250
#: The target: a bar's accompaniment sent within this many ms, never late at 200 bpm (issue 26).
TARGET_P99_MS = 50.0


def melody_bars(count: int) -> list[list[list[float]]]:
    """``count`` bars of player notes ``[pitch, start_beat, duration_beats, velocity]``: Ode to Joy's 8 bars, each
    pass a whole step higher (folded back after an octave)."""
    from museforge.music.melodies import get_melody

    melody = get_melody("ode_to_joy")
    bars: list[list[list[float]]] = [[] for _ in range(8)]
    for note in melody.notes:
        pitch, start, duration = int(note[0]), float(note[1]), float(note[2])
        bar, beat = divmod(start, 4.0)
        if int(bar) < 8:
            bars[int(bar)].append([pitch, beat, duration, 90])
    out = []
    for i in range(count):
        shift = 2 * ((i // 8) % 6)
        out.append([[p + shift, s, d, v] for p, s, d, v in bars[i % 8]])
    return out


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2),
    }


def bench_library(bars: int, model: str) -> dict[str, Any]:
    """``play_bar`` timed alone, ``bars`` times."""
    from museforge.pipelines.jam import JamSession

    session = JamSession(model, seed=0)
    session.first_bar()
    times = []
    for notes in melody_bars(bars):
        started = time.perf_counter()
        session.play_bar(notes)
        times.append((time.perf_counter() - started) * 1000)
    return {"case": "library", "sessions": 1, "bars": bars, **_summary(times)}


def _play(url: str, bars: int, model: str, seed: int, pace_ms: float, out: dict[str, Any]) -> None:
    """One WebSocket session of ``bars`` bars, one every ``pace_ms`` (0: each as soon as the last answer came); its
    ``server_ms`` and round trips into ``out``."""
    from websockets.sync.client import connect

    server, trip = [], []
    with connect(url.replace("http://", "ws://") + "/api/jam", max_size=2**22) as socket:
        socket.send(json.dumps({"type": "start", "model": model, "numerator": 4, "denominator": 4, "seed": seed}))
        while json.loads(socket.recv())["type"] != "accompaniment":
            pass
        begun = time.perf_counter()
        for bar, notes in enumerate(melody_bars(bars)):
            time.sleep(max(0.0, begun + bar * pace_ms / 1000 - time.perf_counter()))
            started = time.perf_counter()
            socket.send(json.dumps({"type": "bar", "bar": bar, "notes": notes}))
            answer = json.loads(socket.recv())
            trip.append((time.perf_counter() - started) * 1000)
            if answer.get("type") != "accompaniment" or answer.get("bar") != bar + 1:
                raise RuntimeError(f"bar {bar}: unexpected answer {str(answer)[:200]}")
            server.append(float(answer["server_ms"]))
        socket.send(json.dumps({"type": "stop"}))
    out["server"], out["trip"] = server, trip


def bench_server(url: str, sessions: int, bars: int, model: str, pace_ms: float) -> dict[str, Any]:
    """``sessions`` WebSocket sessions at once, ``bars`` bars each, one every ``pace_ms``."""
    results: list[dict[str, Any]] = [{} for _ in range(sessions)]
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            _play(url, bars, model, i, pace_ms, results[i])
        except Exception as failure:  # reported, and the bench exits 1
            errors.append(f"session {i}: {type(failure).__name__}: {failure}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    server = [v for r in results for v in r.get("server", [])]
    trip = [v for r in results for v in r.get("trip", [])]
    case = f"websocket, a bar every {pace_ms:g} ms" if pace_ms else "websocket, stress"
    row: dict[str, Any] = {"case": case, "sessions": sessions, "bars": bars, "errors": errors}
    if server:
        row.update(_summary(server))
        row["round_trip"] = _summary(trip)
        row["bars_per_second"] = round(len(server) / wall, 1)
    return row


@contextmanager
def served(home: Path, sessions: int) -> Iterator[str]:
    """``museforge serve`` in its own process over the data home ``home``, allowing ``sessions`` jams at once (the
    last case's may still be closing); yields its URL."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, "MUSEFORGE_HOME": str(home), "MUSEFORGE_JAM_SESSIONS": str(sessions)}
    command = [sys.executable, "-m", "museforge.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("museforge serve did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jam", description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=BARS, help="bars per session")
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="sessions at once in the concurrent case")
    parser.add_argument("--model", default=MODEL, help="the genre model played with")
    parser.add_argument("--bar-ms", type=float, default=BAR_MS, help="ms between a session's bars (paced cases)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.bars < 1 or args.sessions < 1:
        print("bench.jam: --bars and --sessions must be at least 1", file=sys.stderr)
        return 2
    import torch

    from bench.run import machine

    info = machine(torch.device("cpu"))
    print(f"machine: {info['cpu']}, {info['cpu_cores']} cores, torch threads {info['torch_threads']}", flush=True)
    rows = [bench_library(args.bars, args.model)]
    with tempfile.TemporaryDirectory(prefix="museforge-jam-") as home, served(Path(home), args.sessions + 1) as url:
        rows.append(bench_server(url, 1, args.bars, args.model, args.bar_ms))
        if args.sessions > 1:
            rows.append(bench_server(url, args.sessions, args.bars, args.model, args.bar_ms))
        rows.append(bench_server(url, args.sessions, min(args.bars, STRESS_BARS), args.model, 0.0))
    print(f"\nJam ({args.model}): time from a bar's notes to the next bar's accompaniment, {args.bars} bars a session")
    print("| case | sessions | p50 ms | p99 ms | max ms | round trip p50 / p99 ms | bars/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        trip = row.get("round_trip")
        trips = f"{trip['p50_ms']} / {trip['p99_ms']}" if trip else "-"
        print(
            f"| {row['case']} | {row['sessions']} | {row.get('p50_ms', '-')} | {row.get('p99_ms', '-')} | "
            f"{row.get('max_ms', '-')} | {trips} | {row.get('bars_per_second', '-')} |"
        )
    late = [r for r in rows if r.get("p99_ms", 0) > TARGET_P99_MS and "stress" not in r["case"]]
    print(
        f"target p99 under {TARGET_P99_MS:.0f} ms (paced cases): "
        + ("missed by " + ", ".join(f"{r['case']} x{r['sessions']}" for r in late) if late else "met in every case")
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    failed = [e for r in rows for e in r.get("errors", [])]
    for line in failed:
        print(f"bench.jam: {line}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "jam": rows}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
