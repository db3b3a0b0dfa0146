"""Browser-test fixtures: the real studio server (uvicorn in a subprocess on a free loopback port) and Chromium.

Chromium is Debian's (``apt-get install chromium``) driven by Playwright's sync API; the machine is offline, so
the page must load nothing from outside the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_for
from tests.tiny_models import TINY_MODEL

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MUSEFORGE_CHROMIUM", "/usr/lib/chromium/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def web_home(make_tiny_bach_home: Callable[..., Path]) -> Path:
    """A data home with the bach dataset (8 real chorales) and a tiny completed user model."""
    return make_tiny_bach_home("web_home", name=TINY_MODEL, songs=8)


@pytest.fixture(scope="session")
def server_url(web_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio served by ``serve()`` in its own process over ``web_home``; stopped with SIGINT at the end."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "MUSEFORGE_HOME": str(web_home)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    code = f"from museforge.server.app import serve; serve('127.0.0.1', {port}, {str(web_home)!r})"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "the server process exited"
        try:
            return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, timeout=60, message="the studio server to answer /api/health")
    except (AssertionError, pytest.fail.Exception) as error:
        process.kill()
        pytest.fail(f"the studio server did not start ({error}):\n{log.read_text()[-3000:]}")
    yield url
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set MUSEFORGE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, server_url: str) -> Iterator[object]:
    """A fresh page (1280 x 900) on the studio; fails the test on any page error or console error."""
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on(
        "requestfailed",
        lambda request: (
            request.failure != "net::ERR_ABORTED"  # a closed event stream or a page left: by design
            and errors.append(f"request failed: {request.url} ({request.failure})")
        ),
    )
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[object, str], Path]:
    """``screenshot(page, name)``: a full-page PNG in the test's tmp folder, also copied into
    ``$MUSEFORGE_SCREENSHOTS`` when that is set (for a person to look at)."""

    def take(page: object, name: str) -> Path:
        path = tmp_path / f"studio_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        keep = os.environ.get("MUSEFORGE_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(keep) / f"studio_{name}.png")
        return path

    return take
