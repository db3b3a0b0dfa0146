"""Compositions through the API (with the tiny user model); the concurrent-requests load run is ``bench/load.py``."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from tests.tiny_models import TINY_MODEL


def test_compose_a_sample_and_fetch_every_file(client: TestClient, model_home: Path, tmp_path: Path) -> None:
    listed = {c["name"]: c for c in client.get("/api/composers").json()}
    assert listed[TINY_MODEL]["kind"] == "user"
    response = client.post("/api/compositions", json={"melody": "twinkle", "model": TINY_MODEL, "seed": 11})
    assert response.status_code == 201, response.text
    composition = response.json()
    assert composition["model"] == TINY_MODEL and composition["seed"] == 11 and composition["source"] == "studio"
    assert composition["melody"] == "twinkle"
    assert set(composition["urls"]) == {"midi", "wav", "png", "musicxml", "roll"}
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
        assert composition["melody"] == label and set(composition["urls"]) == {"midi", "musicxml", "roll"}
        assert client.get(f"/api/compositions/{composition['id']}/wav").status_code == 404


def test_unknown_model_is_404_listing_the_available_ones(client: TestClient, model_home: Path) -> None:
    response = client.post("/api/compositions", json={"melody": "twinkle", "model": "no-such-model"})
    assert response.status_code == 404 and TINY_MODEL in response.json()["detail"]
    folder = model_home / "compositions"
    assert not folder.exists() or not any(folder.iterdir())  # nothing written for a refused request


def test_a_cli_composition_recorded_in_the_store_shows_in_the_studio(
    client: TestClient, model_home: Path, tmp_path: Path
) -> None:
    from museforge.pipelines.compose import compose
    from museforge.store import Store

    result = compose("ode_to_joy", TINY_MODEL, seed=2, out_midi=tmp_path / "cli.mid")
    row = Store().record_composition(result, melody="ode_to_joy")
    listed = client.get("/api/compositions").json()
    assert [c["id"] for c in listed] == [row["id"]] and listed[0]["source"] == "cli"
    assert client.get(f"/api/compositions/{row['id']}/midi").content == (tmp_path / "cli.mid").read_bytes()
    roll = client.get(f"/api/compositions/{row['id']}/roll").json()  # read back from the MIDI file
    assert roll["tracks"][0]["role"] == "melody"
