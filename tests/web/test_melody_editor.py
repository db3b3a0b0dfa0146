"""The melody editor in a real browser against the real server: pick a sample, add a note by clicking, move one
by dragging, lengthen one, delete two (right-click; select + Delete), undo once, save; the saved melody has
exactly the expected notes, its title is "Edited · <original title>", and Compose works on it. At 400 px the
editor scrolls inside the page instead of widening it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.web.test_learner_studio import generate, open_studio

pytestmark = [pytest.mark.web, pytest.mark.slow]

Shot = Callable[[object, str], Path]


class Editor:
    """Mouse positions on the editor's canvas from the geometry it publishes (``data-*`` attributes)."""

    def __init__(self, page: object) -> None:
        self.page = page
        page.wait_for_selector('#melody-editor[data-ready="1"]')
        page.locator("#melody-editor").scroll_into_view_if_needed()
        self.geo = page.eval_on_selector("#melody-editor", "c => Object.fromEntries(Object.entries(c.dataset))")
        self.box = page.locator("#melody-editor").bounding_box()

    def at(self, step: float, pitch: int) -> tuple[float, float]:
        g = self.geo
        x = self.box["x"] + float(g["left"]) + step * float(g["stepPx"])
        y = self.box["y"] + float(g["top"]) + (int(g["high"]) - pitch + 0.5) * float(g["rowPx"])
        return x, y

    def click(self, step: float, pitch: int, button: str = "left") -> None:
        self.page.mouse.click(*self.at(step, pitch), button=button)

    def drag(self, step: float, pitch: int, to_step: float, to_pitch: int) -> None:
        self.page.mouse.move(*self.at(step, pitch))
        self.page.mouse.down()
        self.page.mouse.move(*self.at(to_step, to_pitch), steps=6)
        self.page.mouse.up()

    def count(self) -> int:
        return int(self.page.get_attribute("#melody-editor", "data-notes") or -1)


def test_edit_a_sample_save_it_and_compose(page: object, server_url: str, screenshot: Shot) -> None:
    open_studio(page)
    sample = httpx.get(f"{server_url}/api/melodies/twinkle", timeout=10).json()
    original = [tuple(n[:3]) for n in sample["roll"]["tracks"][0]["notes"]]
    assert (67, 24, 36) in original and (69, 48, 60) in original and (64, 132, 144) in original
    page.select_option("#sample-select", "twinkle")
    page.wait_for_function("document.querySelector('#melody-card').dataset.melodyKey === 'sample:twinkle'")
    page.click("#edit-melody")
    editor = Editor(page)
    assert int(editor.geo["resolution"]) == 12 and page.is_disabled("#edit-undo")

    page.select_option("#edit-grid", "0.5")  # eighth notes: 6 steps
    editor.click(7, 72)  # an empty cell in the 2nd eighth: a new C5 from step 6 to 12
    editor.drag(28, 67, 40, 69)  # the 3rd note (G4, beat 3) one beat later and two semitones up
    editor.drag(143.5, 64, 149.5, 64)  # its right end: the E4 at step 132 lasts an eighth more
    editor.click(54, 69, button="right")  # delete the A4 at step 48
    editor.click(160, 62)  # select the D4 at step 156 …
    assert page.get_attribute("#melody-editor", "data-selected") != "-1"
    page.keyboard.press("Delete")  # … and delete it
    assert editor.count() == len(original) - 1
    page.keyboard.press("Control+z")  # undo: the D4 is back
    assert editor.count() == len(original)
    screenshot(page, "melody_editor_1280")

    page.click("#edit-done")
    page.wait_for_function("document.querySelector('#melody-title').textContent.startsWith('Edited · Twinkle')")
    assert page.is_hidden("#melody-editor-box") and page.is_enabled("#play-melody")
    screenshot(page, "melody_edited_1280")
    saved = httpx.get(f"{server_url}/api/melodies/user", timeout=10).json()[0]
    assert saved["name"] == "Edited · Twinkle Twinkle Little Star"
    assert saved["time_signature"] == [4, 4] and saved["tempo"] == sample["tempo"] and saved["bars"] == 4
    roll = httpx.get(f"{server_url}/api/melodies/user/{saved['id']}", timeout=10).json()["roll"]
    expected = [n for n in original if n not in {(67, 24, 36), (69, 48, 60), (64, 132, 144)}]
    expected += [(72, 6, 12), (69, 36, 48), (64, 132, 150)]
    assert sorted(tuple(n[:3]) for n in roll["tracks"][0]["notes"]) == sorted(expected)
    assert page.get_attribute("#melody-card", "data-melody-key") == f"user:{saved['id']}"

    sent: list[dict] = []
    posted = lambda r: r.method == "POST" and r.url.endswith("/api/compositions")  # noqa: E731
    page.on("request", lambda r: posted(r) and sent.append(r.post_data_json))
    composition_id = generate(page)
    assert composition_id and sent and sent[0]["melody_id"] == saved["id"] and "melody" not in sent[0]
    assert page.text_content("#generate-error") == ""
    composition = httpx.get(f"{server_url}/api/compositions/{composition_id}", timeout=10).json()
    assert composition["melody"] == "recorded:Edited · Twinkle Twinkle Little Star"


def test_the_editor_at_400_px_scrolls_inside_the_card(page: object, screenshot: Shot) -> None:
    page.set_viewport_size({"width": 400, "height": 860})
    page.goto("/")
    page.wait_for_function("Number(document.querySelector('#melody-roll').dataset.drawn) > 0")
    page.click("#edit-melody")
    editor = Editor(page)
    assert editor.count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    scroll = page.locator("#melody-editor-scroll").bounding_box()
    assert scroll["x"] >= 0 and scroll["x"] + scroll["width"] <= 400
    assert page.eval_on_selector("#melody-editor-scroll", "s => s.scrollWidth > s.clientWidth")  # sixteenths stay wide
    screenshot(page, "melody_editor_400")
    page.click("#edit-cancel")
    assert page.is_hidden("#melody-editor-box") and page.is_visible("#melody-roll")


def test_edit_the_chosen_track_of_an_upload_in_three_four(page: object, server_url: str, tmp_path: Path) -> None:
    from museforge.music.midi import write_midi
    from museforge.music.pianoroll import Multitrack, TrackNotes

    top = [(72, 0, 12, 90), (74, 12, 24, 90), (76, 24, 36, 90), (77, 36, 72, 90)]
    low = [(48, 0, 36, 80), (43, 36, 72, 80), (45, 72, 108, 80), (41, 108, 144, 80)]
    tracks = [TrackNotes("Flute", "melody", 73, False, top), TrackNotes("Cello", "bass", 42, False, low)]
    path = tmp_path / "two_voices.mid"
    write_midi(Multitrack.from_notes(tracks, 12, tempo=90, time_signature=(3, 4), n_steps=144), path)
    open_studio(page)
    page.click("#tab-upload")
    page.set_input_files("#upload-file", str(path))
    page.wait_for_selector("#upload-tracks:not([hidden])")
    page.check('#upload-track-table input[value="1"]')  # the cello line is the melody
    page.click("#edit-melody")
    editor = Editor(page)
    assert editor.count() == 4 and int(editor.geo["steps"]) == 5 * 36  # 4 bars of 3/4 and one to write into
    editor.click(40, 43, button="right")  # delete the G2 at step 36
    page.click("#edit-undo")
    editor.click(80, 45, button="right")  # delete the A2 at step 72
    page.click("#edit-done")
    page.wait_for_function("document.querySelector('#melody-title').textContent.startsWith('Edited · two_voices')")
    assert page.is_hidden("#upload-tracks")  # the edited melody has one track
    saved = httpx.get(f"{server_url}/api/melodies/user", timeout=10).json()[0]
    assert saved["name"] == "Edited · two_voices.mid" and saved["time_signature"] == [3, 4] and saved["bars"] == 4
    roll = httpx.get(f"{server_url}/api/melodies/user/{saved['id']}", timeout=10).json()["roll"]
    assert [n[:3] for n in roll["tracks"][0]["notes"]] == [[48, 0, 36], [43, 36, 72], [41, 108, 144]]
    assert roll["tempo"] == 90
