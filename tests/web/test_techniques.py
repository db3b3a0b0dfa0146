"""Enhance and Extend in the studio, in a real browser (Debian's Chromium via Playwright) against the real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack

pytestmark = [pytest.mark.web, pytest.mark.slow]

Shot = Callable[[object, str], Path]
#: A result takes a few seconds; a shared CPU may make it slower.
RESULT_TIMEOUT_MS = 120_000


def open_studio(page: object, sample: str = "twinkle") -> None:
    page.goto("/")
    page.wait_for_function("document.querySelector('#sample-select').options.length > 0")
    page.wait_for_function("Number(document.querySelector('#melody-roll').dataset.drawn) > 0")
    page.wait_for_selector("#model-card[data-techniques='loaded']", state="attached")  # models and limits in
    page.select_option("#sample-select", sample)
    page.wait_for_function(
        "name => document.querySelector('#melody-title').textContent.includes(name)", arg=get_melody(sample).title
    )


def press(page: object, button: str, technique: str, working: str) -> str:
    """Press a technique's button, see the page busy, and wait for its result; returns the result's id."""
    before = page.get_attribute("#result-card", "data-composition-id") or ""
    page.click(button)
    # while it works (the click handler marks it at once), every action button is disabled and the status says what
    busy = page.evaluate(
        """(technique) => ({
            working: document.querySelector('#model-card').dataset.working,
            disabled: ['#generate', '#enhance', '#extend'].map(s => document.querySelector(s).disabled),
            status: document.querySelector('#generate-status').textContent,
        })""",
        technique,
    )
    assert busy["working"] == technique and busy["disabled"] == [True] * 3, busy
    assert busy["status"].startswith(f" {working}ing…"), busy  # then the seconds it has taken
    page.wait_for_function(
        "([before, technique]) => { const c = document.querySelector('#result-card');"
        " return !c.hidden && c.dataset.compositionId !== before && c.dataset.technique === technique; }",
        arg=[before, technique],
        timeout=RESULT_TIMEOUT_MS,
    )
    assert page.text_content("#generate-error") == ""
    page.wait_for_function("Number(document.querySelector('#result-roll').dataset.drawn) > 0")
    page.wait_for_function("document.querySelector('#result-audio').duration > 0", timeout=60_000)
    assert not page.is_disabled(button) and page.is_checked("#source-result")  # the result is the next input
    return page.get_attribute("#result-card", "data-composition-id")


def download_midi(page: object, tmp_path: Path, name: str) -> Multitrack:
    with page.expect_download() as info:
        page.click("#download-midi")
    path = tmp_path / name
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".mid")
    return read_midi(path, resolution=12)


def notes_of(multitrack: Multitrack, role: str) -> list[tuple[int, int, int]]:
    index = multitrack.track_index(role)
    assert index is not None, (role, multitrack.roles)
    return [tuple(n[:3]) for n in multitrack.notes(index)]


def tune(name: str) -> list[tuple[int, int, int]]:
    return [tuple(n[:3]) for n in melody_to_multitrack(get_melody(name), 12).notes(0)]


def test_generate_then_enhance_the_composition(page: object, tmp_path: Path, screenshot: Shot) -> None:
    open_studio(page, "twinkle")
    page.select_option("#model-select", "bach")
    page.fill("#seed", "4")
    press(page, "#generate", "compose", "compos")
    composed = download_midi(page, tmp_path, "composed.mid")
    voices = [composed.roles[i] for i in range(composed.n_tracks) if composed.roles[i] != "melody"]
    page.fill("#enhance-iterations", "8")
    page.fill("#enhance-add", "100")
    page.fill("#enhance-remove", "50")
    page.fill("#enhance-temperature", "1.2")
    page.fill("#enhance-seed", "2")
    page.select_option("#enhance-parallels", "allow")  # the chorale model forbids them unless asked
    press(page, "#enhance", "enhance", "enhanc")
    assert page.text_content("#result-title") == "Enhanced"
    assert "composed:twinkle" in page.text_content("#result-summary")
    assert "parallel fifths and octaves allowed" in page.text_content("#result-summary")
    screenshot(page, "enhance")
    enhanced = download_midi(page, tmp_path, "enhanced.mid")
    assert notes_of(enhanced, "melody") == tune("twinkle")  # the tune, unchanged
    assert [enhanced.roles[i] for i in range(enhanced.n_tracks)] == ["melody", *voices]
    assert all(notes_of(enhanced, role) for role in voices)
    assert any(notes_of(enhanced, role) != notes_of(composed, role) for role in voices)  # the GAN's voices, rewritten


def test_extend_then_generate_gives_a_longer_piece(page: object, tmp_path: Path, screenshot: Shot) -> None:
    open_studio(page, "ode_to_joy")
    original = melody_to_multitrack(get_melody("ode_to_joy"), 12)
    page.fill("#extend-bars", "2")
    page.fill("#extend-seed", "1")
    press(page, "#extend", "extend", "extend")
    assert page.text_content("#result-title") == "Extended melody"
    extended = download_midi(page, tmp_path, "extended.mid")
    bar = 4 * 12
    assert extended.n_steps == original.n_steps + 2 * bar
    longer = notes_of(extended, "melody")
    assert longer[: len(tune("ode_to_joy"))] == tune("ode_to_joy")
    assert len(longer) > len(tune("ode_to_joy"))
    page.select_option("#model-select", "bach")
    press(page, "#generate", "compose", "compos")
    screenshot(page, "extend_generate")
    composed = download_midi(page, tmp_path, "composed.mid")
    assert composed.n_steps == extended.n_steps > original.n_steps  # longer than the original melody
    assert notes_of(composed, "melody") == longer
    assert composed.n_tracks >= 2 and any(composed.notes(i) for i in range(1, composed.n_tracks))


def test_enhance_a_bare_melody_on_a_narrow_screen(page: object, tmp_path: Path, screenshot: Shot) -> None:
    page.set_viewport_size({"width": 400, "height": 800})
    open_studio(page, "twinkle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # nothing sticks out sideways
    for selector in ("#generate", "#enhance", "#extend", "#enhance-iterations", "#extend-bars"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 400, selector
    # a bad control is refused on the page, before any request
    page.fill("#enhance-iterations", "0")
    page.click("#enhance")
    assert "Iterations must be a whole number from 1 to 1000" in page.text_content("#generate-error")
    assert page.get_attribute("#result-card", "hidden") is not None
    page.fill("#enhance-iterations", "8")
    page.fill("#enhance-seed", "3")
    press(page, "#enhance", "enhance", "enhanc")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    screenshot(page, "enhance_narrow")
    enhanced = download_midi(page, tmp_path, "enhanced.mid")
    assert notes_of(enhanced, "melody") == tune("twinkle")
    voices = [enhanced.roles[i] for i in range(enhanced.n_tracks) if enhanced.roles[i] != "melody"]
    assert voices and all(notes_of(enhanced, role) for role in voices)
    # choosing another melody makes it the input again
    page.select_option("#sample-select", "ode_to_joy")
    page.wait_for_function("document.querySelector('#source-melody').checked")
