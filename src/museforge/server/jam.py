"""What the jam route does, kept out of the route: one connection's messages in, the band's answers out.

A jam is a :class:`museforge.pipelines.jam.JamSession` fed bar by bar over a WebSocket (``/api/jam``,
:mod:`museforge.server.routes.jam`). Messages are JSON objects with a ``type``:

- ``start`` ``{model, numerator, denominator, seed, variation}`` -> ``ready`` ``{beats_per_bar, tracks, bar: 0}``
  and ``accompaniment`` ``{bar: 0, notes}``, the band's first bar (a new ``start`` replaces a running jam).
- ``bar`` ``{bar: n, notes: [[pitch, start_beat, duration_beats, velocity], ...]}``: what the player played in bar
  ``n`` -> ``accompaniment`` ``{bar: n + 1, notes: [[track, pitch, start_beat, duration_beats, velocity, tied],
  ...]}`` (``tied`` 1: the note goes on from the bar before, held over the bar line).
  A bar ahead of the jam's means bars went by without a message: they count as silent. A bar already played is
  refused and the jam goes on. A note may start up to a bar before bar ``n`` (``start_beat < 0``): a pickup, played
  after the page sent the bar before (it sends a bar a little before it ends, so that the answer is there in time);
  the saved jam keeps it where it was played, and the band does not hear it.
- ``save`` ``{name, tempo, tempos, wav}`` -> ``saved`` ``{composition}``: the jam so far as a stored composition (the
  same JSON as ``POST /api/compositions`` answers), which the studio regenerates, enhances and extends like any
  other; ``tempo`` is the opening tempo, ``tempos`` the changes on the way as ``[bar, bpm]``.
- ``stop`` -> ``stopped`` ``{bar}``, and the connection closes.

Anything wrong gets ``error`` ``{detail, request}`` (one line; ``request`` is the type of the message it answers,
when known) and the jam goes on. Every call into the library is synchronous CPU work: the route runs
:meth:`JamConnection.handle` in a worker thread, one message at a time.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from museforge.errors import MuseforgeError
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.common import PipelineResult, kept_track
from museforge.render.audio import synthesizer_available
from museforge.render.outputs import tracks_and_files, write_outputs
from museforge.server import studio
from museforge.server.schemas import SEED_MAX, TEMPO_RANGE, MelodySource
from museforge.server.settings import Settings
from museforge.store import Store

#: A label's name part: printable characters, at most this long.
NAME_LENGTH = 64


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class StartMessage(_Message):
    """Start a jam with a composing model in a meter."""

    type: Literal["start"]
    model: str = Field(min_length=1, max_length=64)
    numerator: int = Field(4, ge=1, le=32)
    denominator: Literal[1, 2, 4, 8, 16] = 4
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    variation: float | None = Field(None, ge=0.0, le=1.0)


#: One played note: pitch, start and length in quarter-note beats from the bar's start (a pickup before it: below
#: zero), velocity.
PlayedNote = tuple[
    Annotated[int, Field(ge=0, le=127)],
    float,
    Annotated[float, Field(gt=0)],
    Annotated[int, Field(ge=1, le=127)],
]


class BarMessage(_Message):
    """The notes the player played in bar ``bar``."""

    type: Literal["bar"]
    bar: int = Field(ge=0)
    notes: list[PlayedNote] = Field(default_factory=list)


class SaveMessage(_Message):
    """Store the jam so far as a composition."""

    type: Literal["save"]
    name: str = Field("", max_length=200)
    tempo: float = Field(120.0, ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1])
    tempos: list[tuple[Annotated[int, Field(ge=1)], Annotated[float, Field(ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1])]]] = (
        Field(default_factory=list, max_length=1024)
    )
    wav: bool = True


class StopMessage(_Message):
    """End the jam."""

    type: Literal["stop"]


MESSAGES: dict[str, type[_Message]] = {
    "start": StartMessage,
    "bar": BarMessage,
    "save": SaveMessage,
    "stop": StopMessage,
}


@dataclass
class Reply:
    """What to send back for one message, and whether the connection ends after it."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    close: bool = False


class JamRoom:
    """The jam connections open at once, against the server's limit (``jam_sessions``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()
        #: One band's bar composed at a time: on a small CPU, bars of several jams composed at once slow each other
        #: down more than waiting in turn does (4 jams at once on 2 cores, p99 73 ms at once, ms in turn: bench.jam).
        self.turn = threading.Lock()

    def enter(self) -> bool:
        """Count one more connection; False (and nothing counted) when the room is full."""
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open = max(0, self.open - 1)


def error(detail: str, request: str | None = None) -> dict[str, Any]:
    """An ``error`` message: the detail on one line, and the type of the message it answers."""
    message: dict[str, Any] = {"type": "error", "detail": " ".join(str(detail).split())[:500]}
    if request is not None:
        message["request"] = request
    return message


def parse(text: str) -> _Message:
    """One client message, checked; raises MuseforgeError with a one-line reason."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MuseforgeError("a message must be a JSON object") from None
    if not isinstance(data, dict):
        raise MuseforgeError("a message must be a JSON object")
    kind = data.get("type")
    model = MESSAGES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise MuseforgeError(f"unknown message type {kind!r}: send {', '.join(MESSAGES)}")
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise MuseforgeError(f"invalid {kind} message: {_one_line(invalid)}") from None


def _one_line(invalid: ValidationError) -> str:
    parts = []
    for problem in invalid.errors()[:3]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
    more = f" (and {invalid.error_count() - 3} more)" if invalid.error_count() > 3 else ""
    return "; ".join(parts) + more


def _name(text: str) -> str:
    """A saved jam's name as shown: printable characters, single spaces, at most :data:`NAME_LENGTH`."""
    name = " ".join("".join(c if c.isprintable() else " " for c in text).split())[:NAME_LENGTH].strip()
    return name or "Jam"


class JamConnection:
    """One WebSocket's jam: at most one :class:`~museforge.pipelines.jam.JamSession` at a time."""

    def __init__(
        self, store: Store, settings: Settings, slots: threading.Semaphore, turn: threading.Lock | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.slots = slots
        self.turn = turn if turn is not None else threading.Lock()  # the room's: one band's bar at a time
        self.session: Any = None
        self.model = ""
        self.pickups: list[tuple[int, float, float, int]] = []  # (pitch, beat from the jam's start, beats, velocity)

    def handle(self, text: str) -> Reply:
        """Answer one message (JSON text); every failure becomes one ``error`` message."""
        request: str | None = None
        try:
            message = parse(text)
            request = str(getattr(message, "type", ""))
            if isinstance(message, StartMessage):
                return Reply(self.start(message))
            if isinstance(message, BarMessage):
                return Reply([self.play(message)])
            if isinstance(message, SaveMessage):
                return Reply([self.save(message)])
            bar = self.session.bar if self.session is not None else 0
            self.close()
            return Reply([{"type": "stopped", "bar": bar}], close=True)
        except MuseforgeError as refused:
            return Reply([error(str(refused), request)])
        except Exception as failure:  # a bug must not end the jam, nor print a traceback
            detail = f"internal error: {type(failure).__name__}: {failure}"
            print(f"museforge: jam: {' '.join(detail.split())}", file=sys.stderr, flush=True)
            return Reply([error(detail, request)])

    def close(self) -> None:
        """Free the session (a stop, a disconnect, a new start)."""
        self.session = None
        self.pickups = []

    @property
    def max_bars(self) -> int:
        from museforge.pipelines.jam import JAM_MAX_BARS

        return min(self.settings.jam_max_bars or JAM_MAX_BARS, JAM_MAX_BARS)

    def start(self, message: StartMessage) -> list[dict[str, Any]]:
        from museforge.pipelines.jam import JamSession

        studio.check_composer(message.model)
        with self.turn:
            session = JamSession(
                message.model,
                numerator=message.numerator,
                denominator=message.denominator,
                seed=message.seed,
                variation=message.variation,
            )
            first = session.first_bar()
        self.close()
        self.session, self.model = session, message.model  # a failed start leaves the running jam as it was
        ready = {
            "type": "ready",
            "model": message.model,
            "beats_per_bar": session.beats_per_bar,
            "tracks": session.tracks,
            "bar": session.bar,
            "max_bars": self.max_bars,
        }
        return [ready, {"type": "accompaniment", "bar": 0, "notes": first}]

    def _session(self) -> Any:
        if self.session is None:
            raise MuseforgeError("no jam is running: send a start message first")
        return self.session

    def play(self, message: BarMessage) -> dict[str, Any]:
        session = self._session()
        if len(message.notes) > self.settings.jam_max_notes:
            limit = self.settings.jam_max_notes
            raise MuseforgeError(f"{len(message.notes)} notes in bar {message.bar}: at most {limit}")
        if any(start < -session.beats_per_bar for _, start, _, _ in message.notes):
            raise MuseforgeError("a note starts more than a bar before its bar")
        if message.bar < session.bar:
            raise MuseforgeError(f"bar {message.bar} was already played: the jam is at bar {session.bar}")
        if message.bar >= self.max_bars:
            raise MuseforgeError(f"a jam is at most {self.max_bars} bars long: save it and start another")
        with self.turn:
            if message.bar > session.bar:
                session.skip_bars(message.bar - session.bar)
            notes = session.play_bar([note for note in message.notes if note[1] >= 0])
        offset = message.bar * session.beats_per_bar
        self.pickups += [(p, offset + start, length, v) for p, start, length, v in message.notes if start < 0]
        return {"type": "accompaniment", "bar": session.bar, "notes": notes}

    def save(self, message: SaveMessage) -> dict[str, Any]:
        session = self._session()
        if session.bar < 1:
            raise MuseforgeError("nothing to save yet: play at least one bar")
        name = _name(message.name)
        request = MelodySource.model_validate({"wav": message.wav and synthesizer_available(), "png": True})
        summary = dict(session.summary)

        def run(out: studio.Outputs) -> PipelineResult:
            music = with_pickups(session.multitrack(message.tempo), self.pickups)
            music.tempos = tempo_map(music, message.tempo, message.tempos)
            wav, png = write_outputs(music, out.midi, out.wav, out.png, title=f"{name} (jam, {self.model})")
            summary.setdefault("model", self.model)
            numerator, denominator = music.meter
            summary.update({"jam": True, "name": name, "tempo": round(float(message.tempo), 3)})
            summary.setdefault("bars", music.n_bars)
            summary.setdefault("meter", f"{numerator}/{denominator}")
            summary.update(tracks_and_files(music, out.midi, wav, png))
            return PipelineResult(music, out.midi, wav, png, summary)

        composition = studio.produce(
            self.store, request, self.slots, technique="compose", label=f"jammed:{name}", run=run
        )
        return {"type": "saved", "composition": composition.model_dump(mode="json")}


def with_pickups(music: Multitrack, pickups: list[tuple[int, float, float, int]]) -> Multitrack:
    """``music`` with the player's pickups ``(pitch, beat from the start, beats, velocity)`` added to its melody (the
    first track), where they were played; those before the first bar are left out."""
    if not pickups:
        return music
    melody = kept_track(music, 0)
    notes = list(melody.notes)
    for pitch, beat, length, velocity in pickups:
        start, end = round(beat * music.resolution), round((beat + length) * music.resolution)
        if 0 <= start < music.n_steps:
            notes.append((pitch, start, max(start + 1, min(end, music.n_steps)), velocity))
    notes.sort(key=lambda note: (note[1], note[0]))
    tracks = [TrackNotes(melody.name, melody.role, melody.program, melody.is_drum, notes)]
    out = music.with_tracks(tracks + [kept_track(music, i) for i in range(1, music.n_tracks)])
    out.metadata = music.metadata
    return out


def tempo_map(music: Multitrack, tempo: float, changes: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The tempo map of a saved jam: ``tempo`` from the start, each ``(bar, bpm)`` change from its bar on (changes
    after the music's end are left out, and so are those that change nothing)."""
    downbeats = [int(step) for step in (music.downbeats if music.downbeats is not None else [])]
    tempos = [(0, float(tempo))]
    for bar, bpm in sorted(changes):
        if bar < len(downbeats) and float(bpm) != tempos[-1][1]:
            tempos = [*(t for t in tempos if t[0] != downbeats[bar]), (downbeats[bar], float(bpm))]
    return tempos
