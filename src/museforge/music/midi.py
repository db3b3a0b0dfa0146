"""Read Standard MIDI Files into a :class:`Multitrack` (parsed by :mod:`museforge.music.smf`, with hard bounds)
and write them back (encoded by :mod:`museforge.music.smf_writer`).

Reading quantizes note onsets and offsets to ``resolution`` steps per quarter-note beat, in the file's own ticks
(so tempo changes do not move notes off the grid), or, when beat times are given (POP909's beat annotations),
by the beats heard in the audio-time of the file. Tracks are split per (MIDI track, channel); each gets a role
from its name, program and drum channel.

What made a piece (:attr:`Multitrack.metadata`: technique, model, seed, settings) travels in the file as one text
meta event in the conductor track: :data:`~museforge.music.smf.METADATA_PREFIX` then compact JSON of at most
:data:`~museforge.music.smf.MAX_METADATA_BYTES` bytes. Reading keeps it when it is a JSON object and ignores it
otherwise (too long, not JSON, not an object), so a file with odd metadata reads as one without.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.files import atomic_write_bytes
from museforge.music.keys import estimate_key, key_signature
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.music.sections import join_sections, perform_sections
from museforge.music.smf import MAX_METADATA_BYTES, METADATA_PREFIX, read_smf
from museforge.music.smf_writer import (
    TrackEvents,
    encode_smf,
    key_signature_meta,
    tempo_meta,
    text_meta,
    time_signature_meta,
    track_name_meta,
)
from museforge.music.tracks import role_for_track

DRUM_CHANNEL = 9
#: Tempi outside this range (quarter notes per minute) are treated as corrupt and replaced by their neighbours.
MIN_TEMPO, MAX_TEMPO = 10.0, 400.0
#: Longest piece read, in steps: about 2.3 hours at 120 bpm and 12 steps per beat.
MAX_STEPS = 200_000
WRITE_TICKS_PER_BEAT = 480
#: Most (track, channel) parts with notes in one file (an orchestral score has about 40).
MAX_PARTS = 256
#: Most cells of the piano rolls of one file, parts x steps (each cell costs two bytes per pitch).
MAX_PART_STEPS = 2_000_000


@dataclass
class _Part:
    """Notes gathered for one (track, channel) while parsing, in ticks."""

    name: str = ""
    program: int | None = None
    notes: list[tuple[int, int, int, int]] = field(default_factory=list)  # pitch, start, end, velocity


def read_midi(
    path: str | Path,
    resolution: int = 12,
    beat_times: np.ndarray | None = None,
    downbeat_times: np.ndarray | None = None,
    max_steps: int = MAX_STEPS,
) -> Multitrack:
    """Read a MIDI file into a multitrack on a grid of ``resolution`` steps per beat.

    Parameters
    ----------
    path : path to a ``.mid`` file.
    resolution : steps per quarter-note beat.
    beat_times : np.ndarray, shape (beats,), optional
        Times in seconds of every beat (from annotations); when given, notes are placed by these beats instead
        of the file's tick grid.
    downbeat_times : np.ndarray, shape (bars,), optional
        Times in seconds of bar starts (with ``beat_times``); gives the multitrack's downbeats.
    max_steps : longest accepted piece, in steps.

    The two tracks museforge wrote for a section's part are read as that one part again
    (:func:`museforge.music.sections.join_sections`).

    Raises
    ------
    MuseforgeError
        The file is not MIDI, has no notes, or is longer than ``max_steps``.
    """
    path = Path(path)
    # On the file's own grid the length limit is known in beats before any note is read; annotated beat times
    # (POP909) place notes by audio time, so their limit is checked after the grid is made.
    smf = read_smf(path, max_beats=(max_steps + 1) / resolution if beat_times is None else None)
    ppq = smf.ticks_per_beat
    parts: dict[tuple[int, int], _Part] = {}
    tempo_ticks: list[tuple[int, float]] = []
    signature_ticks: list[tuple[int, int, int]] = []
    key_ticks: list[tuple[int, int, bool]] = []
    for track_index, track in enumerate(smf.tracks):
        tempo_ticks += track.tempos
        signature_ticks += [(t, n, d) for t, n, d in track.signatures if _plausible_meter(n, d)]
        key_ticks += track.keys
        for channel, pitch, start, end, velocity in track.notes:
            part = parts.get((track_index, channel))
            if part is None:
                part = parts[(track_index, channel)] = _Part(track.name, track.programs.get(channel, 0))
            part.notes.append((pitch, start, end, velocity))
    if not parts:
        raise MuseforgeError(f"{path.name} has no notes")
    if len(parts) > MAX_PARTS:
        raise MuseforgeError(f"{path.name} has {len(parts):,} tracks with notes; the limit is {MAX_PARTS}")

    tempo_ticks = _clean_tempi(tempo_ticks)
    to_step = _step_grid(resolution, ppq, tempo_ticks, beat_times)

    tracks: list[TrackNotes] = []
    for (_, channel), part in sorted(parts.items()):
        raw = np.asarray(part.notes, dtype=np.int64)
        starts = to_step(raw[:, 1])
        ends = np.maximum(to_step(raw[:, 2]), starts + 1)  # zero-length notes last one step
        keep = starts >= 0
        columns = np.stack([raw[keep, 0], starts[keep], ends[keep], raw[keep, 3]], axis=1)
        notes = list(map(tuple, columns.tolist()))
        is_drum = channel == DRUM_CHANNEL
        program = part.program or 0
        name = part.name.strip() or (f"Drums {len(tracks)}" if is_drum else f"Track {len(tracks)}")
        tracks.append(TrackNotes(name, role_for_track(name, program, is_drum), program, is_drum, notes))

    n_steps = max(n[2] for t in tracks for n in t.notes)
    if n_steps > max_steps:
        raise MuseforgeError(f"{path.name} is too long: {n_steps} steps at {resolution} per beat (limit {max_steps})")
    if n_steps * len(tracks) > MAX_PART_STEPS:
        raise MuseforgeError(
            f"{path.name} is too large: {len(tracks)} tracks of {n_steps:,} steps (limit {MAX_PART_STEPS:,} in all)"
        )
    if beat_times is not None:
        tempos = [(0, _median_tempo(np.asarray(beat_times)))]
        signatures = [(0, 4, 4)]
    else:
        tempos = [(int(to_step(np.array([t]))[0]), bpm) for t, bpm in tempo_ticks] or [(0, 120.0)]
        signatures = [(int(to_step(np.array([t]))[0]), n, d) for t, n, d in signature_ticks] or [(0, 4, 4)]
        tempos, signatures = _from_step_zero(tempos), _from_step_zero(signatures)
    multitrack = Multitrack.from_notes(tracks, resolution, tempos=tempos, time_signatures=signatures)
    multitrack.metadata = decode_metadata(smf.metadata)
    if key_ticks and beat_times is None:
        multitrack.key_signatures = _from_step_zero([(int(to_step(np.array([t]))[0]), k, m) for t, k, m in key_ticks])
    if downbeat_times is not None and beat_times is not None:
        beats = _seconds_to_beats(np.asarray(downbeat_times, dtype=np.float64), np.asarray(beat_times))
        steps = np.unique(np.rint(beats * resolution).astype(np.int64))
        multitrack.downbeats = steps[(steps >= 0) & (steps < max(multitrack.n_steps, 1))]
    return join_sections(multitrack)


def read_midi_metadata(path: str | Path) -> dict[str, Any] | None:
    """What made the piece in the MIDI file at ``path`` (see the module docstring), or None when it does not say.

    Raises :class:`MuseforgeError` when the file cannot be read as MIDI, as :func:`read_midi` does.
    """
    return decode_metadata(read_smf(Path(path)).metadata)


def encode_metadata(metadata: dict[str, Any]) -> bytes:
    """The body of the text meta event that holds ``metadata``: the prefix and compact JSON.

    Raises :class:`MuseforgeError` when the JSON is longer than the reader keeps (a pipeline wrote too much).
    """
    text = json.dumps(metadata, separators=(",", ":"), sort_keys=True, ensure_ascii=True, allow_nan=False)
    if len(text) > MAX_METADATA_BYTES:
        raise MuseforgeError(f"the piece's metadata is {len(text):,} bytes; a MIDI file holds {MAX_METADATA_BYTES:,}")
    return METADATA_PREFIX + text.encode("ascii")


def decode_metadata(body: bytes | None) -> dict[str, Any] | None:
    """The metadata of a text event's ``body`` (after the prefix, bounded by the parser): a dict, or None when
    there is none or it is not a JSON object."""
    if body is None:
        return None
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _step_grid(
    resolution: int, ppq: int, tempo_ticks: list[tuple[int, float]], beat_times: np.ndarray | None
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from ticks (array) to grid steps: by the file's ticks, or by annotated beat times."""
    if beat_times is None:
        return lambda tick: np.rint(np.asarray(tick, dtype=np.float64) * resolution / ppq).astype(np.int64)
    seconds = _tick_seconds(tempo_ticks, ppq)
    beat_times = np.asarray(beat_times, dtype=np.float64)

    def to_step(tick: np.ndarray) -> np.ndarray:
        beats = _seconds_to_beats(seconds(np.asarray(tick, dtype=np.float64)), beat_times)
        return np.rint(beats * resolution).astype(np.int64)

    return to_step


def _plausible_meter(numerator: int, denominator: int) -> bool:
    """A time signature a score could have: 1 to 64 beats of a whole note divided by 1, 2, 4 ... 64."""
    return 1 <= numerator <= 64 and denominator in (1, 2, 4, 8, 16, 32, 64)


def _clean_tempi(tempo_ticks: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Sort tempo changes, drop implausible ones (outside MIN_TEMPO..MAX_TEMPO) and repeats at one tick."""
    by_tick: dict[int, float] = {}
    for tick, bpm in sorted(tempo_ticks):
        if MIN_TEMPO <= bpm <= MAX_TEMPO:
            by_tick[tick] = bpm
    return sorted(by_tick.items())


def _from_step_zero(changes: list) -> list:
    """Keep the last change at each step and make the first one start at step 0."""
    by_step = {}
    for change in sorted(changes, key=lambda c: c[0]):
        by_step[change[0]] = change
    ordered = sorted(by_step.values(), key=lambda c: c[0])
    ordered[0] = (0, *ordered[0][1:])
    return ordered


def _tick_seconds(tempo_ticks: list[tuple[int, float]], ppq: int):
    """A function mapping ticks (array) to seconds under the tempo map (120 bpm before the first change)."""
    changes = list(tempo_ticks)
    if not changes or changes[0][0] > 0:
        changes = [(0, 120.0), *changes]  # the MIDI default before any tempo event
    ticks = np.array([c[0] for c in changes], dtype=np.float64)
    spt = np.array([60.0 / (c[1] * ppq) for c in changes])  # seconds per tick
    offsets = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * spt[:-1])])

    def seconds(tick: np.ndarray) -> np.ndarray:
        index = np.clip(np.searchsorted(ticks, tick, side="right") - 1, 0, len(ticks) - 1)
        return offsets[index] + (tick - ticks[index]) * spt[index]

    return seconds


def _seconds_to_beats(seconds: np.ndarray, beat_times: np.ndarray) -> np.ndarray:
    """Fractional beat index of each time, linear between annotated beats and extrapolated at both ends."""
    if len(beat_times) < 2:
        raise MuseforgeError("beat annotations need at least two beats")
    index = np.arange(len(beat_times), dtype=np.float64)
    beats = np.interp(seconds, beat_times, index)
    first = (beat_times[1] - beat_times[0]) or 1e-3
    last = (beat_times[-1] - beat_times[-2]) or 1e-3
    beats = np.where(seconds < beat_times[0], (seconds - beat_times[0]) / first, beats)
    return np.where(seconds > beat_times[-1], index[-1] + (seconds - beat_times[-1]) / last, beats)


def _median_tempo(beat_times: np.ndarray) -> float:
    """Tempo (quarter notes per minute) from the median beat interval."""
    gaps = np.diff(beat_times)
    gaps = gaps[gaps > 0]
    return float(np.clip(60.0 / np.median(gaps), MIN_TEMPO, MAX_TEMPO)) if len(gaps) else 120.0


def written_keys(multitrack: Multitrack) -> list[tuple[int, int, bool]]:
    """The key signatures a file of ``multitrack`` states: its own, else the one of the key its melody (or, with
    no melody track, its pitched tracks) is heard in (:func:`museforge.music.keys.estimate_key`, notes weighted by
    length; the accompaniment follows the melody's key), else none."""
    if multitrack.key_signatures is not None:
        return list(multitrack.key_signatures)
    melody = [i for i in range(multitrack.n_tracks) if multitrack.roles[i] == "melody" and multitrack.rolls[i].any()]
    chosen = melody or [i for i in range(multitrack.n_tracks) if not multitrack.is_drum[i]]
    pitched = [multitrack.note_array(i) for i in chosen]
    notes = np.concatenate(pitched) if pitched else np.zeros((0, 4), dtype=np.int64)
    key = estimate_key(zip(notes[:, 0].tolist(), (notes[:, 2] - notes[:, 1]).tolist(), strict=True))
    return [] if key is None else [(0, *key_signature(*key))]


def write_midi(multitrack: Multitrack, path: str | Path) -> None:
    """Write a multitrack as a type-1 MIDI file: a conductor track, then one track per multitrack track (two for
    a track a section plays, :func:`museforge.music.sections.perform_sections`).

    Each track keeps its name and GM program; drum tracks go to channel 10; pitched tracks take the other
    channels in turn. The tempo map and time signatures are written as given, the key signatures of
    :func:`written_keys`, and the multitrack's metadata (if any) as a text event in the conductor track. The
    file is written to a temporary name and renamed, so a failure never leaves half a file.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")
    multitrack = perform_sections(multitrack)
    resolution = multitrack.resolution
    ppq = math.lcm(WRITE_TICKS_PER_BEAT, resolution)
    ticks_per_step = ppq // resolution
    conductor = TrackEvents(
        metas=[time_signature_meta(step * ticks_per_step, num, den) for step, num, den in multitrack.time_signatures]
        + [key_signature_meta(step * ticks_per_step, sharps, minor) for step, sharps, minor in written_keys(multitrack)]
        + [
            tempo_meta(step * ticks_per_step, float(np.clip(bpm, MIN_TEMPO, MAX_TEMPO)))
            for step, bpm in multitrack.tempos
        ]
    )
    if multitrack.metadata is not None:
        conductor.metas.insert(0, text_meta(0, encode_metadata(multitrack.metadata)))
    tracks = [conductor]
    pitched_channels = [c for c in range(16) if c != DRUM_CHANNEL]
    n_pitched = 0
    for index in range(multitrack.n_tracks):
        if multitrack.is_drum[index]:
            channel = DRUM_CHANNEL
        else:
            channel = pitched_channels[n_pitched % len(pitched_channels)]
            n_pitched += 1
        notes = multitrack.note_array(index)
        notes[:, 1:3] *= ticks_per_step
        tracks.append(
            TrackEvents([track_name_meta(multitrack.names[index])], channel, multitrack.programs[index], notes)
        )
    atomic_write_bytes(path, encode_smf(ppq, tracks))
