"""Sheet music (MusicXML) of any stored result through the API: composed in the studio, extended, made by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from music21 import meter, stream

from museforge.commands.output import record
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.pipelines.compose import compose
from tests.helpers import read_score, sheet_music_notes

MEDIA_TYPE = "application/vnd.recordare.musicxml+xml"


def download(client: TestClient, url: str, path: Path) -> tuple[Any, stream.Score]:
    """GET ``url`` as a MusicXML download, save it to ``path``; returns the response and the parsed score."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    path.write_bytes(response.content)
    return response, read_score(path)


def melody_notes(music: Multitrack) -> list[tuple[int, int, int]]:
    return [(p, s, e) for p, s, e, _ in music.notes(0)]


def test_a_composition_downloads_as_sheet_music(client: TestClient, tmp_path: Path) -> None:
    body = {"melody": "amazing_grace", "model": "jazz", "seed": 2, "wav": False, "png": False}
    composed = client.post("/api/compositions", json=body).json()
    url = composed["urls"]["musicxml"]
    assert url == f"/api/compositions/{composed['id']}/musicxml"
    response, score = download(client, url, tmp_path / "score.musicxml")
    assert 'filename="amazing_grace-jazz-seed2.musicxml"' in response.headers["content-disposition"]

    (tmp_path / "out.mid").write_bytes(client.get(composed["urls"]["midi"]).content)
    music = read_midi(tmp_path / "out.mid", resolution=12)
    assert [part.partName for part in score.parts] == music.names  # one part per track of the file
    assert sorted(sheet_music_notes(score.parts[0], 12)) == sorted(melody_notes(music))
    assert {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)} == {"3/4"}
    assert float(score.highestTime) == music.n_steps / 12
    # made once: the second download is the same file
    assert client.get(url).content == response.content
    # other sites cannot make the server notate (a link or a script on their page): like a WAV mix
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 403 and "cross-origin" in refused.json()["detail"], headers
    assert client.get(url, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_an_extension_and_a_cli_composition_download_as_sheet_music(
    client: TestClient, museforge_home: Path, tmp_path: Path
) -> None:
    extended = client.post("/api/extensions", json={"melody": "twinkle", "bars": 2, "seed": 5, "png": False}).json()
    _, score = download(client, extended["urls"]["musicxml"], tmp_path / "extended.musicxml")
    roll = extended["roll"]
    assert len(score.parts) == len(roll["tracks"]) == 1
    notes = sorted(tuple(n[:3]) for n in roll["tracks"][0]["notes"])
    assert sorted(sheet_music_notes(score.parts[0], roll["resolution"])) == notes

    # a composition the CLI wrote and indexed: its MIDI file is outside the data home
    result = compose("twinkle", "rock", seed=4, out_midi=tmp_path / "cli.mid")
    record(result, "twinkle")
    row = client.get("/api/compositions").json()[0]
    assert row["source"] == "cli"
    _, score = download(client, row["urls"]["musicxml"], tmp_path / "cli.musicxml")
    music = read_midi(tmp_path / "cli.mid", resolution=12)
    assert [part.partName for part in score.parts] == music.names
    assert sorted(sheet_music_notes(score.parts[0], 12)) == sorted(melody_notes(music))
    # the file written again (another seed): the download follows it
    compose("twinkle", "rock", seed=5, out_midi=tmp_path / "cli.mid")
    _, again = download(client, row["urls"]["musicxml"], tmp_path / "cli2.musicxml")
    changed = read_midi(tmp_path / "cli.mid", resolution=12)
    pitched = [k for k in range(changed.n_tracks) if not changed.is_drum[k]]
    assert [sorted(sheet_music_notes(again.parts[k], 12)) for k in pitched] == [
        sorted((p, s, e) for p, s, e, _ in changed.notes(k)) for k in pitched
    ]
    assert changed.notes(1) != music.notes(1)


def test_an_unknown_composition_has_no_sheet_music(client: TestClient) -> None:
    response = client.get(f"/api/compositions/{'0' * 32}/musicxml")
    assert response.status_code == 404 and "no composition" in response.json()["detail"]
    assert client.get("/api/compositions/not-an-id/musicxml").status_code in (400, 404)
