"""Helpers the tests share (import them from here, never from another test module).

:func:`wait_for` is the one poller: a test that waits for a job, a build, a checkpoint or a server waits for a
condition, never for a fixed time. :func:`server_sent_events` reads a job's event stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], timeout: float = 90.0, interval: float = 0.2, message: str = "the condition"
) -> T:
    """Call ``condition`` every ``interval`` seconds until it returns something truthy, and return that.

    Fails the test after ``timeout`` seconds ("timed out after ... waiting for ``message``"). An exception raised
    by ``condition`` (an assertion that the awaited thing can no longer happen, say) ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {message}", pytrace=False)
        time.sleep(interval)


def server_sent_events(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(event name, data)`` of each event in the lines of a server-sent event stream, as they come."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            yield name, json.loads(line.removeprefix("data: "))
