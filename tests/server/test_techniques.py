"""Enhance and Extend through the API, with the shipped models: stored as compositions, chained, refused cleanly."""

from __future__ import annotations

import inspect
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.work import REQUEST_MAX_PASSES
from tests.tiny_models import TINY_MODEL

#: Few iterations and bars keep every request to a second or two on a shared CPU.
FAST_ENHANCE = {"iterations": 8, "seed": 3}
FAST_EXTEND = {"bars": 2, "seed": 5}


def shipped_card(technique: str, name: str) -> dict:
    from museforge.pretrained import list_technique_models

    cards = {c["name"]: c for c in list_technique_models(technique)}
    assert name in cards, f"the shipped {technique} model {name!r} is missing: src/museforge/pretrained/{technique}/"
    return cards[name]


def voices(technique: str = "enhance", name: str = "bach") -> list[str]:
    """The accompaniment roles of a shipped Enhance model (alto, tenor, bass for bach)."""
    return [t["role"] for t in shipped_card(technique, name)["data"]["tracks"]]


def fetch_midi(client: TestClient, composition: dict, tmp_path: Path, name: str) -> Multitrack:
    response = client.get(composition["urls"]["midi"])
    assert response.status_code == 200 and response.headers["content-type"] == "audio/midi"
    path = tmp_path / name
    path.write_bytes(response.content)
    return read_midi(path, resolution=12)


def pitches_and_times(multitrack: Multitrack, role: str) -> list[tuple[int, int, int]]:
    index = multitrack.track_index(role)
    assert index is not None, (role, multitrack.roles)
    return [tuple(n[:3]) for n in multitrack.notes(index)]


def twinkle() -> list[tuple[int, int, int]]:
    return [tuple(n[:3]) for n in melody_to_multitrack(get_melody("twinkle"), 12).notes(0)]


# ------------------------------------------------------------------------------------------ listing
def test_techniques_list_the_shipped_models_and_the_libraries_limits(client: TestClient) -> None:
    from museforge.pipelines import controls, enhance, extend
    from museforge.server import schemas

    listed = {t["name"]: t for t in client.get("/api/techniques").json()}
    assert list(listed) == ["compose", "enhance", "extend"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/techniques", "/api/enhancements", "/api/extensions"} <= set(paths)
    assert [listed[t]["endpoint"] for t in listed] == ["/api/compositions", "/api/enhancements", "/api/extensions"]
    assert {m["name"] for m in listed["compose"]["models"]} >= {"bach", "jazz"}
    enhancers = {m["name"]: m for m in listed["enhance"]["models"]}
    assert enhancers["bach"]["kind"] == "pretrained" and enhancers["bach"]["architecture"] == "arcnn"
    assert enhancers["bach"]["tracks"] == ["melody", *voices()]
    assert "melody" in {m["name"] for m in listed["extend"]["models"]}
    # the defaults and limits the page and the schema use are the library's
    enhance_defaults = inspect.signature(enhance.enhance).parameters
    extend_defaults = inspect.signature(extend.extend).parameters
    assert listed["enhance"]["default_model"] == enhance_defaults["model"].default
    assert listed["extend"]["default_model"] == extend_defaults["model"].default
    for field, spec in listed["enhance"]["fields"].items():
        assert spec["default"] == enhance_defaults[field].default, field
    for field, spec in listed["extend"]["fields"].items():
        assert spec["default"] == extend_defaults[field].default, field
    assert schemas.ENHANCE_ITERATIONS_RANGE[1] == controls.MAX_ITERATIONS
    assert schemas.TEMPERATURE_RANGE[1] == controls.MAX_TEMPERATURE
    assert schemas.EXTEND_BARS_RANGE[1] == extend.MAX_NEW_BARS
    enhance.check_controls(
        schemas.ENHANCE_ITERATIONS_RANGE[1], schemas.MAX_ADD_RANGE[1], schemas.MAX_REMOVE_RANGE[1], 10.0
    )  # the schema's extremes pass the library's checks
    extend.check_controls(schemas.EXTEND_BARS_RANGE[1], 10.0, schemas.TOP_K_RANGE[1])


# ------------------------------------------------------------------------------------------ enhance
def test_enhance_a_sample_keeps_the_melody_and_writes_the_models_voices(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/api/enhancements", json={"melody": "twinkle", **FAST_ENHANCE})
    assert response.status_code == 201, response.text
    enhanced = response.json()
    assert enhanced["technique"] == "enhance" and enhanced["model"] == "bach" and enhanced["seed"] == 3
    assert enhanced["melody"] == "twinkle" and enhanced["source"] == "studio"
    assert set(enhanced["urls"]) == {"midi", "wav", "png", "musicxml", "roll"}
    assert enhanced["summary"]["iterations"] == 8 and enhanced["summary"]["rewritten_tracks"] == voices()
    assert enhanced["summary"]["parallels"] == "forbid"  # the chorale model's part-writing rule, by default
    written = fetch_midi(client, enhanced, tmp_path, "enhanced.mid")
    assert pitches_and_times(written, "melody") == twinkle()  # the tune, unchanged
    for role in voices():
        assert pitches_and_times(written, role), f"the {role} has no notes"
    assert written.n_steps == 4 * 4 * 12
    assert [t["role"] for t in enhanced["roll"]["tracks"]] == ["melody", *voices()]
    wav = client.get(enhanced["urls"]["wav"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert client.get(enhanced["urls"]["png"]).content.startswith(b"\x89PNG")
    # the same seed gives the same music
    again = client.post("/api/enhancements", json={"melody": "twinkle", **FAST_ENHANCE, "wav": False, "png": False})
    assert again.json()["roll"] == enhanced["roll"] and set(again.json()["urls"]) == {"midi", "musicxml", "roll"}
    free = client.post("/api/enhancements", json={"melody": "twinkle", **FAST_ENHANCE, "parallels": "allow"})
    assert free.status_code == 201 and free.json()["summary"]["parallels"] == "allow", free.text


def test_generate_then_enhance_rewrites_the_accompaniment(client: TestClient, tmp_path: Path) -> None:
    composed = client.post("/api/compositions", json={"melody": "twinkle", "model": "bach", "seed": 1}).json()
    assert composed["technique"] == "compose"
    before = fetch_midi(client, composed, tmp_path, "composed.mid")
    body = {"composition_id": composed["id"], **FAST_ENHANCE, "wav": False, "png": False}
    response = client.post("/api/enhancements", json=body)
    assert response.status_code == 201, response.text
    enhanced = response.json()
    assert enhanced["melody"] == "composed:twinkle" and enhanced["summary"]["notes_in"] > len(twinkle())
    after = fetch_midi(client, enhanced, tmp_path, "enhanced.mid")
    assert pitches_and_times(after, "melody") == twinkle()
    assert [after.roles[i] for i in range(after.n_tracks)] == ["melody", *voices()]
    assert any(pitches_and_times(after, r) != pitches_and_times(before, r) for r in voices())  # rewritten
    # only the alto over bars 2-3: the other voices and the alto's other bars stay as the GAN wrote them
    alto, *others = voices()
    body = {"composition_id": composed["id"], **FAST_ENHANCE, "tracks": [alto], "bars": [2, 3], "wav": False}
    partial = client.post("/api/enhancements", json=body)
    assert partial.status_code == 201, partial.text
    assert partial.json()["summary"]["rewritten_tracks"] == [alto]
    inpainted = fetch_midi(client, partial.json(), tmp_path, "inpainted.mid")
    for role in others:
        assert pitches_and_times(inpainted, role) == pitches_and_times(before, role), role
    bar = 4 * 12

    def outside(notes: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
        """The alto's sounding (pitch, step) cells outside bars 2-3 (a note held into them is cut at the bar line)."""
        return {(p, t) for p, start, end in notes for t in range(start, end) if t < bar or t >= 3 * bar}

    assert outside(pitches_and_times(inpainted, alto)) == outside(pitches_and_times(before, alto))


# ------------------------------------------------------------------------------------------ extend
def test_extend_a_sample_adds_the_bars_after_the_melody(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/api/extensions", json={"melody": "twinkle", **FAST_EXTEND})
    assert response.status_code == 201, response.text
    extended = response.json()
    assert extended["technique"] == "extend" and extended["model"] == "melody" and extended["seed"] == 5
    summary = extended["summary"]
    assert (summary["bars_in"], summary["bars_added"], summary["bars"]) == (4, 2, 6)
    written = fetch_midi(client, extended, tmp_path, "extended.mid")
    bar = 4 * 12
    assert written.n_steps == 6 * bar and written.meter == (4, 4)  # longer by exactly the bars asked for
    notes = pitches_and_times(written, "melody")
    assert notes[: len(twinkle())] == twinkle()  # it starts with the tune, unchanged
    added = notes[len(twinkle()) :]
    assert added and all(4 * bar <= start < end <= 6 * bar for _, start, end in added)
    assert summary["notes_added"] == len(added)
    assert written.tempo == pytest.approx(get_melody("twinkle").tempo, abs=0.01)


def test_extend_then_generate_gives_a_longer_piece_with_accompaniment(client: TestClient, tmp_path: Path) -> None:
    extended = client.post("/api/extensions", json={"melody": "twinkle", **FAST_EXTEND, "wav": False}).json()
    longer = pitches_and_times(fetch_midi(client, extended, tmp_path, "extended.mid"), "melody")
    body = {"composition_id": extended["id"], "model": "bach", "seed": 2, "wav": False, "png": False}
    response = client.post("/api/compositions", json=body)
    assert response.status_code == 201, response.text
    composed = response.json()
    assert composed["technique"] == "compose" and composed["melody"] == "extended:twinkle"
    written = fetch_midi(client, composed, tmp_path, "composed.mid")
    assert written.n_steps == 6 * 4 * 12 > melody_to_multitrack(get_melody("twinkle"), 12).n_steps
    assert pitches_and_times(written, "melody") == longer
    accompaniment = [i for i in range(written.n_tracks) if written.roles[i] != "melody"]
    assert accompaniment and any(written.notes(i) for i in accompaniment)
    # and Enhance works on an extension too: voices under the longer melody
    enhanced = client.post("/api/enhancements", json={"composition_id": extended["id"], **FAST_ENHANCE, "wav": False})
    assert enhanced.status_code == 201, enhanced.text
    assert pitches_and_times(fetch_midi(client, enhanced.json(), tmp_path, "e.mid"), "melody") == longer


def test_techniques_take_uploaded_and_recorded_melodies(client: TestClient) -> None:
    notes = [{"pitch": p, "start_beat": i, "duration_beats": 1} for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
    recorded = client.post("/api/melodies/record", json={"tempo": 100, "bars": 2, "notes": notes}).json()
    common = {"melody_id": recorded["id"], "wav": False, "png": False}
    enhanced = client.post("/api/enhancements", json={**common, **FAST_ENHANCE})
    extended = client.post("/api/extensions", json={**common, **FAST_EXTEND})
    assert enhanced.status_code == extended.status_code == 201, (enhanced.text, extended.text)
    assert enhanced.json()["melody"] == extended.json()["melody"] == "recorded:Recorded melody"
    assert extended.json()["summary"]["bars"] == 4


# ------------------------------------------------------------------------------------------ stored results
def test_stored_results_are_listed_shown_and_downloaded(client: TestClient, tmp_path: Path) -> None:
    enhanced = client.post("/api/enhancements", json={"melody": "twinkle", **FAST_ENHANCE, "wav": False}).json()
    extended = client.post("/api/extensions", json={"melody": "twinkle", **FAST_EXTEND, "png": False}).json()
    listed = client.get("/api/compositions").json()
    assert [(c["id"], c["technique"]) for c in listed] == [(extended["id"], "extend"), (enhanced["id"], "enhance")]
    assert [c["id"] for c in client.get("/api/compositions", params={"technique": "enhance"}).json()] == [
        enhanced["id"]
    ]
    assert client.get("/api/compositions", params={"technique": "compose"}).json() == []
    bad = client.get("/api/compositions", params={"technique": "remix"})
    assert bad.status_code == 400 and "unknown technique" in bad.json()["detail"]
    shown = client.get(f"/api/compositions/{extended['id']}").json()
    assert shown["technique"] == "extend" and shown["summary"]["bars_added"] == 2
    assert set(shown["urls"]) == {"midi", "wav", "musicxml", "roll"}
    assert client.get(shown["urls"]["roll"]).json() == extended["roll"]
    midi = client.get(enhanced["urls"]["midi"])
    assert (
        "attachment" in midi.headers["content-disposition"] and "enhanced-bach" in midi.headers["content-disposition"]
    )
    assert client.get(f"/api/compositions/{enhanced['id']}/wav").status_code == 404  # not asked for
    folders = sorted(p.name for p in (Path(shown["summary"]["midi"]).parents[1]).iterdir())
    assert folders == sorted([enhanced["id"], extended["id"]])


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("path", "body", "code", "expected"),
    [
        ("/api/enhancements", {"iterations": 0}, 422, "iterations"),
        ("/api/enhancements", {"iterations": 5000}, 422, "iterations"),
        ("/api/enhancements", {"max_add": -1}, 422, "max_add"),
        ("/api/enhancements", {"max_remove": 1.5}, 422, "max_remove"),
        ("/api/enhancements", {"temperature": 0}, 422, "temperature"),
        ("/api/enhancements", {"temperature": 11}, 422, "temperature"),
        ("/api/enhancements", {"seed": -1}, 422, "seed"),
        ("/api/enhancements", {"bars": [0, 2]}, 422, "bars"),
        ("/api/enhancements", {"bars": [3, 2]}, 400, "comes after"),
        ("/api/enhancements", {"bars": [3, 9]}, 400, "outside the music's bars 1-4"),
        ("/api/enhancements", {"tracks": ["drums"]}, 400, "no track 'drums'"),
        ("/api/enhancements", {"surprise": 1}, 422, "surprise"),
        ("/api/enhancements", {"parallels": "sometimes"}, 422, "parallels"),
        ("/api/enhancements", {"model": "no-such-model"}, 404, "available: bach"),
        ("/api/enhancements", {"model": "../bach"}, 400, "invalid model name"),
        ("/api/enhancements", {"model": "melody"}, 404, "no enhance model"),  # Extend's model is not an enhancer
        ("/api/extensions", {"bars": 0}, 422, "bars"),
        ("/api/extensions", {"bars": 65}, 422, "bars"),
        ("/api/extensions", {"top_k": -1}, 422, "top_k"),
        ("/api/extensions", {"temperature": -0.5}, 422, "temperature"),
        ("/api/extensions", {"model": "bach"}, 404, "available: melody"),
        ("/api/extensions", {"model": "no-such-model"}, 404, "no extend model"),
    ],
)
def test_bad_controls_and_models_are_refused(
    client: TestClient, museforge_home: Path, path: str, body: dict, code: int, expected: str
) -> None:
    fast = {"iterations": 8} if path == "/api/enhancements" else {"bars": 2}
    response = client.post(path, json={"melody": "twinkle", "wav": False, **fast, **body})
    assert response.status_code == code, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and expected in detail, detail
    folder = museforge_home / "compositions"
    assert not folder.exists() or not any(folder.iterdir())  # nothing written for a refused request
    assert client.get("/api/compositions").json() == []


@pytest.mark.parametrize("path", ["/api/enhancements", "/api/extensions"])
def test_unknown_or_ambiguous_melodies_are_refused(client: TestClient, path: str) -> None:
    def post(body: dict) -> tuple[int, str]:
        response = client.post(path, json={**body, "wav": False})
        return response.status_code, response.json()["detail"]

    code, detail = post({"melody": "no-such-tune"})
    assert code == 404 and "no sample melody" in detail and "twinkle" in detail
    assert post({"melody_id": "b" * 32}) == (404, f"no uploaded or recorded melody {'b' * 32}")
    assert post({"composition_id": "c" * 32}) == (404, f"no composition {'c' * 32}")
    code, detail = post({"composition_id": "../../etc/passwd"})
    assert code == 404 and "32 hex digits" in detail
    for body in ({}, {"melody": "twinkle", "composition_id": "c" * 32}):
        code, detail = post(body)
        assert code == 400 and "exactly one" in detail
    assert client.get("/api/compositions").json() == []


def test_a_user_model_of_another_architecture_is_refused(client: TestClient, model_home: Path) -> None:
    response = client.post("/api/enhancements", json={"melody": "twinkle", "model": TINY_MODEL, "iterations": 8})
    assert response.status_code == 400 and "enhance needs an arcnn model" in response.json()["detail"]
    response = client.post("/api/extensions", json={"melody": "twinkle", "model": TINY_MODEL})
    assert response.status_code == 400 and "transformer" in response.json()["detail"]
    # a GAN is listed for compose only
    listed = {t["name"]: [m["name"] for m in t["models"]] for t in client.get("/api/techniques").json()}
    assert TINY_MODEL in listed["compose"] and TINY_MODEL not in listed["enhance"] + listed["extend"]


@pytest.mark.slow
def test_techniques_wait_for_a_free_generation_slot(client: TestClient) -> None:
    slots = client.app.state.compose_slots
    taken = [slots.acquire(blocking=False) for _ in range(client.app.state.settings.compose_workers)]
    assert all(taken)
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            client.post("/api/extensions", json={"melody": "twinkle", **FAST_EXTEND, "wav": False}).status_code
        )
    )
    worker.start()
    time.sleep(1.0)
    assert answers == []  # every slot is busy: it waits
    for _ in taken:
        slots.release()
    worker.join(timeout=120)
    assert answers == [201]


def test_generate_with_a_rewrite_pass_and_refuse_one_for_a_genre_without_an_enhance_model(client: TestClient) -> None:
    revised = client.post("/api/compositions", json={"melody": "twinkle", "model": "bach", "seed": 2, "rewrite": 4})
    assert revised.status_code == 201, revised.text
    assert revised.json()["summary"]["rewrite"] == 4
    roles = [t["role"] for t in revised.json()["roll"]["tracks"]]
    assert roles == ["melody", *voices()]
    refused = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "rewrite": 4})
    assert refused.status_code == 400 and "no Enhance model ships for 'jazz'" in refused.json()["detail"]
    assert (
        client.post("/api/compositions", json={"melody": "twinkle", "model": "bach", "rewrite": -1}).status_code == 422
    )


def test_a_rewrite_past_the_request_work_limit_is_refused_at_once_and_what_fits_is_said(
    client: TestClient, tmp_path: Path
) -> None:
    # the audit: Enhance on a 512-bar melody took 261 s at the default 32 iterations, holding a compose slot
    ode = melody_to_multitrack(get_melody("ode_to_joy"), 12)
    long = tmp_path / "long.mid"
    times = 512 // ode.n_bars
    notes = [(p, s + k * ode.n_steps, e + k * ode.n_steps, v) for k in range(times) for p, s, e, v in ode.notes(0)]
    write_midi(ode.with_tracks([TrackNotes("Piano", "melody", 0, False, notes)], n_steps=times * ode.n_steps), long)
    uploaded = client.post("/api/melodies/upload", files={"file": ("long.mid", long.read_bytes(), "audio/midi")})
    assert uploaded.status_code == 201, uploaded.text
    body = {"melody_id": uploaded.json()["id"], "iterations": 32, "seed": 1, "wav": False, "png": False}
    refused = client.post("/api/enhancements", json=body)
    assert refused.status_code == 400, refused.text
    windows, limit = int(refused.json()["detail"].split()[1]), REQUEST_MAX_PASSES
    assert refused.json()["detail"] == (
        f"rewriting {windows} windows x 32 iterations is {windows * 32:,} window passes, over the limit of "
        f"{limit:,} here: ask for at most {limit // windows} iteration{'s' if limit // windows > 1 else ''}, or "
        "rewrite fewer bars"
    )
    compose = {"melody_id": uploaded.json()["id"], "model": "bach", "rewrite": 32, "seed": 1}
    assert client.post("/api/compositions", json=compose).status_code == 400
    few = client.post("/api/enhancements", json={**body, "iterations": limit // windows, "bars": [1, 8]})
    assert few.status_code == 201, few.text
