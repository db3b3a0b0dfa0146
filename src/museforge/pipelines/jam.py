"""Jam: a GAN plays along with a melody as it is played, one bar ahead (:mod:`museforge.sampling.causal`).

Two ways in, one causal composer under both:

- :class:`JamSession`, live: the player's notes of each bar in (beats from the bar's start), the accompaniment of
  the next bar out, before the player gets there. The studio's jam mode talks to one over a WebSocket.
- :func:`jam`, a melody file played through the same composer bar by bar as if it were played live (no bar sees
  the melody that comes after it): how jam mode is measured and tested without a keyboard, and ``museforge jam``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.music.dynamics import Dynamics
from museforge.music.form import bar_spans
from museforge.music.inputs import check_melody, load_music, melody_roll, top_line, transpose_melody
from museforge.music.meter import bar_steps, beat_steps, grid_from_bars, multitrack_grid
from museforge.music.pianoroll import Multitrack, TrackNotes, fold_pitches
from museforge.pipelines.common import PipelineResult, gan_summary, made_by, melody_track_notes
from museforge.pipelines.controls import check_tempo, check_transpose, resolve_seed, retempo
from museforge.pipelines.gan import GanModel, load_gan
from museforge.render.outputs import check_output_paths, write_outputs
from museforge.sampling.causal import CausalAccompanist
from museforge.sampling.generation import Generation

#: Most bars one jam session plays (34 minutes of 4/4 at 120 bpm).
JAM_MAX_BARS = 1024
#: Most notes the player may play in one bar.
MAX_BAR_NOTES = 512
#: How the coming bar is guessed unless told: measured in docs/results.md (jam against compose).
DEFAULT_GUESS = "form"
#: Meters a session may be in: numerators and note values.
NUMERATORS = range(1, 33)
DENOMINATORS = (1, 2, 4, 8, 16)
#: Steps per quarter note of a session's saved music (the melody keeps the player's timing to a 48th).
SAVED_RESOLUTION = 12

#: A note as a session takes and gives it: ``(pitch, start_beat, duration_beats, velocity)`` from the bar's start.
PlayedNote = tuple[int, float, float, int]


def _accompanist(gan: GanModel, seed: int, guess: str) -> CausalAccompanist:
    """A causal composer for ``gan`` drawing from ``seed``."""
    generation = Generation.from_card(gan.generator, gan.card)
    return CausalAccompanist.for_card(generation, gan.card, seed, gan.variation, guess)


def jam(
    melody: str | Path | Multitrack,
    model: str,
    *,
    out_midi: Path | None = None,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    variation: float | None = None,
    guess: str = DEFAULT_GUESS,
    tracks: Sequence[str] | None = None,
    programs: Mapping[str, int] | None = None,
    tempo: float | None = None,
    transpose: int = 0,
    melody_track: str | int | None = None,
) -> PipelineResult:
    """Play ``melody`` through ``model``'s causal composer bar by bar, as if it were played live.

    The accompaniment of each bar is written from the melody of the bars before it only (``guess`` says how the
    coming bar is guessed; :mod:`museforge.sampling.causal`), so changing the melody after bar ``n`` leaves the
    accompaniment of bars ``0 .. n+1`` as it was. The output is laid out as :func:`museforge.pipelines.compose.
    compose`'s (the melody unchanged, one track per accompaniment role, the melody's meter and tempo or ``tempo``);
    ``seed``, ``variation``, ``tracks``, ``programs``, ``transpose`` and ``melody_track`` as there. Raises
    :class:`MuseforgeError` on bad input before anything is written.
    """
    check_output_paths(out_midi, wav, png)
    seed = resolve_seed(seed)
    check_tempo(tempo)
    check_transpose(transpose)
    gan = load_gan(model, tracks, programs, variation)
    card = gan.card
    accompanist = _accompanist(gan, seed, guess)
    music = load_music(melody, card.resolution)
    melody_index = check_melody(music, melody_track)
    source = transpose_melody(music.select([melody_index]), int(transpose))
    view = melody_roll(source, card.lowest_pitch, card.n_pitches)
    grid = multitrack_grid(source)
    spans = bar_spans(source.n_steps, source.downbeats)
    sounding = accompanist.play_through(view, spans, grid)
    out_tracks = [melody_track_notes(source), *gan.accompaniment(sounding, Dynamics.of(grid, source.resolution))]
    result = source.with_tracks(out_tracks, tempos=retempo(list(source.tempos), tempo))
    roles = [str(card.tracks[k]["role"]) for k in gan.tracks]
    result.metadata = made_by(
        "jam", model, seed, genre=card.get("genre"), tracks=roles, variation=gan.variation, guess=guess, tempo=tempo
    )
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"{card.get('genre', model)} jam: {source.names[0]}")
    facts = {"technique": "jam", "guess": guess, "variation": gan.variation, "transpose": int(transpose)}
    summary = gan_summary(model, card, seed, facts, music, melody_index, result, (out_midi, wav_path, png_path))
    return PipelineResult(result, Path(out_midi) if out_midi is not None else None, wav_path, png_path, summary)


def _check_meter(numerator: int, denominator: int) -> None:
    if (
        isinstance(numerator, bool)
        or isinstance(denominator, bool)
        or not isinstance(numerator, int)
        or not isinstance(denominator, int)
        or numerator not in NUMERATORS
        or denominator not in DENOMINATORS
    ):
        raise MuseforgeError(f"a jam's meter must be 1..32 over 1, 2, 4, 8 or 16, got {numerator!r}/{denominator!r}")


def _check_note(note: Sequence[Any]) -> PlayedNote:
    """A played note checked: ``(pitch 0..127, start_beat, duration_beats > 0, velocity 1..127)``."""
    if not isinstance(note, list | tuple) or len(note) != 4:
        raise MuseforgeError(f"a note is [pitch, start_beat, duration_beats, velocity], got {note!r:.80}")
    pitch, start, duration, velocity = note
    numbers = (pitch, start, duration, velocity)
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers):
        raise MuseforgeError(f"a note's values must be numbers, got {note!r:.80}")
    if not all(math.isfinite(float(v)) for v in numbers):
        raise MuseforgeError(f"a note's values must be finite, got {note!r:.80}")
    if int(pitch) != pitch or not 0 <= pitch <= 127:
        raise MuseforgeError(f"a note's pitch must be a whole number 0..127, got {pitch!r}")
    if int(velocity) != velocity or not 1 <= velocity <= 127:
        raise MuseforgeError(f"a note's velocity must be a whole number 1..127, got {velocity!r}")
    if duration <= 0:
        raise MuseforgeError(f"a note's duration must be more than 0 beats, got {duration!r}")
    return int(pitch), float(start), float(duration), int(velocity)


class JamSession:
    """One player jamming with a GAN in a set meter: :meth:`first_bar`, then :meth:`play_bar` per bar.

    Notes in and out are ``[.., start_beat, duration_beats, ..]`` in quarter-note beats from the bar's start: the
    player's ``(pitch, start_beat, duration_beats, velocity)``, the band's ``[track, pitch, start_beat,
    duration_beats, velocity, tied]`` (``track`` indexes :attr:`tracks`; ``tied`` 1: the note goes on from the bar
    before, to be held over the bar line rather than struck again). Tempo is the player's: the session works in
    beats, so a tempo change cannot upset it. Raises :class:`MuseforgeError` on a bad model, meter or note.
    """

    def __init__(
        self,
        model: str,
        *,
        numerator: int = 4,
        denominator: int = 4,
        seed: int | None = None,
        variation: float | None = None,
        guess: str = DEFAULT_GUESS,
    ) -> None:
        _check_meter(numerator, denominator)
        self.model = model
        self.seed = resolve_seed(seed)
        self.guess = guess
        self.gan = load_gan(model, None, None, variation)
        card = self.gan.card
        self.meter = (numerator, denominator)
        self.resolution = card.resolution
        self.bar_length = bar_steps(numerator, denominator, card.resolution)
        if self.bar_length < 1:
            raise MuseforgeError(f"a {numerator}/{denominator} bar is shorter than the model's grid")
        self.beats_per_bar = numerator * 4 / denominator
        self._grid = grid_from_bars(
            [(0, self.bar_length)], [beat_steps(numerator, denominator, card.resolution)], self.bar_length
        )
        self._accompanist = _accompanist(self.gan, self.seed, guess)
        self._melody: list[tuple[int, int, int, int]] = []  # (pitch, start, end, velocity) at SAVED_RESOLUTION
        self._band: list[np.ndarray] = []
        self._first: list[list[Any]] | None = None

    @property
    def tracks(self) -> list[dict[str, Any]]:
        """The band: ``{"name", "role", "program", "is_drum"}`` per accompaniment track."""
        out = []
        for k in self.gan.tracks:
            spec = self.gan.card.tracks[k]
            program = self.gan.programs.get(spec["role"], int(spec["program"]))
            name = spec.get("name") or str(spec["role"]).title()
            out.append({"name": name, "role": spec["role"], "program": program, "is_drum": bool(spec["is_drum"])})
        return out

    @property
    def bar(self) -> int:
        """The bar whose melody the session expects next."""
        return self._accompanist.bars_heard

    def first_bar(self) -> list[list[Any]]:
        """The band's bar 0, written before any melody is known (its drums; the pitched tracks wait for a key).
        The same notes on every call."""
        if self._first is None:
            self._first = self._bar_notes(self._write())
        return self._first

    def play_bar(self, notes: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Hear the player's ``notes`` of bar :attr:`bar`; return the band's next bar.

        Notes starting outside the bar are dropped and those running past its end are cut there.
        """
        if len(notes) > MAX_BAR_NOTES:
            raise MuseforgeError(f"{len(notes)} notes in one bar; the limit is {MAX_BAR_NOTES}")
        checked = [_check_note(note) for note in notes]
        self._next_bar_room()
        self.first_bar()
        self._hear(checked)
        return self._bar_notes(self._write())

    def skip_bars(self, count: int) -> None:
        """``count`` bars passed with nothing heard from the player (a late client): silent bars."""
        for _ in range(max(0, int(count))):
            self.play_bar([])

    def multitrack(self, tempo: float = 120.0) -> Multitrack:
        """The session so far: the player's melody (to a 48th note) and the band's tracks, at ``tempo``, as long
        as the bars played."""
        check_tempo(tempo)
        bars = self.bar
        resolution = math.lcm(SAVED_RESOLUTION, self.resolution)
        melody = TrackNotes("Jam (melody)", "melody", 0, False, _scaled(self._melody, resolution // SAVED_RESOLUTION))
        band: list[TrackNotes] = []
        if bars:
            sounding = np.concatenate(self._band[:bars], axis=1)
            grid = np.tile(self._grid, (bars, 1))
            scale = resolution // self.resolution
            for track in self.gan.accompaniment(sounding, Dynamics.of(grid, self.resolution)):
                notes = _scaled(track.notes, scale)
                band.append(TrackNotes(track.name, track.role, track.program, track.is_drum, notes))
        music = Multitrack.from_notes(
            [melody, *band],
            resolution,
            tempo=float(tempo),
            time_signature=self.meter,
            n_steps=bars * self.bar_length * (resolution // self.resolution),
        )
        summary = self.summary
        music.metadata = made_by(
            "jam",
            self.model,
            self.seed,
            genre=summary["genre"],
            tracks=summary["tracks"],
            variation=self.gan.variation,
            guess=self.guess,
            tempo=float(tempo),
        )
        return music

    @property
    def summary(self) -> dict[str, Any]:
        card = self.gan.card
        return {
            "technique": "jam",
            "model": self.model,
            "genre": card.get("genre"),
            "architecture": card.get("architecture"),
            "seed": self.seed,
            "bars": self.bar,
            "meter": f"{self.meter[0]}/{self.meter[1]}",
            "variation": self.gan.variation,
            "guess": self.guess,
            "tracks": [t["role"] for t in self.tracks],
        }

    # ---------------------------------------------------------------------------------------------- inside
    def _next_bar_room(self) -> None:
        if self.bar >= JAM_MAX_BARS:
            raise MuseforgeError(f"a jam session plays at most {JAM_MAX_BARS} bars; save it and start another")

    def _write(self) -> np.ndarray:
        bar = self._accompanist.write(self._grid)
        self._band.append(bar)
        return bar

    def _hear(self, notes: list[PlayedNote]) -> None:
        """The player's checked notes of the bar: kept at :data:`SAVED_RESOLUTION`, heard on the model's grid."""
        offset = self.bar * self.beats_per_bar
        sounding = np.zeros((self.bar_length, 128), dtype=bool)
        for pitch, start, duration, velocity in notes:
            end = min(start + duration, self.beats_per_bar)
            if not 0 <= start < self.beats_per_bar:
                continue
            fine = (round((offset + start) * SAVED_RESOLUTION), round((offset + end) * SAVED_RESOLUTION))
            self._melody.append((pitch, fine[0], max(fine[1], fine[0] + 1), velocity))
            first = min(round(start * self.resolution), self.bar_length - 1)
            sounding[first : max(first + 1, round(end * self.resolution)), pitch] = True
        card = self.gan.card
        self._accompanist.hear(fold_pitches(top_line(sounding), card.lowest_pitch, card.n_pitches))

    def _bar_notes(self, bar: np.ndarray) -> list[list[Any]]:
        """The band's bar ``(K, L, P)`` as ``[track, pitch, start_beat, duration_beats, velocity, tied]`` notes,
        with the dynamics of its place in its phrase; ``tied`` is 1 for a note that goes on sounding from the bar
        before (held over the bar line, not struck again: one note in the saved file too), else 0."""
        index = len(self._band) - 1
        phrase = index - index % 4
        grid = np.tile(self._grid, (index - phrase + 1, 1))
        padded = np.zeros((bar.shape[0], grid.shape[0], bar.shape[2]), dtype=bool)
        padded[:, -self.bar_length :] = bar
        first = (index - phrase) * self.bar_length
        held = self._band[index - 1][:, -1] if index else np.zeros(bar.shape[::2], dtype=bool)  # (K, P)
        lowest = self.gan.card.lowest_pitch
        out: list[list[Any]] = []
        for track, notes in enumerate(self.gan.accompaniment(padded, Dynamics.of(grid, self.resolution))):
            k = self.gan.tracks[track]
            for pitch, start, end, velocity in notes.notes:
                beat, beats = (start - first) / self.resolution, (end - start) / self.resolution
                tied = start == first and bool(held[k, pitch - lowest])
                out.append([track, int(pitch), round(beat, 4), round(beats, 4), int(velocity), int(tied)])
        return out


def _scaled(notes: list[tuple[int, int, int, int]], scale: int) -> list[tuple[int, int, int, int]]:
    return [(p, s * scale, e * scale, v) for p, s, e, v in notes]


__all__ = ["DEFAULT_GUESS", "JAM_MAX_BARS", "MAX_BAR_NOTES", "JamSession", "jam"]
