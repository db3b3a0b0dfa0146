"""The REST API without training: health, melodies (samples, uploads, recordings), models, bad input, docs."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from museforge.music.file_kinds import ACCEPTED
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from tests.tiny_models import TINY_MODEL


def real_midi(shared_datasets: Path) -> Path:
    """A real pop song (POP909 #472: melody, bridge and piano tracks)."""
    return shared_datasets / "pop" / "pop909" / "POP909" / "472" / "472.mid"


# ------------------------------------------------------------------------------------------ health and pages
def test_health_reports_store_and_jobs(client: TestClient, museforge_home: Path) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["data_dir"] == str(museforge_home.resolve())
    assert health["store"] == "wal"
    assert health["jobs"] == {"queued": 0, "training": 0} and health["max_jobs"] == 1


def test_pages_and_offline_docs_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/js/studio.js" in page.text
    assert client.get("/models").status_code == 200
    assert client.get("/static/js/common.js").status_code == 200
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text, "the studio runs offline: Swagger UI must come from the swagger-ui-bundle package"
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/models/{name}", "/api/jobs/{job_id}/events", "/api/compositions"} <= set(spec["paths"])


# ------------------------------------------------------------------------------------------ melodies
def test_sample_melodies_with_piano_roll(client: TestClient) -> None:
    samples = client.get("/api/melodies").json()
    names = [s["name"] for s in samples]
    assert "twinkle" in names and "ode_to_joy" in names
    twinkle = client.get("/api/melodies/twinkle").json()
    assert twinkle["bars"] == 4 and twinkle["time_signature"] == [4, 4]
    roll = twinkle["roll"]
    assert roll["resolution"] == 12 and roll["n_steps"] == 4 * 4 * 12
    (track,) = roll["tracks"]
    assert track["role"] == "melody" and track["color"] == "#d62728"
    assert [n[0] for n in track["notes"][:4]] == [60, 60, 67, 67]  # C C G G
    assert track["notes"][0][1:3] == [0, 12]  # one beat
    missing = client.get("/api/melodies/nope")
    assert missing.status_code == 404 and "twinkle" in missing.json()["detail"]


def test_upload_a_real_midi_melody(client: TestClient, shared_datasets: Path) -> None:
    data = real_midi(shared_datasets).read_bytes()
    response = client.post("/api/melodies/upload", files={"file": ("../../472.mid", data, "audio/midi")})
    assert response.status_code == 201, response.text
    melody = response.json()
    assert melody["kind"] == "upload" and melody["name"] == "472.mid"  # no folders kept from the client's name
    assert melody["tracks"] >= 2 and melody["bars"] > 10
    assert {t["role"] for t in melody["roll"]["tracks"]} >= {"melody"}
    listed = client.get("/api/melodies/user").json()
    assert [m["id"] for m in listed] == [melody["id"]]
    again = client.get(f"/api/melodies/user/{melody['id']}").json()
    assert again["roll"]["n_steps"] == melody["roll"]["n_steps"]


def test_upload_rejects_bad_files(client: TestClient, shared_datasets: Path, tmp_path: Path) -> None:
    def upload(data: bytes, name: str = "x.mid") -> tuple[int, str]:
        response = client.post("/api/melodies/upload", files={"file": (name, data, "audio/midi")})
        return response.status_code, response.json()["detail"]

    assert upload(b"") == (400, "the uploaded file is empty")
    code, detail = upload(b"%PDF-1.4 not music")
    assert (code, detail) == (400, f"x.mid is a PDF document, not MIDI: {ACCEPTED}")
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:  # a real WAV file, as a user records a tune
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(800))
    assert upload(wav.getvalue(), "tune.wav") == (400, f"tune.wav is a RIFF file (WAV audio), not MIDI: {ACCEPTED}")
    code, detail = upload(real_midi(shared_datasets).read_bytes()[:60])
    assert code == 400 and "not a readable MIDI file" in detail
    code, detail = upload(b"MThd" + b"\0" * 1_100_000)
    assert code == 413 and "1 MB" in detail
    drums = Multitrack.from_notes([TrackNotes("Drums", "drums", 0, True, [(36, 0, 6, 100), (38, 12, 18, 100)])], 12)
    write_midi(drums, tmp_path / "drums.mid")
    code, detail = upload((tmp_path / "drums.mid").read_bytes())
    assert code == 400 and "no pitched notes" in detail
    assert client.get("/api/melodies/user").json() == []  # nothing bad was kept


def test_upload_without_a_file_is_a_clear_422(client: TestClient) -> None:
    response = client.post("/api/melodies/upload")
    assert response.status_code == 422 and "file" in response.json()["detail"]


def test_recorded_melody_is_snapped_and_kept_as_midi(client: TestClient, museforge_home: Path) -> None:
    notes = [
        {"pitch": 60, "start_beat": 0.02, "duration_beats": 0.97},  # C4, a slightly early/late quarter
        {"pitch": 64, "start_beat": 1.1, "duration_beats": 0.4},  # E4, snaps to 1.0 - 1.5
        {"pitch": 67, "start_beat": 2.0, "duration_beats": 0.01},  # G4, a tap: one sixteenth at least
        {"pitch": 72, "start_beat": 9.0, "duration_beats": 1.0},  # after the 2 bars: dropped
    ]
    response = client.post("/api/melodies/record", json={"tempo": 90, "bars": 2, "notes": notes})
    assert response.status_code == 201, response.text
    melody = response.json()
    assert melody["kind"] == "recorded" and melody["bars"] == 2 and melody["tempo"] == 90
    (track,) = melody["roll"]["tracks"]
    assert track["notes"] == [[60, 0, 12, 100], [64, 12, 18, 100], [67, 24, 27, 100]]
    written = read_midi(museforge_home / "melodies" / f"{melody['id']}.mid", resolution=12)
    assert written.notes(0) == [(60, 0, 12, 100), (64, 12, 18, 100), (67, 24, 27, 100)]
    assert written.tempo == pytest.approx(90, abs=0.01) and written.roles == ["melody"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"tempo": 90, "notes": []}, "notes"),
        ({"tempo": 90, "notes": [{"pitch": 200, "start_beat": 0, "duration_beats": 1}]}, "pitch"),
        ({"tempo": 5, "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 1}]}, "tempo"),
        ({"tempo": 90, "notes": [{"pitch": 60, "start_beat": -1, "duration_beats": 1}]}, "start_beat"),
        ({"tempo": 90, "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 0}]}, "duration_beats"),
        ({"tempo": 90, "bars": 0, "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 1}]}, "bars"),
        ({"tempo": 90, "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 1, "x": 1}]}, "x"),
    ],
)
def test_bad_recordings_get_422_naming_the_field(client: TestClient, body: dict, expected: str) -> None:
    response = client.post("/api/melodies/record", json=body)
    assert response.status_code == 422
    assert expected in response.json()["detail"]


def test_recording_entirely_after_its_bars_is_refused(client: TestClient) -> None:
    body = {"tempo": 90, "bars": 1, "notes": [{"pitch": 60, "start_beat": 6, "duration_beats": 1}]}
    response = client.post("/api/melodies/record", json=body)
    assert response.status_code == 400 and "after the recording's 1 bars" in response.json()["detail"]


# ------------------------------------------------------------------------------------------ models
def test_cli_trained_model_is_listed_shown_and_deleted(client: TestClient, model_home: Path) -> None:
    models = client.get("/api/models").json()
    assert [m["name"] for m in models] == [TINY_MODEL]
    assert models[0]["status"] == "completed" and models[0]["latest_job"] is None
    detail = client.get(f"/api/models/{TINY_MODEL}").json()
    assert detail["architecture"] == "unet" and detail["genre"] == "bach"
    assert detail["hyperparameters"]["model_config"]["base_channels"] == 4
    (record,) = detail["epochs"]
    assert {"generator_loss", "discriminator_loss", "metrics"} <= set(record)
    assert detail["latest_sample"] == f"/api/models/{TINY_MODEL}/samples/epoch_001.png"
    png = client.get(detail["latest_sample"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(f"/api/models/{TINY_MODEL}/samples/latest.png").content == png.content
    midi = client.get(f"/api/models/{TINY_MODEL}/samples/epoch_001.mid")
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")
    deleted = client.delete(f"/api/models/{TINY_MODEL}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": TINY_MODEL}
    assert not (model_home / "models" / TINY_MODEL).exists()
    assert client.get("/api/models").json() == []
    assert client.get(f"/api/models/{TINY_MODEL}").status_code == 404
    assert client.delete(f"/api/models/{TINY_MODEL}").status_code == 404


def test_training_options_show_defaults_and_ranges(client: TestClient) -> None:
    options = client.get("/api/training/options").json()
    # the GANs, then Enhance's AR-CNN and Extend's Transformer (museforge.training.config.ARCHITECTURES)
    assert [a["value"] for a in options["architectures"]] == ["musegan", "unet", "arcnn", "transformer"]
    genres = {g["value"]: g for g in options["genres"]}
    assert genres["bach"]["architecture"] == "unet" and genres["jazz"]["architecture"] == "musegan"
    assert genres["bach"]["dataset_built"] is False
    fields = options["fields"]
    assert fields["epochs"]["min"] == 1 and fields["epochs"]["max"] >= fields["epochs"]["default"]
    assert fields["learning_rate"]["min"] < fields["learning_rate"]["default"] < fields["learning_rate"]["max"]
    assert fields["update_ratio"]["default"] == 5
    assert fields["loss"]["default"] in [loss["value"] for loss in options["losses"]]


# ------------------------------------------------------------------------------------------ bad requests
TRAVERSALS = ["..", "../etc", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a.b", "%2E%2E", "x" * 65]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_names_and_ids_never_reach_the_file_system(client: TestClient, model_home: Path, name: str) -> None:
    urls = [
        ("GET", f"/api/models/{name}"),
        ("DELETE", f"/api/models/{name}"),
        ("GET", f"/api/models/{name}/samples/latest.png"),
        ("GET", f"/api/models/{TINY_MODEL}/samples/{name}"),
        ("GET", f"/api/jobs/{name}"),
        ("GET", f"/api/jobs/{name}/events"),
        ("POST", f"/api/jobs/{name}/stop"),
        ("POST", f"/api/jobs/{name}/resume"),
        ("GET", f"/api/compositions/{name}"),
        ("GET", f"/api/compositions/{name}/midi"),
        ("GET", f"/api/melodies/user/{name}"),
        ("GET", f"/api/melodies/{name}"),
    ]
    for method, url in urls:
        if url.endswith("/.."):  # the HTTP client itself resolves a trailing "/.." to the parent URL
            continue
        response = client.request(method, url)
        assert 400 <= response.status_code < 500, (method, url, response.status_code)
        assert isinstance(response.json()["detail"], str)
    assert (model_home / "models" / TINY_MODEL / "model.json").is_file()  # the DELETEs removed nothing


def test_absolute_and_relative_paths_in_bodies_are_refused(client: TestClient, model_home: Path) -> None:
    for name in ["/etc/passwd", "../tiny-bach", "models/tiny-bach"]:
        job = client.post("/api/jobs", json={"name": name, "genre": "bach"})
        assert job.status_code == 400 and "invalid model name" in job.json()["detail"]
        composed = client.post("/api/compositions", json={"melody": "twinkle", "model": name})
        assert composed.status_code in (400, 404), composed.text
        melody = client.post("/api/compositions", json={"melody": name, "model": TINY_MODEL})
        assert melody.status_code == 404 and "no sample melody" in melody.json()["detail"]
    bad_id = client.post("/api/compositions", json={"melody_id": "../../etc/passwd", "model": TINY_MODEL})
    assert bad_id.status_code == 404 and "32 hex digits" in bad_id.json()["detail"]


@pytest.mark.parametrize(
    ("body", "code", "expected"),
    [
        ({"name": "m", "genre": "bach", "epochs": 100000}, 422, "epochs"),
        ({"name": "m", "genre": "bach", "learning_rate": 5}, 422, "learning_rate"),
        ({"name": "m", "genre": "bach", "update_ratio": 0}, 422, "update_ratio"),
        ({"name": "m", "genre": "bach", "voice_leading": -1}, 422, "voice_leading"),
        ({"name": "m", "genre": "pop", "architecture": "arcnn", "voice_leading": 1}, 400, "--voice-leading"),
        ({"name": "m", "genre": "pop", "clusters": -0.5}, 422, "clusters"),
        ({"name": "m", "genre": "pop", "architecture": "arcnn", "clusters": 1}, 400, "--clusters"),
        ({"name": "m", "genre": "rock", "drum_profile": -2}, 422, "drum_profile"),
        ({"name": "m", "genre": "rock", "architecture": "arcnn", "drum_profile": 1}, 400, "--drum-profile"),
        ({"name": "m", "genre": "bach", "ema": 1.0}, 422, "ema"),
        ({"name": "m", "genre": "pop", "architecture": "arcnn", "ema": 0.99}, 400, "--ema"),
        ({"name": "m", "genre": "bach", "critic_sees": "cells"}, 422, "critic_sees"),
        ({"name": "m", "genre": "pop", "architecture": "arcnn", "critic_sees": "notes"}, 400, "--critic-sees"),
        ({"name": "m", "genre": "techno"}, 400, "unknown genre"),
        ({"name": "m", "genre": "bach", "loss": "mse"}, 400, "--loss"),
        ({"name": "m", "genre": "bach", "architecture": "gpt"}, 400, "--model"),
        ({"name": "m", "genre": "bach", "model_config": {"a": [1]}}, 422, "model_config"),
        ({"name": "m", "genre": "bach", "surprise": 1}, 422, "surprise"),
        ({"genre": "bach"}, 422, "name"),
        ([1, 2], 422, "invalid request"),
    ],
)
def test_bad_training_requests(client: TestClient, body: object, code: int, expected: str) -> None:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == code, response.text
    assert expected in response.json()["detail"]
    assert client.get("/api/jobs").json() == []


def test_training_an_existing_model_name_conflicts(client: TestClient, model_home: Path) -> None:
    response = client.post("/api/jobs", json={"name": TINY_MODEL, "genre": "bach"})
    assert response.status_code == 409 and "already exists" in response.json()["detail"]


def test_malformed_json_and_wrong_methods(client: TestClient) -> None:
    response = client.post("/api/compositions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"].startswith("invalid request")
    assert client.put("/api/models").status_code == 405
    assert client.get("/api/nothing-here").status_code == 404


def test_compose_request_needs_exactly_one_melody(client: TestClient, model_home: Path) -> None:
    both = client.post("/api/compositions", json={"melody": "twinkle", "melody_id": "a" * 32, "model": TINY_MODEL})
    assert both.status_code == 400 and "exactly one" in both.json()["detail"]
    neither = client.post("/api/compositions", json={"model": TINY_MODEL})
    assert neither.status_code == 400 and "exactly one" in neither.json()["detail"]
    unknown = client.post("/api/compositions", json={"melody_id": "b" * 32, "model": TINY_MODEL})
    assert unknown.status_code == 404 and "no uploaded or recorded melody" in unknown.json()["detail"]
    seed = client.post("/api/compositions", json={"melody": "twinkle", "model": TINY_MODEL, "seed": -1})
    assert seed.status_code == 422 and "seed" in seed.json()["detail"]
