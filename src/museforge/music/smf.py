"""A bounded Standard MIDI File parser: the bytes of a ``.mid`` file to notes, tempi, meters and names per track.

Every size is checked as it is read, before any work depends on it, so that a small hostile file cannot make the
reader spend minutes or gigabytes: the file's size, the number of track chunks, events and notes, and the tick of
every note (``max_beats``). Meta events after that are dropped (they cannot affect the music), so a tempo or
meter change placed far past the last note costs nothing. Anything malformed is a :class:`MuseforgeError` whose
message names the file and the reason in one line.

Semantics follow the MIDI 1.0 file specification as the project has always read it: running status, note-on
with velocity 0 is a note-off, overlapping notes of one pitch and channel end first-in first-out, notes never
switched off end with their track, data bytes above 127 are clipped, the last track name wins, and the first
program change of each channel is that channel's program.

The first text event that starts with :data:`METADATA_PREFIX` and is at most :data:`MAX_METADATA_BYTES` long
after it is kept as the file's museforge metadata (what made the piece, see :mod:`museforge.music.midi`); larger
ones, and every other text event, are skipped.
"""

from __future__ import annotations

import stat
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from museforge.errors import MuseforgeError

#: Largest MIDI file read (the biggest file in the training data is under 1 MB).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Most track chunks in one file.
MAX_TRACKS = 1024
#: Most events (notes, meta and control messages) in one file.
MAX_EVENTS = 4_000_000
#: Most notes in one file.
MAX_NOTES = 1_000_000
#: Most tempo changes, and most time-signature changes, in one file (each; a file may hold exactly this many).
MAX_CHANGES = 65_536
#: What starts the text meta event in which museforge writes what made a piece.
METADATA_PREFIX = b"museforge:"
#: Largest museforge metadata kept, in bytes after the prefix (a longer one is ignored).
MAX_METADATA_BYTES = 4096

#: Data bytes after each channel-message status (high nibble), per the MIDI 1.0 specification.
_CHANNEL_DATA = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
#: Data bytes after system common and real-time status bytes (0xF0, 0xF7 and 0xFF are handled apart).
_SYSTEM_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}


@dataclass
class SmfTrack:
    """What one track chunk holds, in absolute ticks.

    ``notes`` are ``(channel, pitch, start, end, velocity)``; ``programs`` maps a channel to its first program;
    ``end_tick`` is the tick of the track's last event.
    """

    name: str = ""
    notes: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    programs: dict[int, int] = field(default_factory=dict)
    tempos: list[tuple[int, float]] = field(default_factory=list)  # tick, quarter notes per minute
    signatures: list[tuple[int, int, int]] = field(default_factory=list)  # tick, numerator, denominator
    keys: list[tuple[int, int, bool]] = field(default_factory=list)  # tick, sharps (-7..7, flats < 0), minor
    end_tick: int = 0


@dataclass
class Smf:
    """A parsed file: ticks per quarter note, its tracks and its museforge metadata (the bytes after the prefix;
    None when it has none)."""

    ticks_per_beat: int
    tracks: list[SmfTrack]
    metadata: bytes | None = None


def read_smf(path: Path, max_beats: float | None = None) -> Smf:
    """Parse the MIDI file at ``path`` (a regular file of at most :data:`MAX_FILE_BYTES`).

    ``max_beats`` bounds the length: a note past that many quarter notes is an error, a meta event past it is
    dropped.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MuseforgeError(f"{path}: no such file") from None
    except OSError as error:
        raise MuseforgeError(f"cannot read {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise MuseforgeError(f"{path.name} is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise MuseforgeError(f"{path.name} is too large for a MIDI file ({info.st_size:,} bytes; the limit is 16 MiB)")
    try:
        with path.open("rb") as handle:
            data = handle.read(info.st_size + 1)  # a buffer the size of the file, not of the limit
    except OSError as error:
        raise MuseforgeError(f"cannot read {path}: {error.strerror or error}") from None
    return parse_smf(data, path.name, max_beats)


def parse_smf(data: bytes, name: str = "the file", max_beats: float | None = None) -> Smf:
    """Parse the bytes of a Standard MIDI File; ``name`` appears in error messages."""
    try:
        return _Parser(data, max_beats).parse()
    except _Malformed as error:
        raise MuseforgeError(f"{name} is not a readable MIDI file ({error})") from None
    except _TooLarge as error:
        raise MuseforgeError(f"{name} {error}") from None


class _Malformed(Exception):
    """The bytes break the file format."""


class _TooLarge(Exception):
    """The file is well formed but past a bound."""


class _Parser:
    """One pass over the bytes; ``pos`` is the read position."""

    def __init__(self, data: bytes, max_beats: float | None) -> None:
        if len(data) > MAX_FILE_BYTES:
            raise _TooLarge(f"is too large for a MIDI file (over {MAX_FILE_BYTES:,} bytes)")
        self.data = data
        self.max_beats = max_beats
        self.max_tick: int | None = None
        self.events_left = MAX_EVENTS
        self.notes_left = MAX_NOTES
        self.changes_left = {0x51: MAX_CHANGES, 0x58: MAX_CHANGES, 0x59: MAX_CHANGES}  # tempo, meter, key: per file
        self.metadata: bytes | None = None

    def parse(self) -> Smf:
        data = self.data
        if len(data) < 14 or data[:4] != b"MThd":
            raise _Malformed("no MIDI header" if data[:4] != b"MThd" else "the header is cut short")
        size = int.from_bytes(data[4:8], "big")
        if size < 6 or 8 + size > len(data):
            raise _Malformed("the header is cut short")
        n_tracks = int.from_bytes(data[10:12], "big")
        division = int.from_bytes(data[12:14], "big")
        if division & 0x8000:
            raise _Malformed("SMPTE timing is not supported, only ticks per beat")
        if division == 0:
            raise _Malformed("zero ticks per beat")
        if self.max_beats is not None:
            self.max_tick = int(self.max_beats * division)
        if n_tracks > MAX_TRACKS:
            raise _TooLarge(f"has {n_tracks:,} tracks; the limit is {MAX_TRACKS:,}")
        pos = 8 + size
        tracks: list[SmfTrack] = []
        while len(tracks) < n_tracks and pos + 8 <= len(data):
            kind, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big")
            pos += 8
            if kind != b"MTrk":  # unknown chunks are skipped, as the specification asks
                pos += length
                continue
            if pos + length > len(data):
                raise _Malformed(f"track {len(tracks) + 1} is cut short")
            tracks.append(self._track(pos, pos + length))
            pos += length
        return Smf(division, tracks, self.metadata)

    def _varlen(self, pos: int, end: int) -> tuple[int, int]:
        """A variable-length quantity (at most 4 bytes) at ``pos``: (value, next position)."""
        value = 0
        for _ in range(4):
            if pos >= end:
                raise _Malformed("an event is cut short")
            byte = self.data[pos]
            pos += 1
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                return value, pos
        raise _Malformed("a length or time longer than 4 bytes")

    def _track(self, pos: int, end: int) -> SmfTrack:
        data, max_tick = self.data, self.max_tick
        track = SmfTrack()
        notes = track.notes
        # (channel, pitch) -> starts of its sounding notes, first in first out (a deque: O(1) at the left end)
        sounding: dict[tuple[int, int], deque[tuple[int, int]]] = defaultdict(deque)
        tick = 0
        status = 0
        events = 0
        while pos < end:
            byte = data[pos]
            if byte < 0x80:  # most deltas fit one byte
                tick += byte
                pos += 1
            else:
                delta, pos = self._varlen(pos, end)
                tick += delta
            events += 1
            if pos >= end:
                raise _Malformed("an event is cut short")
            byte = data[pos]
            if byte >= 0x80:
                pos += 1
                if byte < 0xF0:
                    status = byte  # meta and system messages do not set running status
            elif not status:
                raise _Malformed("a data byte before any status byte")
            else:
                byte = status
            if byte == 0xFF:
                if pos >= end:
                    raise _Malformed("an event is cut short")
                kind = data[pos]
                length, pos = self._varlen(pos + 1, end)
                if pos + length > end:
                    raise _Malformed("a meta event is cut short")
                self._meta(track, kind, data[pos : pos + length], tick)
                pos += length
                continue
            if byte in (0xF0, 0xF7):
                length, pos = self._varlen(pos, end)
                if pos + length > end:
                    raise _Malformed("a system-exclusive message is cut short")
                pos += length
                continue
            if byte >= 0xF0:
                if byte not in _SYSTEM_DATA:
                    raise _Malformed(f"undefined status byte 0x{byte:02x}")
                pos += _SYSTEM_DATA[byte]
                continue
            high, channel = byte >> 4, byte & 0x0F
            n_data = _CHANNEL_DATA[high]
            if pos + n_data > end:
                raise _Malformed("an event is cut short")
            first = data[pos]
            second = data[pos + 1] if n_data == 2 else 0
            pos += n_data
            if first > 127 or second > 127:  # clipped, as lenient readers do
                first, second = min(first, 127), min(second, 127)
            if high == 0x9 and second > 0:
                if max_tick is not None and tick > max_tick:
                    raise _TooLarge("is too long: a note starts past the length limit")
                sounding[(channel, first)].append((tick, second))
            elif high in (0x8, 0x9):
                starts = sounding.get((channel, first))
                if starts:
                    start, velocity = starts.popleft()
                    if max_tick is not None and tick > max_tick:
                        raise _TooLarge("is too long: a note lasts past the length limit")
                    notes.append((channel, first, start, tick, velocity))
            elif high == 0xC:
                track.programs.setdefault(channel, first)
            if events > self.events_left:
                raise _TooLarge(f"has more than {MAX_EVENTS:,} events")
        if events > self.events_left:  # meta events skip the check in the loop
            raise _TooLarge(f"has more than {MAX_EVENTS:,} events")
        self.events_left -= events
        if pos != end:
            raise _Malformed("an event runs past the end of its track")
        for (channel, pitch), starts in sounding.items():  # notes never switched off end with the track
            if starts and max_tick is not None and tick > max_tick:
                raise _TooLarge("is too long: a note lasts past the length limit")
            notes += [(channel, pitch, start, tick, velocity) for start, velocity in starts]
        self.notes_left -= len(notes)
        if self.notes_left < 0:
            raise _TooLarge(f"has more than {MAX_NOTES:,} notes")
        track.end_tick = tick
        return track

    def _meta(self, track: SmfTrack, kind: int, body: bytes, tick: int) -> None:
        """Keep the meta events the reader uses: track name, tempo, time signature, key signature, the first
        museforge metadata (others are skipped; a key signature outside -7..7 sharps or modes is).

        Tempo, time-signature and key-signature changes count against :data:`MAX_CHANGES` each, per file.
        """
        if kind == 0x03:
            track.name = body.decode("latin-1")
            return
        if kind == 0x01:
            if (
                self.metadata is None
                and body.startswith(METADATA_PREFIX)
                and len(body) - len(METADATA_PREFIX) <= MAX_METADATA_BYTES
            ):
                self.metadata = bytes(body[len(METADATA_PREFIX) :])
            return
        if kind not in self.changes_left or (self.max_tick is not None and tick > self.max_tick):
            return  # other meta events, and changes after every possible note, cannot affect the music
        if not self.changes_left[kind]:
            what = {0x51: "tempo", 0x58: "meter"}.get(kind, "key signature")
            raise _TooLarge(f"has more than {MAX_CHANGES:,} {what} changes")
        self.changes_left[kind] -= 1
        if kind == 0x51 and len(body) >= 3:
            tempo = int.from_bytes(body[:3], "big")
            if tempo > 0:
                track.tempos.append((tick, 60_000_000 / tempo))
        elif kind == 0x58 and len(body) >= 2:
            track.signatures.append((tick, body[0], 2 ** min(body[1], 16)))
        elif kind == 0x59 and len(body) >= 2:
            sharps = body[0] - 256 if body[0] > 127 else body[0]
            if -7 <= sharps <= 7 and body[1] in (0, 1):
                track.keys.append((tick, sharps, bool(body[1])))
