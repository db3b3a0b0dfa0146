"""The studio against a hostile web page and an unlucky machine: Host and Origin rules, forged numbers, a full disk.

Each test reproduces a failure an audit found (a 500, an accepted cross-site write) and checks the clean answer.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from museforge.server.routes.jobs import MAX_EPOCH_ID, event_id
from museforge.server.studio import MIDI_MAGIC

SAMPLE = {"melody": "twinkle", "genre": "jazz", "seed": 3}


def midi_bytes(tmp_path: Path) -> bytes:
    from museforge.music.melodies import get_melody, melody_to_multitrack
    from museforge.music.midi import write_midi

    path = tmp_path / "ode.mid"
    write_midi(melody_to_multitrack(get_melody("ode_to_joy"), resolution=12), path)
    data = path.read_bytes()
    assert data.startswith(MIDI_MAGIC)
    return data


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "rebind.attacker.test:80"])
def test_unknown_host_headers_are_refused(client: TestClient, host: str) -> None:
    response = client.get("/api/health", headers={"Host": host})
    assert response.status_code == 400
    assert "unknown Host" in response.json()["detail"] and "\n" not in response.json()["detail"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "192.168.1.20"])
def test_local_names_and_addresses_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_names_can_be_allowed_by_the_environment(museforge_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from museforge.server.app import create_app

    monkeypatch.setenv("MUSEFORGE_ALLOWED_HOSTS", "studio.lan, music-box")
    with TestClient(create_app(), base_url="http://studio.lan:8000") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"Host": "music-box"}).status_code == 200
        assert client.get("/api/health", headers={"Host": "other.lan"}).status_code == 400


def test_cross_origin_uploads_are_refused_and_store_nothing(client: TestClient, tmp_path: Path) -> None:
    data = midi_bytes(tmp_path)
    files = {"file": ("ode.mid", data, "audio/midi")}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post("/api/melodies/upload", files=files, headers=headers)
        assert response.status_code == 403, headers
        assert "cross-origin" in response.json()["detail"]
    assert client.get("/api/melodies/user").json() == []
    # the studio's own page (same origin), and a client outside the browser (no Origin), may upload
    own = client.post("/api/melodies/upload", files=files, headers={"Origin": "http://localhost"})
    assert own.status_code == 201
    assert client.post("/api/melodies/upload", files=files).status_code == 201


@pytest.mark.parametrize("path", ["/api/jobs/abc123/stop", "/api/jobs/abc123/resume", "/api/compositions"])
def test_cross_origin_posts_without_a_body_are_refused_before_anything_runs(client: TestClient, path: str) -> None:
    response = client.post(path, headers={"Origin": "http://localhost.evil.example"})
    assert response.status_code == 403
    # the same request from the studio's own origin reaches the route (which then judges it)
    assert client.post(path, headers={"Origin": "http://localhost"}).status_code in (404, 422)


def test_a_wav_mix_renders_only_for_the_studios_pages_and_clients_outside_the_browser(client: TestClient) -> None:
    composed = client.post("/api/compositions", json={"melody": "twinkle", "model": "bach", "seed": 2, "wav": False})
    mix = f"/api/compositions/{composed.json()['id']}/wav?tracks=0,1"
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        refused = client.get(mix, headers=headers)  # an <audio> element on another site
        assert refused.status_code == 403 and "cross-origin" in refused.json()["detail"], headers
    own = client.get(mix, headers={"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200 and own.headers["content-type"] == "audio/wav"
    assert client.get(mix).status_code == 200  # curl, scripts


def test_reading_stays_open_to_any_page_but_sends_no_cors_headers(client: TestClient) -> None:
    response = client.get("/api/health", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}


@pytest.mark.parametrize("after", ["9223372036854775808", "-1", str(MAX_EPOCH_ID + 1), "1e3"])
def test_metrics_after_out_of_range_is_a_422(client: TestClient, after: str) -> None:
    response = client.get(f"/api/jobs/abc123/metrics?after={after}")
    assert response.status_code == 422
    assert "after" in response.json()["detail"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("²", 0), ("٣", 0), ("12", 12), (" 7 ", 7), ("9" * 40, 0), (str(MAX_EPOCH_ID + 1), 0), ("-3", 0), (None, 0)],
)
def test_last_event_id_accepts_only_plain_epoch_numbers(header: str | None, expected: int) -> None:
    assert event_id(header) == expected


# ------------------------------------------------------------------------------------------- a full disk
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs mounted for this test (needs root, as CI has); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with contextlib.suppress(OSError), (folder / "ballast").open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    with contextlib.suppress(OSError), (folder / "ballast2").open("wb") as out:
        while True:
            out.write(b"\0")
            out.flush()


def test_a_full_disk_gives_507_not_500(small_disk: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from museforge.server.app import create_app

    data = midi_bytes(tmp_path)
    monkeypatch.setenv("MUSEFORGE_HOME", str(small_disk))
    # as a real server answers: an unexpected error becomes a response instead of propagating into the test
    with TestClient(create_app(), base_url="http://localhost", raise_server_exceptions=False) as client:
        assert client.get("/api/health").status_code == 200
        fill(small_disk)
        with pytest.raises(OSError):
            os.write(os.open(small_disk / "probe", os.O_WRONLY | os.O_CREAT), b"x" * 4096)
        upload = client.post("/api/melodies/upload", files={"file": ("ode.mid", data, "audio/midi")})
        assert upload.status_code == 507, upload.text
        assert "disk is full" in upload.json()["detail"] or "No space left" in upload.json()["detail"]
        job = client.post("/api/jobs", json={"name": "full", "genre": "bach", "architecture": "unet", "epochs": 1})
        assert job.status_code in (400, 422, 507), job.text  # refused cleanly (the dataset is not built either)
        for path in ("/api/health", "/api/models", "/api/jobs", "/api/melodies/user"):
            response = client.get(path)
            assert response.status_code in (200, 507), (path, response.text)
        assert not [p for p in small_disk.rglob("*.tmp")]  # no half-written file left behind


def test_an_unexpected_error_is_a_json_500_and_one_line_in_the_log(
    museforge_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from museforge.server.app import create_app

    app = create_app()

    def broken() -> None:  # a route with a bug, as the audit's 500s were
        raise ZeroDivisionError("division by zero")

    app.add_api_route("/api/broken", broken)
    with TestClient(app, base_url="http://localhost") as client:  # raises in the test if the error escapes
        capfd.readouterr()
        response = client.get("/api/broken")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: ZeroDivisionError: division by zero"}
    logged = capfd.readouterr().err.strip().splitlines()
    assert logged == ["museforge: GET /api/broken -> 500: internal error: ZeroDivisionError: division by zero"]


def test_the_server_clears_the_staging_folders_of_model_creations_killed_before_it_started(
    museforge_home: Path,
) -> None:
    from museforge.server.app import create_app

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no process has now, as a killed creation's
    models = museforge_home / "models"
    killed, running = models / f".ghost.creating.{dead.pid}", models / f".busy.creating.{os.getpid()}"
    for folder in (killed, running):
        folder.mkdir(parents=True)
        (folder / "model.json.tmp").write_text("{}")
    with TestClient(create_app(), base_url="http://localhost") as client:
        assert client.get("/api/models").status_code == 200
    assert not killed.exists() and running.exists()  # a creation still under way is left alone
