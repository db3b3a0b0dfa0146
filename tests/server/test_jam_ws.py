"""The jam's WebSocket (``/api/jam``) with the pretrained jazz and pop bands: the messages, the errors that leave the
jam going, late and old bars, the limits, the guard, and a saved jam that the studio continues like any composition.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from museforge.music.midi import read_midi
from museforge.server.app import create_app
from museforge.server.settings import Settings

URL = "ws://localhost/api/jam"
#: The player's notes in each bar of 3/4: (pitch, start_beat, duration_beats, velocity).
TUNE = [[[60, 0.0, 1.0, 90], [64, 1.0, 1.0, 90], [67, 2.0, 0.75, 90]], [[65, 0.0, 2.0, 80], [62, 2.0, 1.0, 80]]]
#: A note played just after the page sent bar 1, a quarter beat before bar 2: it goes with bar 2 as a pickup.
PICKUP = [[72, -0.25, 0.25, 100]]


@contextmanager
def studio(**settings: Any) -> Iterator[TestClient]:
    """A client of a fresh app over this test's data home with these settings."""
    app = create_app(settings=Settings.from_env(None, **settings))
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def start(ws: Any, model: str = "jazz", **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    ws.send_json({"type": "start", "model": model, "numerator": 3, "denominator": 4, "seed": 1, **fields})
    ready, first = ws.receive_json(), ws.receive_json()
    assert ready["type"] == "ready", ready
    assert first["type"] == "accompaniment" and first["bar"] == 0, first
    return ready, first


def play(ws: Any, bar: int, notes: list[list[float]]) -> dict[str, Any]:
    ws.send_json({"type": "bar", "bar": bar, "notes": notes})
    return ws.receive_json()


def saved_midi(client: TestClient, composition: dict[str, Any], tmp_path: Path) -> Any:
    response = client.get(composition["urls"]["midi"])
    assert response.status_code == 200
    path = tmp_path / "jam.mid"
    path.write_bytes(response.content)
    return read_midi(path, resolution=12)


def test_a_jam_is_played_bar_by_bar_saved_and_continued(client: TestClient, tmp_path: Path) -> None:
    with client.websocket_connect(URL) as ws:
        ready, first = start(ws)
        assert ready["beats_per_bar"] == 3.0 and ready["bar"] == 0
        roles = [track["role"] for track in ready["tracks"]]
        assert "bass" in roles and all({"name", "program", "is_drum"} <= set(t) for t in ready["tracks"])
        band = {0: first["notes"]}
        for bar in range(4):
            answer = play(ws, bar, TUNE[bar % 2] + (PICKUP if bar == 2 else []))
            assert answer["type"] == "accompaniment" and answer["bar"] == bar + 1, answer
            assert 0 <= answer["server_ms"] < 60_000
            for track, pitch, beat, length, velocity, tied in answer["notes"]:
                assert 0 <= track < len(roles) and 0 <= pitch <= 127 and 1 <= velocity <= 127 and tied in (0, 1)
                assert 0 <= beat < 3 and length > 0
            band[bar + 1] = answer["notes"]
        ws.send_json({"type": "save", "name": "Waltz\nfor me", "tempo": 90, "tempos": [[2, 120]], "wav": False})
        saved = ws.receive_json()
        assert saved["type"] == "saved", saved
        ws.send_json({"type": "stop"})
        assert ws.receive_json() == {"type": "stopped", "bar": 4}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1000

    composition = saved["composition"]
    assert composition["technique"] == "compose" and composition["melody"] == "jammed:Waltz for me"
    assert composition["model"] == "jazz" and composition["seed"] == 1 and composition["source"] == "studio"
    summary = composition["summary"]
    assert summary["jam"] is True and summary["bars"] == 4 and summary["meter"] == "3/4" and summary["tempo"] == 90
    assert client.get(f"/api/compositions/{composition['id']}").json()["id"] == composition["id"]
    assert [t["role"] for t in composition["roll"]["tracks"]] == ["melody", *roles]

    # the MIDI file: the melody in the bars it was played in, the band's notes where the jam played them
    music = saved_midi(client, composition, tmp_path)
    assert music.meter == (3, 4) and music.n_steps == 4 * 36
    assert [(step, round(bpm)) for step, bpm in music.tempos] == [(0, 90), (72, 120)]  # as played: faster from bar 2
    assert music.metadata is not None and music.metadata["technique"] == "jam" and music.metadata["model"] == "jazz"
    played = [(p, round((bar * 3 + start) * 12)) for bar in range(4) for p, start, _, _ in TUNE[bar % 2]]
    played.insert(5, (72, 2 * 36 - 3))  # the pickup, where it was played: the end of bar 1
    assert [(p, s) for p, s, _, _ in music.notes(music.track_index("melody"))] == played
    for index, role in enumerate(roles):
        sent = {(p, round((bar * 3 + beat) * 12)) for bar in range(4) for t, p, beat, *_ in band[bar] if t == index}
        kept = {(pitch, start) for pitch, start, _, _ in music.notes(music.track_index(role))}
        assert kept <= sent, role  # a note held across bars is one note in the file, struck again in each message
        assert {start // 36 for _, start in kept} == {start // 36 for _, start in sent}, role

    # the studio continues it like any composition: regenerate one of its tracks
    response = client.post(f"/api/compositions/{composition['id']}/regenerate", json={"tracks": ["bass"], "wav": False})
    assert response.status_code == 201, response.text
    assert response.json()["melody"] == "jammed:Waltz for me"


def test_wrong_messages_get_one_line_errors_and_the_jam_goes_on(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    with client.websocket_connect(URL) as ws:
        assert "no jam is running" in play(ws, 0, [])["detail"]
        start(ws, model="pop")
        wrong: list[Any] = [
            "not json",
            "[1, 2]",
            {"type": "dance"},
            {"type": "bar", "bar": 0, "notes": [[200, 0, 1, 90]]},
            {"type": "bar", "bar": 0, "notes": [[60, 0, 0, 90]]},
            {"type": "bar", "bar": 0, "notes": [[60, "soon", 1, 90]]},
            {"type": "bar", "bar": -1, "notes": []},
            {"type": "bar", "bar": 1, "notes": [[60, -3.5, 1, 90]]},
            {"type": "bar", "bar": 0, "notes": [[60, 0, 1, 90]] * 300},
            {"type": "bar", "bar": 0, "notes": [[60, 0, 1, 90]], "extra": 1},
            {"type": "save", "tempo": 1000},
            {"type": "start", "model": "no-such-band"},
            {"type": "start", "model": "jazz", "numerator": 5, "denominator": 3},
        ]
        for message in wrong:
            if isinstance(message, str):
                ws.send_text(message)
            else:
                ws.send_json(message)
            answer = ws.receive_json()
            assert answer["type"] == "error" and answer["detail"], (message, answer)
            assert "\n" not in answer["detail"] and len(answer["detail"]) <= 500
        ws.send_bytes(b"\x00\x01")
        assert "JSON text" in ws.receive_json()["detail"]
        ws.send_text('{"type": "bar", "bar": 0, "notes": [' + "[60, 0, 1, 90]," * 5000 + "[60, 0, 1, 90]]}")
        assert "at most 65536 bytes" in ws.receive_json()["detail"]
        # the jam that started goes on: a failed start leaves no session half made
        answer = play(ws, 0, [[60, 0.0, 1.0, 90], [61, 2.9, 5.0, 90], [62, 3.5, 1.0, 90]])
        assert answer["type"] == "accompaniment" and answer["bar"] == 1
        assert play(ws, 1, [])["bar"] == 2
    assert "Traceback" not in capfd.readouterr().err


def test_a_late_bar_skips_the_silent_bars_and_an_old_bar_is_refused(client: TestClient, tmp_path: Path) -> None:
    with client.websocket_connect(URL) as ws:
        start(ws)
        assert play(ws, 0, TUNE[0])["bar"] == 1
        late = play(ws, 3, TUNE[1])  # bars 1 and 2 sent nothing
        assert late["type"] == "accompaniment" and late["bar"] == 4
        for old in (2, 3, 0):
            refused = play(ws, old, TUNE[0])
            assert refused["type"] == "error" and refused["request"] == "bar"
            assert f"bar {old} was already played" in refused["detail"]
        assert play(ws, 4, [])["bar"] == 5
        ws.send_json({"type": "save", "tempo": 120, "wav": False})
        composition = ws.receive_json()["composition"]
    assert composition["summary"]["bars"] == 5 and composition["melody"] == "jammed:Jam"
    music = saved_midi(client, composition, tmp_path)
    bars = [start // 36 for _, start, _, _ in music.notes(music.track_index("melody"))]
    assert bars == [0, 0, 0, 3, 3]


def test_at_most_the_set_number_of_jams_at_once(museforge_home: Path) -> None:
    with studio(jam_sessions=2) as client:
        with client.websocket_connect(URL) as first, client.websocket_connect(URL) as second:
            with client.websocket_connect(URL) as third:
                refused = third.receive_json()
                assert refused["type"] == "error" and "2 jam sessions" in refused["detail"]
                with pytest.raises(WebSocketDisconnect) as closed:
                    third.receive_json()
                assert closed.value.code == 1008
            for ws in (first, second):
                ws.send_json({"type": "stop"})
                assert ws.receive_json()["type"] == "stopped"
        with client.websocket_connect(URL) as again:  # the closed ones freed their places
            start(again, model="pop")


def test_an_idle_jam_is_closed(museforge_home: Path) -> None:
    with studio(jam_idle_seconds=1) as client, client.websocket_connect(URL) as ws:
        start(ws, model="pop")
        idle = ws.receive_json()
        assert idle["type"] == "error" and "no message for 1 s" in idle["detail"]
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_a_jam_is_at_most_the_bar_limit_long(museforge_home: Path) -> None:
    with studio(jam_max_bars=2) as client, client.websocket_connect(URL) as ws:
        start(ws, model="pop")
        assert play(ws, 1, [])["bar"] == 2
        assert "at most 2 bars" in play(ws, 2, [])["detail"]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost.evil.example"])
def test_a_page_on_another_site_cannot_open_a_jam(client: TestClient, origin: str) -> None:
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(URL, headers={"origin": origin}):
        pass
    assert refused.value.status_code == 403
    assert "cross-origin" in refused.value.json()["detail"]


def test_the_guard_passes_the_studio_pages_and_refuses_unknown_hosts(client: TestClient) -> None:
    with client.websocket_connect(URL, headers={"origin": "http://localhost"}) as ws:  # the studio's own page
        ws.send_json({"type": "stop"})
        assert ws.receive_json()["type"] == "stopped"
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("ws://rebind.example/api/jam"):
        pass
    assert refused.value.status_code == 400
