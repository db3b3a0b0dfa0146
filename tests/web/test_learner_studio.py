"""Issue 24 in a real browser (Debian's Chromium via Playwright) against the real server: Generate right after a
model change, the mixer's curated instruments and kept seed, the playhead after pause and undo, a one-step upload
that names its key, and the models page at 400 px with a plain-language note under every chart."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tiny_models import TINY_MODEL

pytestmark = [pytest.mark.web, pytest.mark.slow]

Shot = Callable[[object, str], Path]
CHORALE = Path("bach") / "jsb_chorales_czhuang" / "midi_derived_satb" / "valid" / "jsb_valid_040.mid"


def open_studio(page: object, model: str = "jazz") -> None:
    page.goto("/")
    page.wait_for_function("Number(document.querySelector('#melody-roll').dataset.drawn) > 0")
    page.select_option("#model-select", model)
    page.wait_for_selector(f'#compose-tracks[data-loaded="1"][data-model="{model}"]', timeout=60_000)


def generate(page: object) -> str:
    before = page.get_attribute("#result-card", "data-composition-id") or ""
    page.click("#generate")
    page.wait_for_function(
        "before => { const c = document.querySelector('#result-card');"
        " const busy = document.querySelector('#model-card').dataset.working;"
        " return !c.hidden && c.dataset.compositionId !== before && !busy; }",
        arg=before,
        timeout=120_000,
    )
    return page.get_attribute("#result-card", "data-composition-id") or ""


def summary(page: object) -> dict[str, str]:
    return page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#result-summary dt')]"
        ".map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
    )


def download_name(page: object) -> str:
    with page.expect_download() as info:
        page.click("#download-midi")
    return info.value.suggested_filename


def options(page: object, selector: str) -> list[str]:
    return page.eval_on_selector(selector, "s => [...s.options].map(o => o.value)")


def test_generate_right_after_changing_the_model_sends_its_own_tracks(page: object) -> None:
    page.goto("/")
    page.wait_for_selector('#compose-tracks[data-loaded="1"]', timeout=60_000)
    first = page.input_value("#model-select")  # the page asked for its tracks already
    target = "pop" if first != "pop" else "symphony"
    open_studio(page, "jazz")
    held: list[object] = []
    page.route(f"**/api/composers/{target}/instruments", lambda route: held.append(route))  # a slow answer
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.endswith("/api/compositions") and sent.append(r.post_data_json),
    )
    page.select_option("#model-select", target)
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the page did not ask for the new model's instruments"
    assert page.is_disabled("#generate")  # the jazz tracks shown until now are not the new model's
    page.evaluate("document.querySelector('#generate').click()")  # an eager click while they load does nothing
    page.wait_for_timeout(300)
    assert sent == [] and page.text_content("#generate-error") == ""
    held[0].continue_()
    page.unroute(f"**/api/composers/{target}/instruments")
    page.wait_for_selector(f'#compose-tracks[data-loaded="1"][data-model="{target}"]', timeout=60_000)
    generate(page)
    assert page.text_content("#generate-error") == ""
    roles = [
        choice["role"] for choice in page.evaluate(f"fetch('/api/composers/{target}/instruments').then(r => r.json())")
    ]
    assert sent[-1]["model"] == target and sorted(sent[-1]["programs"]) == sorted(roles)


def test_the_mixer_offers_the_curated_instruments_keeps_the_seed_and_the_playhead_follows(
    page: object, screenshot: Shot
) -> None:
    open_studio(page, "jazz")
    before_generating = options(page, '#compose-tracks select[data-role="bass"]')
    page.fill("#seed", "12")
    first = generate(page)
    page.wait_for_selector('#mixer[data-curated="1"]')
    mixer = options(page, '#mixer select[data-role="bass"]')
    assert mixer == before_generating  # the same curated list as before generating, not GM order
    assert mixer[0] == "33" and {int(v) for v in mixer[1:8]} == {32, 34, 35, 36, 37, 38, 39}  # basses, not pianos
    label = page.eval_on_selector('#mixer select[data-role="bass"]', "s => s.options[s.selectedIndex].text")
    assert label.startswith("Electric Bass (finger) (default)")
    shown = summary(page)
    assert shown["Seed"] == "12" and download_name(page) == "twinkle-jazz-seed12.mid"

    page.select_option('#mixer select[data-role="piano"]', "4")  # change an instrument: the seed stays
    page.wait_for_function(
        f"document.querySelector('#result-card').dataset.compositionId !== '{first}'"
        " && !document.querySelector('#model-card').dataset.working",
        timeout=120_000,
    )
    after = summary(page)
    assert after["Seed"] == "12" and after["Bars"] == shown["Bars"] and after["Model"] == shown["Model"]
    assert download_name(page) == "twinkle-jazz-seed12.mid"
    assert "seed 12" in page.get_attribute("#history-items button.current", "title")
    page.wait_for_selector('#mixer[data-curated="1"]')
    assert page.input_value('#mixer select[data-role="piano"]') == "4"

    # play, pause: the playhead stays where the music stopped; undo: it goes (the old position means nothing)
    page.wait_for_function("document.querySelector('#result-audio').duration > 0", timeout=60_000)
    page.evaluate("document.querySelector('#result-audio').play()")
    page.wait_for_function("Number(document.querySelector('#result-playhead').dataset.step) > 4", timeout=30_000)
    page.evaluate("document.querySelector('#result-audio').pause()")
    page.wait_for_selector('#result-playhead[data-state="paused"]', state="attached")
    step = page.get_attribute("#result-playhead", "data-step")
    page.wait_for_timeout(400)
    assert page.is_visible("#result-playhead") and page.get_attribute("#result-playhead", "data-step") == step
    screenshot(page, "learner_mixer_1280")
    page.click("#undo")
    assert page.get_attribute("#result-card", "data-composition-id") == first
    assert page.is_hidden("#result-playhead")


def test_upload_takes_one_step_and_names_the_key(page: object, shared_datasets: Path) -> None:
    open_studio(page, "jazz")
    page.click("#tab-upload")
    assert page.locator("#upload-button").count() == 0  # no second button to press
    page.set_input_files("#upload-file", str(shared_datasets / CHORALE))
    page.wait_for_function("document.querySelector('#melody-title').textContent.startsWith('Uploaded')")
    title = page.text_content("#melody-title")
    key = next(part.strip() for part in title.split("·") if part.strip().endswith(("major", "minor")))
    written = page.eval_on_selector("#transpose", "s => s.options[s.selectedIndex].text")
    assert written == f"{key} (as written)", (title, written)


def test_an_uploads_other_tracks_are_named_and_kept_when_ticked(page: object, shared_datasets: Path) -> None:
    open_studio(page, "jazz")
    page.click("#tab-upload")
    page.set_input_files("#upload-file", str(shared_datasets / CHORALE))  # soprano (the melody), alto, tenor, bass
    page.wait_for_function("document.querySelector('#melody-title').textContent.startsWith('Uploaded')")
    generate(page)
    assert summary(page)["Input's other tracks"].startswith("Alto, Tenor, Bass: not used")
    assert "Alto" not in summary(page)["Tracks"]
    page.check("#source-melody")  # the upload again, not the result
    page.check("#keep-tracks")
    generate(page)
    assert summary(page)["Input's other tracks"] == "Alto, Tenor, Bass: kept as they were"
    assert "Alto on" in summary(page)["Tracks"] and "Tenor on" in summary(page)["Tracks"]


def test_the_models_page_at_400_px_shows_every_column_and_explains_each_chart(browser: object, server_url: str) -> None:
    shots = Path(os.environ["MUSEFORGE_SCREENSHOTS"]) if os.environ.get("MUSEFORGE_SCREENSHOTS") else None
    for width in (400, 1280):
        context = browser.new_context(base_url=server_url, viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            page.goto("/models")
            row = f'#models-table tr[data-model="{TINY_MODEL}"]'
            page.wait_for_selector(row)
            for cell in page.locator(f"{row} td").all() + page.locator(f"{row} td.actions > *").all():
                box = cell.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, cell.inner_text())
            epochs = page.locator(f'{row} td[data-label="Epochs"]')
            assert epochs.is_visible() and epochs.inner_text().strip() == "0"
            named = epochs.evaluate("td => getComputedStyle(td, '::before').content")
            if width == 400:  # one block per model, each value named
                assert named == '"Epochs"' and page.is_hidden("#models-table thead")
            else:
                assert page.is_visible('#models-table th:has-text("Epochs")')
            page.click(f'{row} button:has-text("Show")')
            page.wait_for_function("document.querySelectorAll('#metric-charts canvas').length > 0")
            page.wait_for_function("Number(document.querySelector('#loss-chart').dataset.points) > 0")
            assert "discriminator" in page.text_content("#loss-help")
            charts = page.evaluate(
                """[...document.querySelectorAll('#metric-charts figure')].map(f => ({
                    metric: f.dataset.metric,
                    help: (f.querySelector('figcaption') || {}).textContent || '',
                    legendRight: Number(f.querySelector('canvas').dataset.legendRight),
                    width: f.querySelector('canvas').clientWidth,
                }))"""
            )
            assert charts and all(c["help"] for c in charts), [c["metric"] for c in charts if not c["help"]]
            assert all(c["legendRight"] <= c["width"] for c in charts), charts  # "training data", whole
            loss_right = int(page.get_attribute("#loss-chart", "data-legend-right"))
            assert loss_right <= page.evaluate("document.querySelector('#loss-chart').clientWidth")
            assert page.text_content("#watch-progress-text") == "0 of 1 epochs done"  # 2 steps: no whole epoch
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"learner_models_{width}.png"), full_page=True)
                page.goto("/")
                page.wait_for_selector('#compose-tracks[data-loaded="1"]', timeout=60_000)
                page.screenshot(path=str(shots / f"learner_compose_{width}.png"), full_page=True)
        finally:
            context.close()
