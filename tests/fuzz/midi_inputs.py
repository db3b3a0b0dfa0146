"""A deterministic generator of malformed and extreme Standard MIDI Files.

``fuzz_inputs(count, seed)`` yields ``(label, bytes)`` pairs drawn from these families, each built from the
bytes of real, valid files (the built-in melodies written by museforge) or from scratch:

truncations, byte mutations, random bodies behind a valid header, meta events far past the music (huge deltas),
many tracks (and a track count of 32,768 or more), odd meters (0/4, 1/64, 255/2^255), SMPTE timing, zero ticks
per beat, huge note deltas, notes never switched off, running status without a status, undefined status bytes,
unknown chunks, lying chunk lengths, files with very many notes, same-pitch notes stacked and held for thousands of
beats, notes never ended before a far end of track, and files at the documented limits and one past them (meter
and tempo changes per file, notes per melody and per file).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path


def varlen(value: int) -> bytes:
    """A MIDI variable-length quantity (values up to 2**28 - 1)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def header(n_tracks: int, division: int = 480, fmt: int = 1) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks & 0xFFFF, division & 0xFFFF)


def chunk(body: bytes, kind: bytes = b"MTrk") -> bytes:
    return kind + struct.pack(">I", len(body)) + body


def end_of_track(delta: int = 0) -> bytes:
    return varlen(delta) + b"\xff\x2f\x00"


def note(pitch: int, start_delta: int, length: int, channel: int = 0, velocity: int = 90) -> bytes:
    return (
        varlen(start_delta)
        + bytes([0x90 | channel, pitch & 0x7F, velocity & 0x7F])
        + varlen(length)
        + bytes([0x80 | channel, pitch & 0x7F, 0])
    )


def meter(numerator: int, exponent: int, delta: int = 0) -> bytes:
    return varlen(delta) + b"\xff\x58\x04" + bytes([numerator & 0xFF, exponent & 0xFF, 24, 8])


def tempo(microseconds: int, delta: int = 0) -> bytes:
    return varlen(delta) + b"\xff\x51\x03" + (microseconds & 0xFFFFFF).to_bytes(3, "big")


def simple_file(rng: random.Random, n_notes: int = 16, division: int = 480) -> bytes:
    body = meter(4, 2) + tempo(500000)
    for _ in range(n_notes):
        body += note(rng.randint(48, 84), rng.choice([0, 0, division // 2]), rng.choice([division // 2, division]))
    return header(1, division) + chunk(body + end_of_track())


def valid_files() -> list[bytes]:
    """The built-in melodies as museforge writes them: real, valid files to damage."""
    import tempfile

    from museforge.music.melodies import get_melody, melody_names, melody_to_multitrack
    from museforge.music.midi import write_midi

    out = []
    with tempfile.TemporaryDirectory() as folder:
        for name in melody_names():
            path = Path(folder) / f"{name}.mid"
            write_midi(melody_to_multitrack(get_melody(name), resolution=12), path)
            out.append(path.read_bytes())
    return out


# ------------------------------------------------------------------------------------------------ families
def truncation(rng: random.Random, base: bytes) -> bytes:
    return base[: rng.randrange(0, len(base))]


def mutation(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def random_body(rng: random.Random, base: bytes) -> bytes:
    body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 600)))
    return header(rng.randint(0, 3)) + chunk(body)


def far_meta(rng: random.Random, base: bytes) -> bytes:
    """The audit's 53-byte file and its kin: a note, then a meter or tempo change a huge delta later."""
    division = rng.choice([1, 2, 96, 480])
    first = meter(rng.choice([4, 1, 3]), rng.choice([2, 6, 3]))
    late = rng.choice([meter(4, 2, 2**28 - 1), tempo(400000, 2**28 - 1), meter(1, 6, 2**28 - 1)])
    body = first + note(60, 0, division) + late * rng.randint(1, 3) + end_of_track()
    return header(1, division) + chunk(body)


def many_tracks(rng: random.Random, base: bytes) -> bytes:
    n = rng.choice([300, 2_000, 20_000, 32_767])
    track = chunk(note(rng.randint(40, 90), 0, 480) + end_of_track())
    declared = rng.choice([n, n, 32_768, 40_000, 65_535])
    return header(declared) + track * n


def odd_meter(rng: random.Random, base: bytes) -> bytes:
    numerator, exponent = rng.choice([(0, 2), (1, 6), (255, 255), (7, 0), (0, 0), (64, 7), (13, 3)])
    body = meter(numerator, exponent) + b"".join(note(60 + i % 12, 0, 240) for i in range(24))
    if rng.random() < 0.5:
        body += meter(0, 2, 480)
    return header(1) + chunk(body + end_of_track())


def odd_timing(rng: random.Random, base: bytes) -> bytes:
    division = rng.choice([0, 0x8000 | (0xE7 << 8) | 40, 0xE250, 1, 0x7FFF])
    return header(1, division) + chunk(note(60, 0, 480) + end_of_track())


def huge_deltas(rng: random.Random, base: bytes) -> bytes:
    body = note(60, 0, 480) + note(62, rng.choice([2**27, 2**28 - 1, 10_000_000]), rng.choice([1, 2**28 - 1]))
    return header(1, rng.choice([1, 480])) + chunk(body + end_of_track())


def unterminated(rng: random.Random, base: bytes) -> bytes:
    body = varlen(0) + b"\x90\x3c\x50" + varlen(0) + b"\x90\x40\x50" + end_of_track(rng.choice([0, 480, 2**28 - 1]))
    return header(1) + chunk(body)


def bad_status(rng: random.Random, base: bytes) -> bytes:
    body = rng.choice([b"\x00\x3c\x50", b"\x00\xf4", b"\x00\xf5\x01", b"\x00\xfd", b"\x00\x90\x3c"])
    return header(1) + chunk(note(60, 0, 120) + body + end_of_track())


def lying_chunks(rng: random.Random, base: bytes) -> bytes:
    kind = rng.choice(["long", "short", "unknown", "extra_header"])
    track = note(60, 0, 480) + end_of_track()
    if kind == "long":
        return header(1) + b"MTrk" + struct.pack(">I", len(track) + rng.randint(1, 2**31)) + track
    if kind == "short":
        return header(1) + b"MTrk" + struct.pack(">I", max(len(track) - rng.randint(1, 5), 0)) + track
    if kind == "unknown":
        return header(2) + chunk(b"\x00" * rng.randint(0, 50), b"XFIH") + chunk(track)
    return b"MThd" + struct.pack(">I", rng.choice([0, 2, 5, 1000])) + struct.pack(">HHH", 1, 1, 480) + chunk(track)


def many_notes(rng: random.Random, base: bytes) -> bytes:
    n = rng.choice([50_000, 200_000])
    body = b"".join(note(36 + i % 48, 0, 1, channel=i % 16) for i in range(n))
    return header(1, 480) + chunk(body + end_of_track())


def many_meta(rng: random.Random, base: bytes) -> bytes:
    n = rng.choice([10_000, 100_000])
    body = note(60, 0, 480) + b"".join(tempo(500000 + i % 7, 1) for i in range(n))
    return header(1, 480) + chunk(body + end_of_track())


def long_piece(rng: random.Random, base: bytes) -> bytes:
    body = b"".join(note(60 + i % 12, 480 * rng.choice([16, 64, 512]), 480) for i in range(400))
    return header(1, 480) + chunk(body + end_of_track())


def overlaps(rng: random.Random, base: bytes) -> bytes:
    """The audit's N1: thousands of notes of one pitch struck (together or one after another) and held long."""
    n, held, step = rng.choice([1000, 4000, 16000]), rng.choice([480 * 64, 480 * 2048]), rng.choice([0, 1, 120])
    ons = b"\x00\x90\x3c\x5a" + (varlen(step) + b"\x3c\x5a") * (n - 1)
    offs = varlen(held) + b"\x3c\x00" + b"\x00\x3c\x00" * (n - 1)
    return header(1, 480) + chunk(ons + offs + end_of_track())


def unended(rng: random.Random, base: bytes) -> bytes:
    """Notes switched on and never off, then an end of track far later (they end with it)."""
    n = rng.choice([10, 1000, 20000])
    ons = b"".join(varlen(rng.choice([0, 60])) + bytes([0x90, 36 + i % 60, 80]) for i in range(n))
    return header(1, 480) + chunk(ons + end_of_track(rng.choice([480, 480 * 2000, 480 * 20000])))


def at_limits(rng: random.Random, base: bytes) -> bytes:
    """A documented limit exactly, or one past it: meter or tempo changes per file over several tracks, notes in
    the melody (chords of 128 on each sixteenth)."""
    from museforge.music.inputs import MAX_MELODY_NOTES
    from museforge.music.smf import MAX_CHANGES

    extra = rng.choice([0, 1])
    kind = rng.choice(["meters", "tempi", "notes"])
    if kind == "notes":
        chords, rest = divmod(MAX_MELODY_NOTES + extra, 128)
        strike = lambda k: b"".join(b"\x00" + bytes([p, 90]) for p in range(k))  # noqa: E731
        release = lambda k: b"".join((b"\x78" if p == 0 else b"\x00") + bytes([p, 0]) for p in range(k))  # noqa: E731
        body = b"\x00\x90" + (strike(128) + release(128)) * chords + strike(rest) + release(rest)
        return header(1, 480) + chunk(body[:2] + body[3:] + end_of_track())
    event = (lambda: meter(3, 2, 1)) if kind == "meters" else (lambda: tempo(500_000, 1))
    first = rng.randint(1, MAX_CHANGES - 1)
    counts = [first, MAX_CHANGES + extra - first]
    tracks = [note(60 + i, 0, 480) + event() * count + end_of_track() for i, count in enumerate(counts)]
    return header(len(tracks), 480) + b"".join(chunk(track) for track in tracks)


Family = Callable[[random.Random, bytes], bytes]
#: Every family and its share of the inputs (the cheap, varied ones most often).
FAMILIES: list[tuple[Family, int]] = [
    (truncation, 20),
    (mutation, 30),
    (random_body, 10),
    (far_meta, 6),
    (many_tracks, 2),
    (odd_meter, 6),
    (odd_timing, 4),
    (huge_deltas, 5),
    (unterminated, 4),
    (bad_status, 4),
    (lying_chunks, 5),
    (many_notes, 1),
    (many_meta, 1),
    (long_piece, 2),
    (overlaps, 2),
    (unended, 2),
    (at_limits, 1),
]


def fuzz_inputs(count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``count`` labelled inputs; the same ``seed`` always gives the same bytes."""
    rng = random.Random(seed)
    bases = valid_files() + [simple_file(random.Random(i)) for i in range(4)]
    families, weights = zip(*FAMILIES, strict=True)
    for index in range(count):
        family = rng.choices(families, weights)[0]
        base = rng.choice(bases)
        yield f"{index:05d}-{family.__name__}", family(rng, base)
