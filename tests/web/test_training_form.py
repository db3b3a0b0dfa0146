"""The training form in a real browser: a model size to choose and the run's estimated time before it starts."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.web, pytest.mark.slow]

ESTIMATE = "document.querySelector('#train-estimate').textContent"


def test_the_form_estimates_the_run_and_the_size_changes_it(page: object) -> None:
    page.goto("/models")
    page.wait_for_function("document.querySelector('#f-genre').options.length > 0")
    assert page.input_value("#f-size") == "small"
    page.select_option("#f-genre", "bach")
    page.fill("#f-epochs", "20")
    page.wait_for_function(f"{ESTIMATE}.startsWith('Estimated time: about')", timeout=15_000)
    small = page.evaluate(ESTIMATE)
    assert "small model" in small and "steps on a 2-core CPU" in small
    page.select_option("#f-size", "large")
    page.wait_for_function(f"{ESTIMATE}.startsWith('Estimated time: at least')", timeout=15_000)
    assert "large model" in page.evaluate(ESTIMATE)
    page.select_option("#f-genre", "pop")  # not built in the test home
    page.wait_for_function(f"{ESTIMATE}.includes('museforge datasets build pop')", timeout=15_000)
