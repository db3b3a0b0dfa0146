"""Instrument sounds for the studio's jam mode: one WAV "bank" per General MIDI program or drum kit, rendered once
with the project's own renderer (:func:`museforge.render.audio.render_wav`, FluidSynth and the GM soundfont) and
kept under ``<data>/sounds/``.

A pitched bank holds one note of the program at each pitch of :data:`PITCHES` (every half octave), the note
``k`` starting at ``k * slot_seconds``; a drum bank holds each key of :data:`DRUM_KEYS` the same way. The page
cuts a note out of the bank and pitches it to the nearest note it needs (Web Audio's ``playbackRate``), so the
band sounds like the chosen instruments without a sample library in the page. One render per bank: loading the
soundfont is most of the cost, and one file keeps the relative loudness of the instrument's notes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import BaseModel, Field

from museforge.errors import MuseforgeError
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.render.audio import render_wav, synthesizer_available

#: Pitches of a pitched bank: C1 to C7 every half octave, so a note is never pitched more than 3 semitones.
PITCHES = tuple(range(24, 97, 6))
#: Keys of a drum bank: the General MIDI percussion map.
DRUM_KEYS = tuple(range(35, 82))
#: Bank layout: a note's length and the time between two notes' starts, in seconds (pitched, then drums).
NOTE_SECONDS, SLOT_SECONDS = 1.5, 3.0
DRUM_NOTE_SECONDS, DRUM_SLOT_SECONDS = 0.25, 1.25
SAMPLE_RATE = 22050
VELOCITY = 100
#: Banks are rendered at 60 bpm on a grid of 12 steps per beat: a step is 1/12 s.
_STEPS_PER_SECOND = 12
#: The folder under the data home; its version changes with the layout, so old banks are never misread.
SOUNDS_FOLDER = Path("sounds") / "v1"
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class BankLayout(BaseModel):
    """Where the notes of one kind of bank lie."""

    notes: list[int] = Field(description="the pitches (or drum keys) of the bank's notes, in order")
    note_seconds: float = Field(description="how long each note is held")
    slot_seconds: float = Field(description="note k starts at k * slot_seconds")


class Sounds(BaseModel):
    """What ``GET /api/sounds`` says: whether banks can be rendered here, and their layouts."""

    available: bool = Field(description="FluidSynth and a soundfont are installed (else the page uses its own synth)")
    sample_rate: int
    pitched: BankLayout = Field(description="GET /api/sounds/{program}.wav")
    drums: BankLayout = Field(description="GET /api/sounds/drums/{kit}.wav")


def sounds() -> Sounds:
    """The bank layouts and whether this server can render them."""
    return Sounds(
        available=synthesizer_available(),
        sample_rate=SAMPLE_RATE,
        pitched=BankLayout(notes=list(PITCHES), note_seconds=NOTE_SECONDS, slot_seconds=SLOT_SECONDS),
        drums=BankLayout(notes=list(DRUM_KEYS), note_seconds=DRUM_NOTE_SECONDS, slot_seconds=DRUM_SLOT_SECONDS),
    )


def bank(data_dir: Path, program: int, *, drums: bool = False) -> Path:
    """The WAV bank of General MIDI ``program`` (a drum kit with ``drums=True``), rendered on first use.

    Raises
    ------
    MuseforgeError
        ``program`` is not 0-127, or FluidSynth or a soundfont is missing.
    """
    if not 0 <= program <= 127:
        raise MuseforgeError(f"a General MIDI program is 0-127, got {program}")
    folder = data_dir / SOUNDS_FOLDER
    path = folder / (f"drums-{program}.wav" if drums else f"program-{program}.wav")
    if path.is_file():
        return path
    with _lock(path.name):
        if not path.is_file():  # another request may have rendered it meanwhile
            folder.mkdir(parents=True, exist_ok=True)
            render_wav(_bank_music(program, drums), path, sample_rate=SAMPLE_RATE)
    return path


def _bank_music(program: int, drums: bool) -> Multitrack:
    """One track playing each note of a bank in its slot, at 60 bpm."""
    notes_in = DRUM_KEYS if drums else PITCHES
    note, slot = (DRUM_NOTE_SECONDS, DRUM_SLOT_SECONDS) if drums else (NOTE_SECONDS, SLOT_SECONDS)
    length, every = round(note * _STEPS_PER_SECOND), round(slot * _STEPS_PER_SECOND)
    notes = [(pitch, k * every, k * every + length, VELOCITY) for k, pitch in enumerate(notes_in)]
    track = TrackNotes("drums" if drums else "bank", "drums" if drums else "bank", program, drums, notes)
    return Multitrack.from_notes([track], _STEPS_PER_SECOND, tempo=60.0, n_steps=len(notes_in) * every)


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())
