"""The studio in a real browser (Debian's Chromium via Playwright) against the real server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from museforge.metrics.voices import parallel_fifths_octaves
from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.sampling.paths import roll_line
from tests.tiny_models import TINY_MODEL

pytestmark = [pytest.mark.web, pytest.mark.slow]

Shot = Callable[[object, str], Path]


def composers(server_url: str) -> list[dict]:
    return httpx.get(f"{server_url}/api/composers", timeout=30).json()


def open_studio(page: object) -> None:
    page.goto("/")
    page.wait_for_function("document.querySelector('#sample-select').options.length > 0")
    page.wait_for_function("Number(document.querySelector('#melody-roll').dataset.drawn) > 0")


def generate_and_check(page: object, melody_pitches: list[int]) -> dict:
    """Click Generate, wait for the piano roll and a playable audio element; returns what the page shows."""
    page.click("#generate")
    page.wait_for_selector("#result-card:not([hidden])", timeout=120_000)
    page.wait_for_function("Number(document.querySelector('#result-roll').dataset.drawn) > 0")
    # the WAV loads and can play: the browser knows its duration
    page.wait_for_function("document.querySelector('#result-audio').duration > 0", timeout=60_000)
    shown = page.evaluate(
        """() => ({
            notes: Number(document.querySelector('#result-roll').dataset.drawn),
            legend: [...document.querySelectorAll('#result-legend .legend-item')].map(e => e.textContent),
            colors: [...document.querySelectorAll('#result-legend .swatch')].map(e => e.style.background),
            audio: document.querySelector('#result-audio').duration,
            midi: document.querySelector('#download-midi').getAttribute('href'),
        })"""
    )
    assert len(shown["legend"]) >= 2, shown  # the melody and at least one accompaniment track
    assert len(set(shown["colors"])) == len(shown["colors"])  # each track its own colour
    assert shown["notes"] > len(melody_pitches)
    return shown


def download_midi(page: object, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.click("#download-midi")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".mid"
    return path


def test_compose_a_sample_with_a_pretrained_model(
    page: object, server_url: str, tmp_path: Path, screenshot: Shot
) -> None:
    pretrained = [c["name"] for c in composers(server_url) if c["kind"] == "pretrained"]
    assert pretrained, "no shipped model found (src/museforge/pretrained/<genre>.safetensors + .json)"
    open_studio(page)
    page.select_option("#sample-select", "ode_to_joy")
    page.wait_for_function("document.querySelector('#melody-title').textContent.includes('Ode to Joy')")
    page.select_option("#model-select", pretrained[0])
    page.fill("#seed", "7")
    melody = get_melody("ode_to_joy")
    generate_and_check(page, [p for p, _, _ in melody.notes])
    screenshot(page, "compose")
    written = read_midi(download_midi(page, tmp_path), resolution=12)
    expected = melody_to_multitrack(melody, 12)
    index = written.track_index("melody")
    assert index is not None and written.n_tracks >= 2
    assert [n[:3] for n in written.notes(index)] == [n[:3] for n in expected.notes(0)]  # the tune, unchanged


def test_upload_a_midi_and_compose_with_a_user_model(
    page: object, server_url: str, shared_datasets: Path, tmp_path: Path, screenshot: Shot
) -> None:
    open_studio(page)
    page.click("#tab-upload")
    chorale = shared_datasets / "bach" / "jsb_chorales_czhuang" / "midi_derived_satb" / "valid" / "jsb_valid_040.mid"
    page.set_input_files("#upload-file", str(chorale))  # choosing the file uploads it
    page.wait_for_function("document.querySelector('#melody-title').textContent.startsWith('Uploaded')")
    page.select_option("#model-select", TINY_MODEL)
    generate_and_check(page, [0])
    screenshot(page, "upload_compose")
    written = read_midi(download_midi(page, tmp_path), resolution=12)
    assert written.track_index("melody") is not None and written.n_tracks >= 2


def test_record_a_melody_on_the_keyboard(page: object, server_url: str, screenshot: Shot) -> None:
    open_studio(page)
    page.click("#tab-record")
    page.fill("#record-tempo", "200")
    page.select_option("#record-bars", "1")
    page.uncheck("#record-metronome")
    page.click("#record-start")
    page.wait_for_function("document.querySelector('#record-status').textContent.startsWith('Recording')")
    for key in ("a", "d", "g", "k"):  # C4 E4 G4 C5 on the computer keyboard
        page.keyboard.down(key)
        page.wait_for_timeout(120)
        page.keyboard.up(key)
        page.wait_for_timeout(30)
    page.mouse.click(*_key_center(page, 69))  # and A4 with the mouse
    page.wait_for_function(
        "document.querySelector('#melody-title').textContent.startsWith('Recorded melody')", timeout=15_000
    )
    screenshot(page, "record")
    title = page.text_content("#melody-title")
    key = [part.strip() for part in title.split("·") if part.strip().endswith(("major", "minor"))]
    written = page.eval_on_selector("#transpose", "s => s.options[s.selectedIndex].text")
    assert key and written == f"{key[0]} (as written)", (title, written)
    recorded = httpx.get(f"{server_url}/api/melodies/user", timeout=10).json()[0]
    roll = httpx.get(f"{server_url}/api/melodies/user/{recorded['id']}", timeout=10).json()["roll"]
    pitches = [note[0] for note in roll["tracks"][0]["notes"]]
    assert pitches[:4] == [60, 64, 67, 72] and 69 in pitches
    assert int(page.get_attribute("#melody-roll", "data-drawn") or 0) == len(pitches)


def _key_center(page: object, pitch: int) -> tuple[float, float]:
    box = page.locator(f'.key[data-pitch="{pitch}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] - 20


def test_train_a_tiny_model_and_watch_it_complete(page: object, server_url: str, screenshot: Shot) -> None:
    page.goto("/models")
    page.wait_for_function("document.querySelector('#f-genre').options.length > 0")
    # the DeepComposer fields show their defaults and ranges
    assert page.input_value("#f-update_ratio") == "5"
    assert "default" in page.text_content("#f-learning_rate-hint")
    page.fill("#f-name", "web-tiny")
    page.select_option("#f-genre", "bach")
    assert page.input_value("#f-architecture") == "unet"
    page.fill("#f-epochs", "1")
    page.fill("#f-update_ratio", "1")
    page.select_option("#f-loss", "wgan-gp")
    page.click("details summary")
    page.fill("#f-batch_size", "4")
    page.fill("#f-max_steps", "2")
    page.fill("#f-model_config", '{"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16}')
    page.click("#train-submit")
    page.wait_for_selector("#watch-card:not([hidden])")
    page.wait_for_selector("#watch-card[data-status='completed']", timeout=180_000)
    page.wait_for_function("Number(document.querySelector('#loss-chart').dataset.points) >= 2")
    page.wait_for_selector("#latest-sample:not([hidden])", timeout=20_000)
    charts = page.evaluate("[...document.querySelectorAll('#metric-charts canvas')].map(c => Number(c.dataset.points))")
    assert charts and all(points > 0 for points in charts)  # metrics against the training data, drawn
    page.wait_for_selector("#jobs-table tbody tr .badge.completed")
    screenshot(page, "models")
    models = httpx.get(f"{server_url}/api/models", timeout=10).json()
    assert "web-tiny" in [m["name"] for m in models]


def test_compose_a_chorale_with_and_without_the_rule_against_parallels(
    page: object, server_url: str, tmp_path: Path
) -> None:
    open_studio(page)
    page.select_option("#sample-select", "ode_to_joy")
    page.wait_for_function("document.querySelector('#melody-title').textContent.includes('Ode to Joy')")
    page.select_option("#model-select", "bach")
    page.fill("#seed", "3")
    counted = {}
    for choice in ("allow", ""):  # then the model's own rule: forbidden in chorales
        page.select_option("#compose-parallels", choice)
        page.evaluate("document.querySelector('#result-card').hidden = true")
        generate_and_check(page, [p for p, _, _ in get_melody("ode_to_joy").notes])
        summary = page.inner_text("#result-summary")
        written = read_midi(download_midi(page, tmp_path), resolution=4)
        lines = np.stack([roll_line(roll) for roll in written.rolls])
        counted[choice] = (parallel_fifths_octaves(lines).count, "no parallel fifths or octaves" in summary)
    assert counted["allow"][0] > 0 and not counted["allow"][1]  # the model alone writes some
    assert counted[""] == (0, True)  # the rule leaves none, and the summary says so
