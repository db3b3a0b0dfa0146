"""The studio's sheet-music download in a real browser: the MusicXML of the result reads back with music21."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from tests.helpers import read_score, sheet_music_notes

pytestmark = [pytest.mark.web, pytest.mark.slow]


def save_download(page: object, selector: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_download_the_result_as_sheet_music(
    page: object, server_url: str, tmp_path: Path, screenshot: Callable[[object, str], Path]
) -> None:
    page.goto("/")
    page.wait_for_function("Number(document.querySelector('#melody-roll').dataset.drawn) > 0")
    page.select_option("#sample-select", "amazing_grace")
    page.wait_for_function("document.querySelector('#melody-title').textContent.includes('Amazing Grace')")
    page.select_option("#model-select", "jazz")
    page.fill("#seed", "5")
    page.click("#generate")
    page.wait_for_selector("#result-card:not([hidden])", timeout=120_000)
    assert page.is_visible("#download-musicxml") and page.text_content("#download-musicxml") == "Sheet music (MusicXML)"
    screenshot(page, "sheet_music")

    sheet = save_download(page, "#download-musicxml", tmp_path)
    assert sheet.name == "amazing_grace-jazz-seed5.musicxml"
    midi = read_midi(save_download(page, "#download-midi", tmp_path), resolution=12)
    score = read_score(sheet)
    assert [part.partName for part in score.parts] == midi.names  # one part per track of the MIDI file
    tune = melody_to_multitrack(get_melody("amazing_grace"), 12)
    assert sorted(sheet_music_notes(score.parts[0], 12)) == sorted((p, s, e) for p, s, e, _ in tune.notes(0))
