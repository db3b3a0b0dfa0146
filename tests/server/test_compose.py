"""Compositions through the API (with the tiny user model) and 50 concurrent compose requests on loopback."""

from __future__ import annotations

import json
import math
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi

TINY_MODEL = "tiny-bach"  # made by the model_home fixture
#: Concurrent requests of the load test, and where its latency figures are written.
LOAD_REQUESTS = 50
LOAD_REPORT = Path("/tmp/studio_load.json")


def test_compose_a_sample_and_fetch_every_file(client: TestClient, model_home: Path, tmp_path: Path) -> None:
    listed = {c["name"]: c for c in client.get("/api/composers").json()}
    assert listed[TINY_MODEL]["kind"] == "user"
    response = client.post("/api/compositions", json={"melody": "twinkle", "model": TINY_MODEL, "seed": 11})
    assert response.status_code == 201, response.text
    composition = response.json()
    assert composition["model"] == TINY_MODEL and composition["seed"] == 11 and composition["source"] == "studio"
    assert composition["melody"] == "twinkle"
    assert set(composition["urls"]) == {"midi", "wav", "png", "roll"}
    roles = [t["role"] for t in composition["roll"]["tracks"]]
    assert roles[0] == "melody" and len(roles) >= 2

    midi = client.get(composition["urls"]["midi"])
    assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi"
    assert "attachment" in midi.headers["content-disposition"]
    (tmp_path / "out.mid").write_bytes(midi.content)
    written = read_midi(tmp_path / "out.mid", resolution=12)
    tune = melody_to_multitrack(get_melody("twinkle"), 12)
    assert [n[:3] for n in written.notes(written.track_index("melody"))] == [n[:3] for n in tune.notes(0)]
    wav = client.get(composition["urls"]["wav"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"
    png = client.get(composition["urls"]["png"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(composition["urls"]["roll"]).json() == composition["roll"]
    assert client.get(f"/api/compositions/{composition['id']}").json()["summary"]["seed"] == 11
    assert [c["id"] for c in client.get("/api/compositions").json()] == [composition["id"]]
    # the same seed gives the same music
    again = client.post("/api/compositions", json={"melody": "twinkle", "model": TINY_MODEL, "seed": 11}).json()
    assert again["roll"] == composition["roll"]
    assert client.get(f"/api/compositions/{composition['id']}/mp3").status_code == 404


def test_compose_an_uploaded_and_a_recorded_melody(client: TestClient, model_home: Path, shared_datasets: Path) -> None:
    chorale = shared_datasets / "bach" / "jsb_chorales_czhuang" / "midi_derived_satb" / "valid" / "jsb_valid_040.mid"
    uploaded = client.post("/api/melodies/upload", files={"file": (chorale.name, chorale.read_bytes())}).json()
    notes = [{"pitch": 60 + 2 * i, "start_beat": i, "duration_beats": 1} for i in range(8)]
    recorded = client.post("/api/melodies/record", json={"tempo": 100, "bars": 2, "notes": notes}).json()
    for melody, label in ((uploaded, f"upload:{chorale.name}"), (recorded, "recorded:Recorded melody")):
        body = {"melody_id": melody["id"], "model": TINY_MODEL, "wav": False, "png": False}
        response = client.post("/api/compositions", json=body)
        assert response.status_code == 201, response.text
        composition = response.json()
        assert composition["melody"] == label and set(composition["urls"]) == {"midi", "roll"}
        assert client.get(f"/api/compositions/{composition['id']}/wav").status_code == 404


def test_unknown_model_is_404_listing_the_available_ones(client: TestClient, model_home: Path) -> None:
    response = client.post("/api/compositions", json={"melody": "twinkle", "model": "no-such-model"})
    assert response.status_code == 404 and TINY_MODEL in response.json()["detail"]
    folder = model_home / "compositions"
    assert not folder.exists() or not any(folder.iterdir())  # nothing written for a refused request


def test_a_cli_composition_recorded_in_the_store_shows_in_the_studio(
    client: TestClient, model_home: Path, tmp_path: Path
) -> None:
    from museforge.compose import compose
    from museforge.store import Store

    result = compose("ode_to_joy", TINY_MODEL, seed=2, out_midi=tmp_path / "cli.mid")
    row = Store().record_composition(result, melody="ode_to_joy")
    listed = client.get("/api/compositions").json()
    assert [c["id"] for c in listed] == [row["id"]] and listed[0]["source"] == "cli"
    assert client.get(f"/api/compositions/{row['id']}/midi").content == (tmp_path / "cli.mid").read_bytes()
    roll = client.get(f"/api/compositions/{row['id']}/roll").json()  # read back from the MIDI file
    assert roll["tracks"][0]["role"] == "melody"


@contextmanager
def live_server() -> Iterator[str]:
    """The app under uvicorn in a thread, on a free loopback port of this test's data home."""
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
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.mark.slow
def test_fifty_concurrent_compose_requests_all_succeed(model_home: Path) -> None:
    with (
        live_server() as url,
        httpx.Client(base_url=url, timeout=300, limits=httpx.Limits(max_connections=100)) as http,
    ):
        assert http.get("/api/health").status_code == 200

        def one(i: int) -> tuple[int, float]:
            start = time.perf_counter()
            response = http.post("/api/compositions", json={"melody": "twinkle", "model": TINY_MODEL, "seed": i})
            return response.status_code, time.perf_counter() - start

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=LOAD_REQUESTS) as pool:
            results = list(pool.map(one, range(LOAD_REQUESTS)))
        wall = time.perf_counter() - started
        assert [code for code, _ in results] == [201] * LOAD_REQUESTS
        listed = http.get("/api/compositions", params={"limit": 100}).json()
        assert len(listed) == LOAD_REQUESTS and len({c["id"] for c in listed}) == LOAD_REQUESTS
        assert http.get("/api/health").json()["status"] == "ok"
    latencies = sorted(seconds for _, seconds in results)
    figures = {
        "requests": LOAD_REQUESTS,
        "wall_seconds": round(wall, 2),
        "p50_seconds": round(statistics.median(latencies), 3),
        "p95_seconds": round(latencies[math.ceil(0.95 * len(latencies)) - 1], 3),
        "max_seconds": round(latencies[-1], 3),
        "per_request_seconds": round(wall / LOAD_REQUESTS, 3),
    }
    LOAD_REPORT.write_text(json.dumps(figures, indent=2))
    print(f"\n50 concurrent compose requests (midi+wav+png, tiny model): {figures}")
