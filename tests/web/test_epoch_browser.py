"""The epoch browser of the models page in a real browser: a real 3-epoch training job, then a slider over its
epochs' samples (picture, losses, metrics), the charts marked at the chosen epoch, each sample playable, and the
chosen epoch beside the latest, at 1280 and 400 px."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_for
from tests.tiny_models import TINY_MODEL, tiny_job

pytestmark = [pytest.mark.web, pytest.mark.slow]

MODEL = "web-epochs"
EPOCHS = 3
CHOSEN = '.epoch-pane[data-pane="chosen"]'
LATEST = '.epoch-pane[data-pane="latest"]'


@pytest.fixture(scope="module")
def trained(server_url: str) -> dict:
    """A tiny U-Net trained for 3 whole epochs by the studio's own job worker; its model detail."""
    job = httpx.post(f"{server_url}/api/jobs", json=tiny_job(name=MODEL, epochs=EPOCHS, max_steps=None), timeout=30)
    assert job.status_code in (200, 201), job.text
    job_id = job.json()["id"]
    done = wait_for(
        lambda: (
            (j := httpx.get(f"{server_url}/api/jobs/{job_id}", timeout=10).json())["status"]
            not in ("queued", "training")
            and j
        ),
        timeout=300,
        message="the 3-epoch job to end",
    )
    assert done["status"] == "completed", done
    return httpx.get(f"{server_url}/api/models/{MODEL}", timeout=10).json()


@pytest.fixture
def narrow(browser: object, server_url: str) -> Iterator[object]:
    """A page 400 px wide; fails the test on any page or console error."""
    context = browser.new_context(base_url=server_url, viewport={"width": 400, "height": 850})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    yield page
    context.close()
    assert not errors, errors


def keep_shot(page: object, name: str) -> None:
    """A picture of the watch card in ``$MUSEFORGE_SCREENSHOTS``, when that is set (for a person to look at)."""
    folder = os.environ.get("MUSEFORGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.locator("#watch-card").screenshot(path=str(Path(folder) / f"epochs_{name}.png"))


def show_model(page: object, name: str = MODEL) -> None:
    page.goto("/models")
    row = f'#models-table tr[data-model="{name}"]'
    page.wait_for_selector(row, timeout=30_000)
    page.click(f'{row} button:has-text("Show")')
    page.wait_for_selector("#epoch-browser:not([hidden])")
    page.wait_for_function("Number(document.querySelector('#loss-chart').dataset.points) > 0")


def shown(page: object) -> dict:
    """What the browser shows now: the label, the chosen pane's epoch and picture, the charts' markers."""
    return page.evaluate(
        """() => {
          const pane = document.querySelector('.epoch-pane[data-pane="chosen"]');
          const img = pane.querySelector('img');
          const loss = document.querySelector('#loss-chart');
          return {
            label: document.querySelector('#epoch-label').textContent,
            epoch: pane.dataset.epoch,
            src: img.getAttribute('src'),
            marker: loss.dataset.marker,
            markerX: Number(loss.dataset.markerX),
            metricMarkers: [...document.querySelectorAll('#metric-charts canvas')].map(c => c.dataset.marker),
            facts: Object.fromEntries([...pane.querySelectorAll('dd')].map(dd => [dd.dataset.key, dd.textContent])),
          };
        }"""
    )


def wait_picture(page: object, pane: str) -> None:
    page.wait_for_function(
        "sel => { const img = document.querySelector(sel + ' img'); return img.complete && img.naturalWidth > 0; }",
        arg=pane,
    )


def test_the_slider_goes_through_the_epochs_marks_the_charts_and_plays_each(page: object, trained: dict) -> None:
    records = trained["epochs"]
    assert [r["epoch"] for r in records] == [1, 2, 3] and len(trained["samples"]) == 2 * EPOCHS
    show_model(page)
    assert page.get_attribute("#epoch-slider", "max") == str(EPOCHS - 1)
    last = shown(page)  # the latest epoch first
    assert last["label"] == "Epoch 3 of 3" and last["epoch"] == "3"
    assert last["src"].endswith(f"/api/models/{MODEL}/samples/epoch_003.png") and last["marker"] == "3"
    assert last["metricMarkers"] and set(last["metricMarkers"]) == {"3"}
    wait_picture(page, CHOSEN)
    assert "discriminator" in page.text_content("#epoch-numbers")  # the loss note, for learners

    # back to the first epoch with the keyboard, as on a real slider: picture, label, numbers and markers follow
    page.focus("#epoch-slider")
    page.keyboard.press("Home")
    first = shown(page)
    assert first["label"] == "Epoch 1 of 3" and first["epoch"] == "1"
    assert first["src"].endswith("/samples/epoch_001.png")
    assert first["marker"] == "1" and first["markerX"] < last["markerX"]
    assert set(first["metricMarkers"]) == {"1"}
    assert first["facts"]["generator_loss"] == f"{records[0]['generator_loss']:.3f}"
    assert first["facts"]["discriminator_loss"] == f"{records[0]['discriminator_loss']:.3f}"
    assert first["facts"] != last["facts"]
    assert len([k for k in first["facts"] if not k.endswith("_loss")]) == 3  # three key metrics
    wait_picture(page, CHOSEN)
    page.keyboard.press("ArrowRight")
    second = shown(page)
    assert second["epoch"] == "2" and second["src"].endswith("/samples/epoch_002.png")
    assert first["markerX"] < second["markerX"] < last["markerX"]

    # play the epoch: the synth plays its roll (read from the epoch's MIDI) and the bar under it follows; stop
    page.click(f"{CHOSEN} .epoch-play")
    page.wait_for_selector(f'{CHOSEN}[data-playing="1"]')
    assert page.text_content(f"{CHOSEN} .epoch-play") == "■ Stop"
    page.wait_for_function(
        "sel => Number(document.querySelector(sel + ' .epoch-listen > div').dataset.step) > 2", arg=CHOSEN
    )
    page.click(f"{CHOSEN} .epoch-play")
    page.wait_for_selector(f"{CHOSEN}:not([data-playing])")
    assert page.text_content(f"{CHOSEN} .epoch-play") == "▶ Play"

    # moving the slider while it plays stops it: what is heard is always the epoch shown
    page.click(f"{CHOSEN} .epoch-play")
    page.wait_for_selector(f'{CHOSEN}[data-playing="1"]')
    page.focus("#epoch-slider")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"{CHOSEN}:not([data-playing])")

    # beside the latest: two panes side by side, the chosen one on the left
    page.keyboard.press("ArrowRight")
    wait_picture(page, CHOSEN)
    keep_shot(page, "1280_one")
    page.check("#epoch-compare")
    page.wait_for_selector(f"{LATEST}:not([hidden])")
    wait_picture(page, LATEST)
    assert page.get_attribute(LATEST, "data-epoch") == "3" and page.get_attribute(CHOSEN, "data-epoch") == "2"
    assert page.get_attribute(f"{LATEST} img", "src").endswith("/samples/epoch_003.png")
    assert "latest" in page.text_content(f"{LATEST} .epoch-title")
    left, right = page.locator(CHOSEN).bounding_box(), page.locator(LATEST).bounding_box()
    assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2
    page.click(f"{LATEST} .epoch-play")  # the latest plays too; one sound at a time
    page.wait_for_selector(f'{LATEST}[data-playing="1"]')
    page.click(f"{CHOSEN} .epoch-play")
    page.wait_for_selector(f'{CHOSEN}[data-playing="1"]')
    assert page.get_attribute(LATEST, "data-playing") is None
    page.click(f"{CHOSEN} .epoch-play")
    keep_shot(page, "1280")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_the_epoch_browser_fits_a_narrow_screen(narrow: object, trained: dict) -> None:
    page = narrow
    show_model(page)
    page.focus("#epoch-slider")
    page.keyboard.press("ArrowLeft")
    assert shown(page)["epoch"] == "2"
    page.check("#epoch-compare")
    wait_picture(page, CHOSEN)
    wait_picture(page, LATEST)
    top, below = page.locator(CHOSEN).bounding_box(), page.locator(LATEST).bounding_box()
    assert below["y"] >= top["y"] + top["height"]  # stacked, each as wide as the card allows
    for selector in ("#epoch-slider", f"{CHOSEN} img", f"{LATEST} img", f"{CHOSEN} .epoch-play", f"{CHOSEN} dl"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 400, (selector, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    keep_shot(page, "400")


def test_a_run_stopped_inside_its_first_epoch_shows_its_one_sample(page: object) -> None:
    show_model(page, TINY_MODEL)  # 2 steps of a longer epoch: one partial epoch, one sample
    assert page.is_disabled("#epoch-slider") and page.text_content("#epoch-label") == "Epoch 1 of 1"
    assert page.text_content(f"{CHOSEN} .epoch-title") == "Epoch 1 (partial) · latest"
    assert page.get_attribute(f"{CHOSEN} img", "src").endswith(f"/api/models/{TINY_MODEL}/samples/epoch_001.png")
    assert page.get_attribute("#loss-chart", "data-marker") == "1"
    wait_picture(page, CHOSEN)
