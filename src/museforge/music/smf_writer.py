"""Encoding Standard MIDI Files: tracks of meta events, a program change and notes to the bytes of a type-1 file.

The notes of a track are encoded in bulk with numpy (a delta time, then a status byte unless running status
carries it, then two data bytes per event), so a million notes take well under a second; meta events (names,
tempi, meters) are few and are placed among them by tick. At one tick a track's meta events come first, in the
order given, then its program change, then the note-offs, then the note-ons (so a repeated note is re-struck
cleanly), each in the order of the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from museforge.errors import MuseforgeError

#: Meta event types the project writes.
META_TEXT, META_TRACK_NAME, META_TEMPO, META_TIME_SIGNATURE, META_END_OF_TRACK = 0x01, 0x03, 0x51, 0x58, 0x2F
META_KEY_SIGNATURE = 0x59
#: The largest delta time a variable-length quantity can hold (four bytes of seven bits).
MAX_DELTA = 2**28 - 1
_NOTE_OFF, _NOTE_ON, _PROGRAM = 0x80, 0x90, 0xC0
#: Sorting rank of events at one tick: metas, the program change, note-offs, note-ons.
_RANK_META, _RANK_PROGRAM, _RANK_OFF, _RANK_ON = 0, 1, 2, 3


@dataclass
class TrackEvents:
    """What one track chunk will hold.

    ``metas`` are ``(tick, meta type, body)``; ``program`` (None: no program change) is set at tick 0 on
    ``channel``; ``notes`` is an int array of shape (n, 4): pitch 0..127, start tick, end tick (> start), velocity
    1..127.
    """

    metas: list[tuple[int, int, bytes]] = field(default_factory=list)
    channel: int = 0
    program: int | None = None
    notes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.int64))


def tempo_meta(tick: int, quarters_per_minute: float) -> tuple[int, int, bytes]:
    """A set-tempo meta event: microseconds per quarter note in three bytes."""
    microseconds = min(max(round(60_000_000 / quarters_per_minute), 1), 0xFFFFFF)
    return tick, META_TEMPO, microseconds.to_bytes(3, "big")


def time_signature_meta(tick: int, numerator: int, denominator: int) -> tuple[int, int, bytes]:
    """A time-signature meta event (``denominator`` a power of two; 24 clocks a click, 8 32nds a quarter)."""
    exponent = max(int(denominator), 1).bit_length() - 1
    return tick, META_TIME_SIGNATURE, bytes([numerator & 0xFF, exponent, 24, 8])


def key_signature_meta(tick: int, sharps: int, minor: bool) -> tuple[int, int, bytes]:
    """A key-signature meta event: ``sharps`` -7..7 (flats below 0), major or minor."""
    return tick, META_KEY_SIGNATURE, bytes([int(sharps) & 0xFF, int(bool(minor))])


def track_name_meta(name: str) -> tuple[int, int, bytes]:
    """A track-name meta event at tick 0 (Latin-1, as the reader decodes it; other characters become '?')."""
    return 0, META_TRACK_NAME, name.encode("latin-1", errors="replace")


def text_meta(tick: int, body: bytes) -> tuple[int, int, bytes]:
    """A text meta event holding ``body`` as it is (the caller encodes and bounds it)."""
    return tick, META_TEXT, bytes(body)


def encode_smf(ticks_per_beat: int, tracks: list[TrackEvents]) -> bytes:
    """The bytes of a type-1 Standard MIDI File of ``tracks`` at ``ticks_per_beat`` ticks per quarter note."""
    if not 0 < ticks_per_beat < 0x8000:
        raise MuseforgeError(f"cannot write {ticks_per_beat} ticks per beat to a MIDI file (1 to 32767)")
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + len(tracks).to_bytes(2, "big")
    chunks = [header + ticks_per_beat.to_bytes(2, "big")]
    for track in tracks:
        body = _track_body(track)
        chunks.append(b"MTrk" + len(body).to_bytes(4, "big") + body)
    return b"".join(chunks)


def _track_body(track: TrackEvents) -> bytes:
    """One track chunk's events, ending with the end-of-track meta event."""
    notes = np.asarray(track.notes, dtype=np.int64).reshape(-1, 4)
    channel = track.channel & 0x0F
    n_notes, n_metas = len(notes), len(track.metas)
    has_program = track.program is not None
    # Every event as (tick, rank, order) to sort by, plus its status and two data bytes (metas: filled apart).
    n_events = n_metas + int(has_program) + 2 * n_notes
    tick = np.empty(n_events, dtype=np.int64)
    rank = np.empty(n_events, dtype=np.int64)
    order = np.empty(n_events, dtype=np.int64)
    status = np.zeros(n_events, dtype=np.int64)  # 0 marks a meta event
    data = np.zeros((n_events, 2), dtype=np.int64)
    tick[:n_metas] = [meta[0] for meta in track.metas]
    rank[:n_metas], order[:n_metas] = _RANK_META, np.arange(n_metas)
    at = n_metas
    if has_program:
        tick[at], rank[at], order[at], status[at] = 0, _RANK_PROGRAM, 0, _PROGRAM | channel
        data[at, 0] = int(track.program or 0) & 0x7F
        at += 1
    for kind, ticks, velocity in ((_NOTE_OFF, notes[:, 2], 0), (_NOTE_ON, notes[:, 1], notes[:, 3])):
        part = slice(at, at + n_notes)
        tick[part], order[part], status[part] = ticks, np.arange(n_notes), kind | channel
        rank[part] = _RANK_OFF if kind == _NOTE_OFF else _RANK_ON
        data[part, 0], data[part, 1] = notes[:, 0] & 0x7F, np.clip(velocity, 0, 127)
        at += n_notes
    sequence = np.lexsort((order, rank, tick))
    tick, status, data, order = tick[sequence], status[sequence], data[sequence], order[sequence]
    delta = np.diff(tick, prepend=0)
    if len(delta) and (delta.min() < 0 or delta.max() > MAX_DELTA):
        raise MuseforgeError("cannot write the MIDI file: an event lies before tick 0 or too far after the last")
    delta_bytes = _varlen_bytes(delta)
    # Running status: a channel event whose status equals the previous event's leaves its status byte out.
    previous = np.concatenate([[0], status[:-1]])
    own_status = (status != 0) & (status != previous)
    data_length = np.where((status & 0xF0) == _PROGRAM, 1, 2)
    pieces: list[bytes] = []
    metas_at = np.flatnonzero(status == 0)
    start = 0
    for index in [*metas_at.tolist(), n_events]:  # channel events in bulk between meta events
        if index > start:
            pieces.append(
                _channel_bytes(
                    delta_bytes[start:index],
                    own_status[start:index],
                    status[start:index],
                    data[start:index],
                    data_length[start:index],
                )
            )
        if index < n_events:
            _, kind, body = track.metas[int(order[index])]
            pieces.append(_quantity(delta_bytes[index]) + bytes([0xFF, kind]) + _varlen(len(body)) + body)
        start = index + 1
    pieces.append(bytes([0, 0xFF, META_END_OF_TRACK, 0]))
    return b"".join(pieces)


def _channel_bytes(
    delta_bytes: np.ndarray, own_status: np.ndarray, status: np.ndarray, data: np.ndarray, data_length: np.ndarray
) -> bytes:
    """Channel events side by side: each row's delta bytes, its status byte where it has its own, its data bytes.

    ``delta_bytes`` is (n, 5) as :func:`_varlen_bytes` gives it; the rest are per event.
    """
    n = len(status)
    row = np.zeros((n, 8), dtype=np.uint8)
    keep = np.zeros((n, 8), dtype=bool)
    row[:, :4], keep[:, :4] = delta_bytes[:, :4], delta_bytes[:, 4:5] > np.arange(4)[::-1]
    row[:, 4], keep[:, 4] = status, own_status
    row[:, 5:7], keep[:, 5] = data, True
    keep[:, 6] = data_length == 2
    return row[keep].tobytes()


def _varlen_bytes(values: np.ndarray) -> np.ndarray:
    """Variable-length quantities of ``values`` (each < 2**28), right-aligned in four bytes.

    Returns a uint8 array of shape (n, 5): the four candidate bytes (most significant first, continuation bits
    set) and, in the last column, how many of them (1 to 4, counted from the right) the quantity uses.
    """
    values = np.asarray(values, dtype=np.int64)
    groups = (values[:, None] >> (7 * np.arange(3, -1, -1))) & 0x7F  # (n, 4), most significant group first
    used = 1 + (values >= 1 << 7) + (values >= 1 << 14) + (values >= 1 << 21)
    out = np.zeros((len(values), 5), dtype=np.uint8)
    out[:, :4] = groups
    out[:, :3] |= 0x80  # every byte but the last carries the continuation bit
    out[:, 4] = used
    return out


def _quantity(encoded: np.ndarray) -> bytes:
    """The bytes of one row of :func:`_varlen_bytes`."""
    return encoded[4 - int(encoded[4]) : 4].tobytes()


def _varlen(value: int) -> bytes:
    """One variable-length quantity."""
    return _quantity(_varlen_bytes(np.array([value]))[0])
