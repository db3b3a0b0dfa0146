"""The MIDI reader's hard bounds: each reproducer of the reliability audit, read in time and memory, with a clean
one-line error or a sensible result (CLI: exit code 2, no traceback)."""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, SupportsIndex

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music import smf
from museforge.music.inputs import MAX_MELODY_NOTES
from museforge.music.midi import MAX_PARTS, read_midi
from museforge.music.pianoroll import downbeats_from_time_signatures
from museforge.music.smf import MAX_TRACKS, parse_smf
from tests.fuzz.midi_inputs import chunk, end_of_track, header, meter, note, simple_file, tempo

REPO = Path(__file__).resolve().parents[2]
MUSEFORGE = [sys.executable, "-m", "museforge.cli"]


def write(tmp_path: Path, data: bytes, name: str = "x.mid") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def one_line(error: pytest.ExceptionInfo[MuseforgeError]) -> str:
    message = str(error.value)
    assert message and "\n" not in message and "()" not in message
    return message


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([*MUSEFORGE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def run_fresh(code: str, timeout: float = 300) -> str:
    """Run Python ``code`` in a fresh process (its peak memory its own); returns its standard output."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def bomb(first_meter: bytes = meter(4, 2)) -> bytes:
    """The audit's 53-byte file: ppq 1, a meter, one note, the same meter again 2**28 - 1 ticks later."""
    body = first_meter + note(60, 0, 1) + meter(4, 2, 2**28 - 1) + end_of_track()
    return header(1, division=1) + chunk(body)


def test_a_meter_change_far_past_the_music_costs_nothing(tmp_path: Path) -> None:
    data = bomb()
    assert len(data) == 53
    multitrack = read_midi(write(tmp_path, data), resolution=4)
    assert multitrack.n_steps == 4 and list(multitrack.downbeats) == [0]
    assert multitrack.time_signatures == [(0, 4, 4)]


def test_a_first_meter_of_one_sixty_fourth_is_no_memory_error(tmp_path: Path) -> None:
    multitrack = read_midi(write(tmp_path, bomb(meter(1, 6))), resolution=4)
    assert multitrack.n_steps == 4 and len(multitrack.downbeats) == 4  # a 1/64 bar is one step at this grid


def test_downbeats_stop_at_the_music_whatever_the_changes_say() -> None:
    beats = downbeats_from_time_signatures([(0, 4, 4), (2**40, 3, 4), (2**41, 1, 64)], resolution=12, n_steps=96)
    np.testing.assert_array_equal(beats, [0, 48])
    odd = downbeats_from_time_signatures([(0, 0, 4), (4, 3, 0)], resolution=4, n_steps=8)
    assert odd.tolist() == [0, 1, 2, 3, 4]  # 0/4 degrades to one-step bars, 3/0 to a long one: never a crash


@pytest.mark.slow
def test_the_bomb_composes_in_seconds_and_little_memory(tmp_path: Path) -> None:
    path = write(tmp_path, bomb(meter(1, 6)), "bomb.mid")
    code = (
        "import resource, sys\n"
        "from museforge.pipelines.compose import compose\n"
        f"compose({str(path)!r}, 'jazz', seed=1, out_midi=__import__('pathlib').Path({str(tmp_path / 'o.mid')!r}))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    assert int(run_fresh(code).split()[-1]) < 1024  # MB, the whole process with torch and the model (was 2.9 GB)


def test_many_tracks_are_refused_from_the_header_before_any_parsing(tmp_path: Path) -> None:
    track = chunk(note(60, 0, 480) + end_of_track())
    with pytest.raises(MuseforgeError) as error:
        read_midi(write(tmp_path, header(20_000) + track * 20_000))
    assert f"has 20,000 tracks; the limit is {MAX_TRACKS:,}" in one_line(error)
    # a count of 32,768 or more is read as the unsigned number it is (not negative, not "no notes")
    with pytest.raises(MuseforgeError, match="has 40,000 tracks") as error:
        read_midi(write(tmp_path, header(40_000) + track))
    one_line(error)


def test_too_many_parts_with_notes_are_refused(tmp_path: Path) -> None:
    track = chunk(note(60, 0, 480) + end_of_track())
    with pytest.raises(MuseforgeError, match=f"tracks with notes; the limit is {MAX_PARTS}"):
        read_midi(write(tmp_path, header(MAX_PARTS + 1) + track * (MAX_PARTS + 1)))
    assert read_midi(write(tmp_path, header(40) + track * 40)).n_tracks == 40  # an orchestra is fine


class _ShiftCountingList(list[Any]):
    """A list that counts the elements each ``pop`` moves (``pop(0)`` moves all the others: C work, no Python)."""

    shifted = 0

    def pop(self, index: SupportsIndex = -1) -> Any:
        if self:
            _ShiftCountingList.shifted += len(self) - 1 - operator.index(index) % len(self)
        return super().pop(index)


def parse_work(data: bytes) -> int:
    """The work :func:`parse_smf` does on ``data``, counted, not timed (the same on any machine, under any load):
    the Python lines it runs (``sys.settrace``) plus the elements moved by pops of the lists in which its note
    matching keeps the starts of sounding notes (the ``defaultdict(list)`` of ``smf``, instrumented)."""
    lines = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal lines
        lines += event == "line"
        return trace

    def counting_defaultdict(factory: Any = None, *args: Any) -> defaultdict[Any, Any]:
        return defaultdict(_ShiftCountingList if factory is list else factory, *args)  # a deque pops in O(1)

    _ShiftCountingList.shifted = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(smf, "defaultdict", counting_defaultdict)
        before = sys.gettrace()
        sys.settrace(trace)
        try:
            parse_smf(data)
        finally:
            sys.settrace(before)
    return lines + _ShiftCountingList.shifted


class NotLinearError(AssertionError):
    """Parsing 4 times the input took much more than 4 times the work."""


def assert_linear(make: Callable[[int], bytes], n: int) -> None:
    """``make(4 * n)`` costs about 4 times the work of ``make(n)``: at most 5 times (a quadratic parser, 16)."""
    small, large = parse_work(make(n)), parse_work(make(4 * n))
    if large > 5 * small:
        raise NotLinearError(
            f"{4 * n} cost {large / small:.1f} times the work of {n} ({large:,} / {small:,}): not linear"
        )


def one_note_tracks(n: int) -> bytes:
    return header(n) + b"".join(chunk(note(40 + i % 40, 0, 480, channel=i % 16) + end_of_track()) for i in range(n))


def test_parsing_is_linear_in_the_number_of_tracks() -> None:
    # the old reader scanned every part for every track (quadratic); now one pass
    parsed = parse_smf(one_note_tracks(1000))
    assert len(parsed.tracks) == 1000 and sum(len(t.notes) for t in parsed.tracks) == 1000
    assert_linear(one_note_tracks, 250)


def stacked_notes(n: int) -> bytes:
    """One track: ``n`` notes of one pitch struck one after another, then all ended (running status, 3 bytes an
    event: a million of them is a 6 MB file, under every bound)."""
    ons = b"\x00\x90\x3c\x5a" + b"\x01\x3c\x5a" * (n - 1)  # note i starts at tick i
    offs = b"\x01\x80\x3c\x00" + b"\x00\x3c\x00" * (n - 1)  # all end at tick n
    return header(1) + chunk(ons + offs + end_of_track())


def test_parsing_is_linear_in_the_number_of_notes_of_one_pitch_held_at_once() -> None:
    parsed = parse_smf(stacked_notes(1000))
    assert [n[2:4] for n in parsed.tracks[0].notes] == [(i, 1000) for i in range(1000)]  # first in, first out
    assert_linear(stacked_notes, 250)


def test_a_note_past_the_length_limit_stops_the_reading_at_once(tmp_path: Path) -> None:
    far = note(60, 0, 480) + note(62, 480 * 20_000, 480)  # beat 20,000 > 200,000 steps / 12 per beat
    rest = b"".join(note(60, 0, 1) for _ in range(200_000))
    with pytest.raises(MuseforgeError, match="too long") as error:
        read_midi(write(tmp_path, header(1) + chunk(far + rest + end_of_track())), resolution=12)
    one_line(error)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01", "the header is cut short"),
        (header(1, division=0x8000 | 0xE728), "SMPTE"),
        (header(1, division=0), "zero ticks per beat"),
        (simple_file(__import__("random").Random(0))[:-7], "cut short"),
        (header(1) + chunk(b"\x00\x3c\x50" + end_of_track()), "a data byte before any status byte"),
        (header(1) + chunk(b"\x00\xf4" + end_of_track()), "undefined status byte 0xf4"),
        (b"RIFF" + bytes(40), "no MIDI header"),
    ],
)
def test_every_malformed_file_says_why(tmp_path: Path, data: bytes, reason: str) -> None:
    with pytest.raises(MuseforgeError) as error:
        read_midi(write(tmp_path, data))
    message = one_line(error)
    assert reason in message and message.startswith("x.mid")


def test_meters_no_bar_can_have_are_dropped_and_the_notes_kept(tmp_path: Path) -> None:
    body = meter(0, 2) + tempo(500000) + note(60, 0, 480) + meter(3, 2, 480) + note(62, 0, 480) + end_of_track()
    multitrack = read_midi(write(tmp_path, header(1) + chunk(body)), resolution=4)
    assert multitrack.time_signatures == [(0, 3, 4)]  # 0/4 is dropped; the 3/4 that follows rules from the start
    assert [n[0] for n in multitrack.notes(0)] == [60, 62]


@pytest.mark.slow
def test_a_fifo_as_melody_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    with pytest.raises(MuseforgeError, match="is not a regular file"):
        read_midi(fifo)
    done = cli("compose", "--melody", str(fifo), "--genre", "jazz", "--out", str(tmp_path / "o.mid"), timeout=60)
    assert done.returncode == 2 and "pipe.mid is not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_an_unwritable_output_folder_is_exit_2_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        done = cli("compose", "--melody", "twinkle", "--genre", "jazz", "--out", str(folder / "x.mid"))
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == f"museforge: error: cannot write {folder / 'x.mid'}: Read-only file system"
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_reading_a_huge_declared_chunk_does_not_allocate_it(tmp_path: Path) -> None:
    data = header(1) + b"MTrk" + (2**32 - 1).to_bytes(4, "big") + note(60, 0, 480)  # claims 4 GiB, holds 8 bytes
    path = write(tmp_path, data)
    tracemalloc.start()
    try:
        with pytest.raises(MuseforgeError, match="cut short") as error:
            read_midi(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_line(error)
    assert peak < 1024 * 1024  # bytes: the declared length is never allocated


def meter_changes(counts: list[int]) -> bytes:
    """One track per count, each with that many meter changes a tick apart after one note (and its end of track)."""
    tracks = [note(60, 0, 480) + meter(3, 2, 1) * count + end_of_track() for count in counts]
    return header(len(counts)) + b"".join(chunk(track) for track in tracks)


def test_tempo_and_meter_changes_are_counted_per_file_off_by_none() -> None:
    limit = smf.MAX_CHANGES
    exactly = parse_smf(meter_changes([limit - 1000, 1000]))  # the limit, end-of-track events not counted
    assert sum(len(t.signatures) for t in exactly.tracks) == limit
    with pytest.raises(MuseforgeError, match=f"has more than {limit:,} meter changes") as error:
        parse_smf(meter_changes([limit - 1000, 1001]))
    one_line(error)
    # the audit's file spread its changes over many tracks, each under the old per-track count (12 s, 851 MB)
    with pytest.raises(MuseforgeError, match="meter changes"):
        parse_smf(meter_changes([30_000] * 3))
    tempi = header(1) + chunk(note(60, 0, 480) + tempo(500_000, 1) * limit + meter(3, 2, 1) + end_of_track())
    parsed = parse_smf(tempi)  # tempo and meter changes are counted apart
    assert len(parsed.tracks[0].tempos) == limit and len(parsed.tracks[0].signatures) == 1


def chords(n_steps: int, n_pitches: int = 128) -> bytes:
    """A sixteenth-note chord of ``n_pitches`` pitches on each of ``n_steps`` steps: one track, running status."""
    strike = b"".join(b"\x00" + bytes([p, 90]) for p in range(n_pitches))
    release = b"".join((b"\x78" if p == 0 else b"\x00") + bytes([p, 0]) for p in range(n_pitches))
    body = b"\x00\x90" + strike[1:] + (release + strike) * (n_steps - 1) + release
    return header(1) + chunk(body + end_of_track())


def test_note_and_event_limits_are_off_by_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smf, "MAX_NOTES", 4 * 128)
    assert sum(len(t.notes) for t in parse_smf(chords(4)).tracks) == 4 * 128
    with pytest.raises(MuseforgeError, match="has more than 512 notes"):
        parse_smf(chords(5))
    monkeypatch.setattr(smf, "MAX_EVENTS", 2 * 4 * 128 + 1)  # every note's two events and the end of track
    parse_smf(chords(4))
    monkeypatch.setattr(smf, "MAX_EVENTS", 2 * 4 * 128)
    with pytest.raises(MuseforgeError, match="events"):
        parse_smf(chords(4))


@pytest.mark.slow
def test_a_file_at_the_note_limit_is_refused_at_once_and_a_dense_melody_composes(tmp_path: Path) -> None:
    # 7,812 chords of 128 notes: 999,936 notes, the most a file may hold (the audit: compose took 58 s and 1.3 GB,
    # mostly writing the melody back out message by message, into a file of more notes than the reader takes)
    full = write(tmp_path, chords(smf.MAX_NOTES // 128), "million.mid")
    dense = write(tmp_path, chords(MAX_MELODY_NOTES // 128), "dense.mid")  # 781 chords: 99,968 notes
    out = tmp_path / "o.mid"
    code = (
        "import resource, pathlib\n"
        "from museforge.errors import MuseforgeError\n"
        "from museforge.pipelines.compose import compose\n"
        "try:\n"
        f"    compose(pathlib.Path({str(full)!r}), 'jazz', seed=1)\n"
        "except MuseforgeError as error:\n"
        "    print(error)\n"
        f"result = compose(pathlib.Path({str(dense)!r}), 'jazz', seed=1, out_midi=pathlib.Path({str(out)!r}))\n"
        "print(result.summary['tracks'][0]['notes'], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    refusal, counts = run_fresh(code).strip().splitlines()
    assert refusal == f"the melody has 999,936 notes; the limit is {MAX_MELODY_NOTES:,}"
    notes, megabytes = map(int, counts.split())
    assert notes == 781 * 128 and read_midi(out, resolution=4).count_notes(0) == notes
    assert megabytes < 1024  # the whole process, torch and the model included
