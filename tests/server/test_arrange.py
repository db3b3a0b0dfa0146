"""Control over the result through the REST API: tracks, instruments, tempo, key, melody track, regenerate, mixes,
download names; and the studio's edges: odd uploads, unknown pages, dataset builds, recordings in other meters."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from tests.helpers import wait_for

CHORALE = Path("bach") / "jsb_chorales_czhuang" / "midi_derived_satb" / "valid" / "jsb_valid_040.mid"


def fetch_midi(client: TestClient, composition: dict[str, Any], tmp_path: Path, name: str = "out.mid") -> Any:
    response = client.get(composition["urls"]["midi"])
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(response.content)
    return read_midi(path, resolution=12), response


def notes_of(music: Any, role: str) -> list[tuple[int, int, int]]:
    return [n[:3] for n in music.notes(music.roles.index(role))]


def compose(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "seed": 12, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_compose_with_chosen_tracks_instruments_tempo_and_key(client: TestClient, tmp_path: Path) -> None:
    made = compose(client, tracks=["piano", "bass"], programs={"piano": 4}, tempo=90, transpose=2)
    music, response = fetch_midi(client, made, tmp_path)
    assert music.roles == ["melody", "piano", "bass"]  # no drums: not asked for
    assert music.programs[1] == 4 and round(music.tempo) == 90
    tune = melody_to_multitrack(get_melody("twinkle"), 12)
    assert [p for p, _, _ in notes_of(music, "melody")] == [n[0] + 2 for n in tune.notes(0)]  # up a whole tone
    assert 'filename="twinkle-jazz-seed12.mid"' in response.headers["content-disposition"]
    wav = client.get(made["urls"]["wav"])
    assert 'filename="twinkle-jazz-seed12.wav"' in wav.headers["content-disposition"]
    bad = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "tracks": ["tuba"]})
    assert bad.status_code == 400 and "tuba" in bad.json()["detail"]
    loud = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "programs": {"bass": 200}})
    assert loud.status_code == 422 and "programs" in loud.json()["detail"]


def test_regenerate_one_track_or_some_bars_and_keep_the_rest(client: TestClient, tmp_path: Path) -> None:
    first = compose(client)
    before, _ = fetch_midi(client, first, tmp_path, "a.mid")
    drums = client.post(f"/api/compositions/{first['id']}/regenerate", json={"tracks": ["drums"], "seed": 99})
    assert drums.status_code == 201, drums.text
    after, _ = fetch_midi(client, drums.json(), tmp_path, "b.mid")
    for role in ("melody", "piano", "bass"):
        assert notes_of(after, role) == notes_of(before, role), role
    assert notes_of(after, "drums") != notes_of(before, "drums")
    assert drums.json()["melody"] == "twinkle" and drums.json()["id"] != first["id"]

    bars = client.post(f"/api/compositions/{first['id']}/regenerate", json={"tracks": ["piano"], "bars": [2, 2]})
    assert bars.status_code == 201, bars.text
    redone, _ = fetch_midi(client, bars.json(), tmp_path, "c.mid")
    bar = 4 * 12  # twinkle is in 4/4 at 12 steps per beat
    old_piano = before.rolls[before.roles.index("piano")] > 0  # (steps, 128): what sounds when
    new_piano = redone.rolls[redone.roles.index("piano")] > 0
    assert (new_piano[:bar] == old_piano[:bar]).all() and (new_piano[2 * bar :] == old_piano[2 * bar :]).all()
    assert (new_piano[bar : 2 * bar] != old_piano[bar : 2 * bar]).any()
    assert notes_of(redone, "bass") == notes_of(before, "bass")
    backwards = client.post(f"/api/compositions/{first['id']}/regenerate", json={"tracks": ["bass"], "bars": [3, 2]})
    assert backwards.status_code == 400 and "bars" in backwards.json()["detail"]


def test_change_an_instrument_keeps_every_note(client: TestClient, tmp_path: Path) -> None:
    first = compose(client)
    before, _ = fetch_midi(client, first, tmp_path, "a.mid")
    voiced = client.post(f"/api/compositions/{first['id']}/regenerate", json={"programs": {"bass": 33}})
    assert voiced.status_code == 201, voiced.text
    after, _ = fetch_midi(client, voiced.json(), tmp_path, "b.mid")
    assert after.programs[after.roles.index("bass")] == 33
    assert all(notes_of(after, role) == notes_of(before, role) for role in before.roles)
    summary = {t["role"]: t for t in voiced.json()["summary"]["tracks"]}
    assert summary["bass"]["instrument"] == "Electric Bass (finger)"
    none = client.post(f"/api/compositions/{first['id']}/regenerate", json={})
    assert none.status_code == 400 and "tracks to regenerate" in none.json()["detail"]


def test_instruments_of_a_model_and_the_general_midi_list(client: TestClient) -> None:
    choices = client.get("/api/composers/jazz/instruments").json()
    assert [c["role"] for c in choices] == ["piano", "bass", "drums"]
    for choice in choices:
        assert choice["suggested"][0]["program"] == choice["default_program"]
    programs = client.get("/api/instruments").json()
    pitched = [p for p in programs if not p["is_drum"]]
    assert len(pitched) == 128 and pitched[0]["name"] == "Acoustic Grand Piano"
    assert client.get("/api/composers/nobody/instruments").status_code == 404


def test_hear_some_tracks_only(client: TestClient) -> None:
    made = compose(client, wav=True)
    whole = client.get(made["urls"]["wav"]).content
    melody_only = client.get(made["urls"]["wav"], params={"tracks": "0"})
    assert melody_only.status_code == 200 and melody_only.content[:4] == b"RIFF"
    assert melody_only.content != whole and abs(len(melody_only.content) - len(whole)) < len(whole) * 0.2
    assert client.get(made["urls"]["wav"], params={"tracks": "0,9"}).status_code == 404
    assert client.get(made["urls"]["wav"], params={"tracks": "x"}).status_code == 400
    many = ",".join(str(i) for i in range(100))  # a long list made the mix's file name too long: a 500
    assert client.get(made["urls"]["wav"], params={"tracks": many}).status_code == 404
    assert client.get(made["urls"]["wav"], params={"tracks": "9" * 300}).status_code == 404


def test_a_multitrack_upload_lists_its_tracks_and_compose_takes_one(
    client: TestClient, shared_datasets: Path, tmp_path: Path
) -> None:
    data = (shared_datasets / CHORALE).read_bytes()
    uploaded = client.post("/api/melodies/upload", files={"file": ("chorale.mid", data, "audio/midi")})
    assert uploaded.status_code == 201, uploaded.text
    tracks = uploaded.json()["track_list"]
    assert len(tracks) == 4 and sum(t["melody"] for t in tracks) == 1
    assert all(t["notes"] > 0 and t["instrument"] for t in tracks)
    bass = min(tracks, key=lambda t: t["pitch_range"][0])
    made = compose(client, melody=None, melody_id=uploaded.json()["id"], melody_track=bass["index"])
    music, _ = fetch_midi(client, made, tmp_path)
    source = read_midi(shared_datasets / CHORALE, resolution=12)
    assert {p for p, _, _ in notes_of(music, "melody")} == {n[0] for n in source.notes(bass["index"])}
    wrong = client.post(
        "/api/compositions", json={"melody_id": uploaded.json()["id"], "model": "jazz", "melody_track": 17}
    )
    assert wrong.status_code == 400 and "17" in wrong.json()["detail"]


def _midi_with_meter(numerator: int) -> bytes:
    """A type-0 MIDI file: a time signature of ``numerator``/4, then four quarter notes."""
    events = b"\x00\xff\x58\x04" + bytes([numerator, 2, 24, 8]) + b"\x00\xff\x51\x03" + (500000).to_bytes(3, "big")
    for pitch in (60, 62, 64, 65):
        events += bytes([0, 0x90, pitch, 100]) + b"\x60" + bytes([0x80, pitch, 0])
    events += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", len(events)) + events


def test_an_upload_with_a_zero_beat_time_signature_is_answered_cleanly(client: TestClient) -> None:
    """A 0/4 time signature (a crafted file) once raised ZeroDivisionError and dropped the connection: now the
    impossible meter is dropped as the file is read, and the music is read, and composed, in 4/4."""
    good = client.post("/api/melodies/upload", files={"file": ("four.mid", _midi_with_meter(4), "audio/midi")})
    assert good.status_code == 201, good.text
    response = client.post("/api/melodies/upload", files={"file": ("zero.mid", _midi_with_meter(0), "audio/midi")})
    assert response.status_code == 201, response.text
    melody = response.json()
    assert melody["time_signature"] == [4, 4] and melody["bars"] == 1 and melody["notes"] == 4
    composed = client.post("/api/compositions", json={"melody_id": melody["id"], "model": "jazz", "seed": 1})
    assert composed.status_code == 201 and composed.json()["summary"]["bars"] == 1, composed.text


def test_an_unknown_page_is_an_html_page_and_the_api_stays_json(client: TestClient) -> None:
    page = client.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/"' in page.text
    api = client.get("/api/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["detail"]
    plain = client.get("/no-such-page")
    assert plain.status_code == 404 and plain.json()["detail"] == "Not Found"


def test_build_a_dataset_from_the_studio(client: TestClient, shared_datasets: Path) -> None:
    before = {d["genre"]: d for d in client.get("/api/datasets").json()}
    assert before["bach"]["built"] is False
    started = client.post("/api/datasets/bach/build", json={"source": str(shared_datasets), "limit": 4})
    assert started.status_code == 202 and started.json()["status"] == "building", started.text
    build = wait_for(
        lambda: (b := client.get("/api/datasets/bach/build").json())["status"] != "building" and b,
        timeout=120,
        interval=0.3,
        message="the build to end",
    )
    assert build["status"] == "completed" and build["done"] == build["total"] == 4, build
    assert build["dataset"]["built"] and build["dataset"]["windows"]["train"] > 0
    options = {g["value"]: g for g in client.get("/api/training/options").json()["genres"]}
    assert options["bach"]["dataset_built"] is True
    assert client.get("/api/datasets/BACH/build").json()["status"] == "completed"  # any case, as the POST takes it
    missing = client.post("/api/datasets/pop/build", json={"source": str(shared_datasets / "no_such_folder")})
    assert missing.status_code == 400 and "does not exist" in missing.json()["detail"]
    assert client.post("/api/datasets/techno/build", json={}).status_code == 404
    # outside the dataset folders a folder that exists and one that does not get the same answer
    outside = [client.post("/api/datasets/pop/build", json={"source": s}) for s in ("/etc", "/no/such/folder")]
    assert [answer.status_code for answer in outside] == [400, 400]
    details = [answer.json()["detail"].split(" is not inside ")[1] for answer in outside]
    assert details[0] == details[1] and "MUSEFORGE_DATASET_ROOTS" in details[0]
    escape = client.post("/api/datasets/pop/build", json={"source": f"{shared_datasets}/../../../etc"})
    assert escape.status_code == 400 and "is not inside" in escape.json()["detail"]


@pytest.mark.parametrize(("meter", "bar_steps"), [((3, 4), 36), ((6, 8), 36), ((4, 4), 48)])
def test_record_in_other_meters(client: TestClient, meter: tuple[int, int], bar_steps: int) -> None:
    notes = [{"pitch": 60 + i, "start_beat": i * 1.5, "duration_beats": 1.0} for i in range(4)]
    recorded = client.post(
        "/api/melodies/record", json={"tempo": 100, "bars": 2, "time_signature": list(meter), "notes": notes}
    )
    assert recorded.status_code == 201, recorded.text
    melody = recorded.json()
    assert melody["time_signature"] == list(meter) and melody["bars"] == 2
    assert melody["roll"]["downbeats"][:2] == [0, bar_steps]


def test_an_uploads_other_tracks_are_named_and_kept_when_asked(
    client: TestClient, shared_datasets: Path, tmp_path: Path
) -> None:
    data = (shared_datasets / CHORALE).read_bytes()  # soprano, alto, tenor, bass
    uploaded = client.post("/api/melodies/upload", files={"file": ("chorale.mid", data, "audio/midi")}).json()
    source = read_midi(shared_datasets / CHORALE, resolution=12)
    others = [t for t in uploaded["track_list"] if not t["melody"]]
    dropped = compose(client, melody=None, melody_id=uploaded["id"])
    assert dropped["summary"]["other_tracks"] == {"names": [t["name"] for t in others], "kept": False}
    music, _ = fetch_midi(client, dropped, tmp_path)
    assert music.n_tracks == 4  # the melody and the jazz model's piano, bass and drums
    kept = compose(client, melody=None, melody_id=uploaded["id"], keep_tracks=True, transpose=-3)
    assert kept["summary"]["other_tracks"]["kept"] is True
    music, _ = fetch_midi(client, kept, tmp_path, "kept.mid")
    assert music.n_tracks == 4 + len(others)
    for track in others:  # after the model's tracks, as they were, moved with the melody
        index = music.names.index(track["name"], 4)
        assert [(p, s) for p, s, _, _ in music.notes(index)] == [
            (p - 3, s) for p, s, _, _ in source.notes(track["index"])
        ]


def test_the_symphony_woodwinds_are_one_part_played_by_a_section(client: TestClient, tmp_path: Path) -> None:
    """The woodwinds' notes below D3 are a Bassoon's in the downloaded file; the studio shows, mutes and re-voices one
    woodwinds part, and changing the brass's instrument keeps every woodwind note, the Bassoon's included."""
    made = compose(client, melody="amazing_grace", model="symphony", seed=1)
    summary = {t["role"]: t for t in made["summary"]["tracks"]}
    assert summary["woodwinds"]["instrument"] == "Clarinet (Bassoon below D3)"
    roll = client.get(f"/api/compositions/{made['id']}/roll").json()
    assert [t["role"] for t in roll["tracks"]] == ["melody", "strings", "woodwinds", "brass", "timpani"]
    woodwinds = roll["tracks"][2]
    assert woodwinds["program"] == 71 and any(note[0] < 50 for note in woodwinds["notes"])
    response = client.get(made["urls"]["midi"])
    (tmp_path / "file.mid").write_bytes(response.content)
    assert b"Woodwinds (Bassoon)" in response.content  # what a DAW opens: the two instruments
    choices = {c["role"]: c for c in client.get("/api/composers/symphony/instruments").json()}
    assert choices["woodwinds"]["default_name"] == "Clarinet (Bassoon below D3)"
    voiced = client.post(f"/api/compositions/{made['id']}/regenerate", json={"programs": {"brass": 57}})
    assert voiced.status_code == 201, voiced.text
    after = client.get(f"/api/compositions/{voiced.json()['id']}/roll").json()
    assert after["tracks"][3]["program"] == 57

    def timed(track: dict[str, Any], resolution: int) -> list[tuple[int, float, float]]:
        return sorted((n[0], n[1] / resolution, n[2] / resolution) for n in track["notes"])

    assert timed(after["tracks"][2], after["resolution"]) == timed(woodwinds, roll["resolution"])
