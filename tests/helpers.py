"""Helpers the tests share (import them from here, never from another test module).

:func:`wait_for` is the one poller: a test that waits for a job, a build, a checkpoint or a server waits for a
condition, never for a fixed time. :func:`server_sent_events` reads a job's event stream. :func:`read_score` and
:func:`sheet_music_notes` read a MusicXML file and a part's notes back as a piano roll has them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from music21 import stream

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


def read_score(path: Path) -> stream.Score:
    """A MusicXML file read by music21 (a score, whatever music21 could have made of another file)."""
    from music21 import converter
    from music21 import stream as streams

    score = converter.parse(path)
    assert isinstance(score, streams.Score), type(score)
    return score


def sheet_music_notes(part: Any, resolution: int) -> list[tuple[Any, int, int]]:
    """The notes of a music21 part read from MusicXML as ``(pitch, start_step, end_step)``, sorted, on a grid of
    ``resolution`` steps per quarter note: tied pieces joined per pitch (ties are per note, also in a chord),
    an unpitched (drum) note's pitch is its staff position (``"C5"``)."""
    from music21 import chord, note

    done: list[tuple[Any, Fraction, Fraction]] = []
    held: dict[Any, Fraction] = {}  # pitch: where its tied note began
    for element in part.flatten().notes:
        start = Fraction(element.offset) * resolution
        end = start + Fraction(element.duration.quarterLength) * resolution
        members: list[Any] = list(element.notes) if isinstance(element, chord.ChordBase) else [element]
        for member in members:
            pitch = member.displayName if isinstance(member, note.Unpitched) else member.pitch.midi
            tie = member.tie.type if member.tie is not None else None
            if tie in ("continue", "stop") and pitch in held:
                if tie == "stop":
                    done.append((pitch, held.pop(pitch), end))
            elif tie == "start":
                held[pitch] = start
            else:
                done.append((pitch, start, end))
    assert not held, f"ties that never stop: {held}"
    assert all(s.denominator == 1 and e.denominator == 1 for _, s, e in done), "notes off the grid"
    return sorted(((p, int(s), int(e)) for p, s, e in done), key=lambda n: (n[1], str(n[0]), n[2]))
