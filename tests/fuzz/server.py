"""Fuzz every route of a real studio server: wrong types, huge values, unknown ids and path traversal, many at once.

Run as a script; it starts ``museforge serve`` on a free port over a fresh data folder, reads the routes from the
server's own OpenAPI schema, and sends ``--count`` requests, ``--concurrency`` at a time::

    python tests/fuzz/server.py --count 2000 --concurrency 20 > report.json

Each request changes one thing of a plausible request (a path parameter, a query parameter or one field of the JSON
body) to a hostile value. The report counts answers by status, lists every 5xx and every request slower than
``--limit`` seconds, and gives the server's resident memory at its start (after a warm-up request) and after the
run. The generator is deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

#: Values a path parameter is replaced by: unknown ids, traversal, odd lengths and numbers.
PATH_VALUES = [
    "0",
    "-1",
    "f" * 32,
    "x" * 300,
    "..",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc",
    "twinkle",
    "jazz",
    "BACH",
    "enhance%2fbach",
    "99999999999999999999999",
    "%00",
    "latest.png",
]
#: Values one field of a body (or one query parameter) is replaced by.
FIELD_VALUES: list[Any] = [
    None,
    "",
    "x" * 20_000,
    "../../../etc/passwd",
    -1,
    0,
    10**30,
    1e308,
    -1e-300,
    True,
    [],
    {},
    [0] * 5000,
    {"a": {"b": {"c": [1, 2, 3]}}},
    "twinkle",
    4096,
]
#: A plausible request body per schema field name (what a studio page would send), changed one field at a time.
PLAUSIBLE: dict[str, Any] = {
    "melody": "twinkle",
    "model": "bach",
    "name": "fuzzed",
    "genre": "bach",
    "seed": 1,
    "iterations": 2,
    "bars": 2,
    "tempo": 100,
    "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 1}],
    "wav": False,
    "png": False,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def routes(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every ``/api`` route of the schema."""
    out = []
    for path, methods in spec["paths"].items():
        if path.startswith("/api"):
            out += [(method.upper(), path, operation) for method, operation in methods.items()]
    return out


def body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str] | None:
    """The JSON body's field names, or None when the route takes no JSON body."""
    content = (operation.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    if schema is None:
        return None
    ref = schema.get("$ref", "")
    component = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else schema
    return list((component.get("properties") or {}).keys())


def make_request(rng: random.Random, spec: dict[str, Any], method: str, path: str, operation: dict[str, Any]):
    """One hostile request: (method, url path with query, body bytes or None, content type)."""
    url = path
    for name in [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]:
        url = url.replace("{" + name + "}", rng.choice(PATH_VALUES))
    query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    if query and rng.random() < 0.7:
        name = rng.choice(query)
        value = rng.choice(FIELD_VALUES)
        text = value if isinstance(value, str) else json.dumps(value)
        url += "?" + urllib.parse.urlencode({name: text})
    fields = body_fields(spec, operation)
    if "multipart/form-data" in ((operation.get("requestBody") or {}).get("content") or {}):
        boundary = "fuzzboundary"
        data = rng.choice([b"", b"MThd", os.urandom(rng.choice([10, 5000])), b"MThd\x00\x00\x00\x06" + b"\xff" * 100])
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{rng.choice(PATH_VALUES)}"\r\n'
                f"Content-Type: audio/midi\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return method, url, body, f"multipart/form-data; boundary={boundary}"
    if fields is None:
        return method, url, None, None
    body = {name: PLAUSIBLE[name] for name in fields if name in PLAUSIBLE}
    if fields:
        body[rng.choice(fields)] = rng.choice(FIELD_VALUES)
    if rng.random() < 0.1:
        return method, url, rng.choice([b"{", b"[]", b"null", b'{"a":' * 500]), "application/json"
    return method, url, json.dumps(body).encode(), "application/json"


def send(base: str, request: tuple[str, str, bytes | None, str | None], timeout: float) -> tuple[int, float]:
    method, url, body, content_type = request
    headers = {"Content-Type": content_type} if content_type else {}
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(base + url, data=body, method=method, headers=headers), timeout=timeout
        ) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        status = -1 if "timed out" not in str(error) else -2
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds one request may take")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="museforge-server-fuzz-"))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MUSEFORGE_HOME": str(home)}
    log_path = home / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "museforge.cli", "serve", "--port", str(port), "--data-dir", str(home)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),  # a file, not a pipe: the access log must never block the server
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                spec = json.loads(urllib.request.urlopen(base + "/openapi.json", timeout=5).read())
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        warm = (
            "POST",
            "/api/compositions",
            json.dumps({"melody": "twinkle", "model": "bach", "seed": 1}).encode(),
            "application/json",
        )
        send(base, warm, 120)
        rss_start = rss_mb(server.pid)
        rng = random.Random(args.seed)
        table = routes(spec)
        requests = [make_request(rng, spec, *rng.choice(table)) for _ in range(args.count)]
        with ThreadPoolExecutor(args.concurrency) as pool:
            answers = list(pool.map(lambda r: send(base, r, 2 * args.limit), requests))
        time.sleep(2)  # let finished requests' buffers go
        rss_end = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log = log_path.read_text(errors="replace")
    statuses: dict[str, int] = {}
    for status, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    report = {
        "requests": len(requests),
        "concurrency": args.concurrency,
        "routes": len(table),
        "statuses": dict(sorted(statuses.items())),
        "server_errors": [
            {"method": r[0], "url": r[1][:200], "status": s}
            for r, (s, _) in zip(requests, answers, strict=True)
            if s >= 500 or s < 0
        ],
        "slow": [
            {"method": r[0], "url": r[1][:200], "seconds": round(t, 2)}
            for r, (_, t) in zip(requests, answers, strict=True)
            if t > args.limit
        ],
        "slowest_seconds": round(max(t for _, t in answers), 2),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "traceback_lines_in_log": sum("Traceback" in line for line in log.splitlines()),
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
