"""The jam's instrument sounds (``/api/sounds``): banks of General MIDI notes rendered with the studio's soundfont,
kept on disk, refused to other sites' pages."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from fastapi.testclient import TestClient

from museforge.server.sounds import DRUM_KEYS, PITCHES, SAMPLE_RATE, SLOT_SECONDS, SOUNDS_FOLDER


def slot_peaks(data: bytes) -> list[int]:
    """The loudest sample of the first half of each slot of a pitched bank."""
    with wave.open(io.BytesIO(data)) as bank:
        assert bank.getframerate() == SAMPLE_RATE and bank.getnchannels() == 2
        samples = memoryview(bank.readframes(bank.getnframes())).cast("h")
    slot = round(SLOT_SECONDS * SAMPLE_RATE) * 2
    return [max(abs(v) for v in samples[k * slot : k * slot + slot // 2]) for k in range(len(PITCHES))]


def test_a_bank_holds_a_note_in_every_slot_and_is_kept(client: TestClient, museforge_home: Path) -> None:
    layout = client.get("/api/sounds").json()
    assert layout["available"] is True and layout["pitched"]["notes"] == list(PITCHES)
    assert layout["drums"]["notes"] == list(DRUM_KEYS)
    for program, lowest, highest in ((0, 24, 96), (33, 24, 72)):  # the piano's keys, the bass's range
        response = client.get(f"/api/sounds/{program}.wav")
        assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
        loudest = slot_peaks(response.content)
        assert all(peak > 500 for pitch, peak in zip(PITCHES, loudest, strict=True) if lowest <= pitch <= highest)
        kept = museforge_home / SOUNDS_FOLDER / f"program-{program}.wav"
        assert kept.read_bytes() == response.content
    drums = client.get("/api/sounds/drums/0.wav")
    assert drums.status_code == 200 and drums.content[:4] == b"RIFF"
    assert (museforge_home / SOUNDS_FOLDER / "drums-0.wav").is_file()


def test_only_general_midi_programs_and_only_the_studio_pages(client: TestClient) -> None:
    for path in ("/api/sounds/128.wav", "/api/sounds/-1.wav", "/api/sounds/drums/300.wav", "/api/sounds/piano.wav"):
        assert client.get(path).status_code == 422, path
    cross = client.get("/api/sounds/0.wav", headers={"origin": "http://evil.example"})
    assert cross.status_code == 403
    cross = client.get("/api/sounds/0.wav", headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
