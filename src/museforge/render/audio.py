"""Render a :class:`~museforge.music.pianoroll.Multitrack` to a WAV file with FluidSynth and a General MIDI soundfont.

Every track plays on its own MIDI channel of one synthesizer (drum tracks on percussion bank 128), so the mix,
reverb and chorus are what a GM player would produce. Note times come from the multitrack's tempo map. The
synthesizer writes floating-point samples, so nothing clips before the mix is normalised to a fixed peak and
stored as 16-bit PCM stereo.

The synthesizer is the ``fluidsynth`` Python module (pyfluidsynth) over the FluidSynth C library
(``apt-get install fluidsynth``). The soundfont is Debian's FluidR3 GM when installed
(``apt-get install fluid-soundfont-gm``), else the small TimGM6mb that ships with pretty_midi.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import wave
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError, NotFoundError
from museforge.files import atomic_write
from museforge.music.pianoroll import Multitrack
from museforge.music.sections import perform_sections

#: GM soundfonts tried in order when none is given: Debian/Ubuntu's and other distributions' FluidR3.
SYSTEM_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
)
#: The peak of every rendered file, in full scale (-1 dBFS).
TARGET_PEAK = 10 ** (-1 / 20)
#: Longest music rendered, in seconds (a float32 stereo buffer of an hour at 44.1 kHz is 1.3 GB).
MAX_RENDER_SECONDS = 30 * 60.0
#: Longest release/reverb tail rendered after the music ends, in seconds.
MAX_TAIL_SECONDS = 3.0
#: The tail stops once a 50 ms block is this far below the loudest sample so far (-60 dB).
TAIL_SILENCE = 1e-3
#: Raw synthesizer output below this (about -100 dBFS; FluidSynth's effects leave ~1e-8 in silence) is silence.
SILENCE_FLOOR = 1e-5
DRUM_BANK = 128
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000
_SYNTH_GAIN = 0.2
_POLYPHONY = 1024
_INSTALL_HINT = "install it with `apt-get install fluidsynth` (and `pip install pyfluidsynth`)"


def render_wav(
    multitrack: Multitrack,
    path: str | Path,
    sample_rate: int = 44100,
    soundfont: str | Path | None = None,
) -> dict[str, float]:
    """Synthesize ``multitrack`` and write it as a 16-bit stereo WAV file.

    Parameters
    ----------
    multitrack : the music; ``rolls`` of shape (tracks, time, 128) give notes and velocities.
    path : the ``.wav`` file to write (its folder must exist); written to a temporary name and renamed.
    sample_rate : samples per second, 8000 to 96000.
    soundfont : a ``.sf2`` General MIDI soundfont; default: see :func:`find_soundfont`.

    Returns
    -------
    dict with ``seconds`` (length of the file, the music plus its release tail), ``peak`` and ``rms``
    (of the written samples, as fractions of full scale).

    Raises
    ------
    MuseforgeError
        FluidSynth is missing, the sample rate is out of range, the music is longer than
        :data:`MAX_RENDER_SECONDS`, or the file cannot be written.
    NotFoundError
        The given soundfont does not exist, or no soundfont is installed.
    """
    path = Path(path)
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise MuseforgeError(f"sample rate must be {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz, got {sample_rate}")
    if not path.parent.is_dir():
        raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")
    sf2 = find_soundfont(soundfont)
    audio = synthesize(multitrack, sample_rate, sf2)
    peak = float(np.abs(audio).max(initial=0.0))
    if peak > SILENCE_FLOOR:
        audio *= TARGET_PEAK / peak
    pcm = np.clip(np.rint(audio * 32767.0), -32767, 32767).astype("<i2")
    _write_wav(pcm, sample_rate, path)
    scaled = pcm.astype(np.float64) / 32768.0
    return {
        "seconds": len(pcm) / sample_rate,
        "peak": float(np.abs(scaled).max(initial=0.0)),
        "rms": float(np.sqrt(np.mean(scaled**2))) if len(scaled) else 0.0,
    }


def synthesize(multitrack: Multitrack, sample_rate: int, soundfont: Path) -> np.ndarray:
    """The raw stereo mix of ``multitrack``, not normalised.

    Returns
    -------
    np.ndarray, shape (samples, 2), float32
        The music (as long as its ``n_steps`` under the tempo map) followed by the release tail, up to
        :data:`MAX_TAIL_SECONDS`, stopped early once it falls silent.
    """
    multitrack = perform_sections(multitrack)  # a section's low notes on its low instrument
    fluidsynth = _load_fluidsynth()
    write_float = _write_float_function(fluidsynth)
    music_seconds = float(step_seconds(multitrack, multitrack.n_steps))
    if music_seconds > MAX_RENDER_SECONDS:
        minutes = MAX_RENDER_SECONDS / 60
        raise MuseforgeError(f"the music is too long to render: {music_seconds / 60:.0f} minutes (limit {minutes:.0f})")
    events = _note_events(multitrack, sample_rate)
    music_samples = round(music_seconds * sample_rate)
    tail_samples = round(MAX_TAIL_SECONDS * sample_rate)
    audio = np.zeros((music_samples + tail_samples, 2), dtype=np.float32)

    synth = fluidsynth.Synth(
        gain=_SYNTH_GAIN,
        samplerate=float(sample_rate),
        channels=_n_channels(multitrack),
        **{"synth.polyphony": _POLYPHONY},
    )
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise MuseforgeError(f"FluidSynth could not load the soundfont {soundfont}")
        for track, channel in enumerate(_channels(multitrack)):
            bank = DRUM_BANK if multitrack.is_drum[track] else 0
            program = int(multitrack.programs[track])
            if synth.sfpreset_name(sfid, bank, program) is None and synth.sfpreset_name(sfid, bank, 0) is not None:
                program = 0  # a kit or instrument this soundfont lacks
            synth.program_select(channel, sfid, bank, program)

        def render(start: int, stop: int) -> None:
            if stop > start:
                block = audio[start:stop]
                pointer = block.ctypes.data_as(ctypes.c_void_p)
                right = ctypes.c_void_p(block.ctypes.data + block.itemsize)
                write_float(synth.synth, stop - start, pointer, 0, 2, right, 0, 2)

        now = 0
        for sample, is_on, channel, pitch, velocity in events:
            sample = min(sample, music_samples)
            render(now, sample)
            now = max(now, sample)
            if is_on:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        render(now, music_samples)
        end = _render_tail(audio, music_samples, render, sample_rate)
    finally:
        synth.delete()
    return audio[:end]


def step_seconds(multitrack: Multitrack, step: float | np.ndarray) -> np.ndarray:
    """Seconds from the start to grid ``step`` (scalar or array) under the multitrack's tempo map."""
    changes = sorted(multitrack.tempos) or [(0, 120.0)]
    starts = np.array([max(0, s) for s, _ in changes], dtype=np.float64)
    starts[0] = 0.0
    seconds_per_step = np.array([60.0 / (max(float(q), 1e-3) * multitrack.resolution) for _, q in changes])
    offsets = np.concatenate([[0.0], np.cumsum(np.diff(starts) * seconds_per_step[:-1])])
    step = np.asarray(step, dtype=np.float64)
    index = np.clip(np.searchsorted(starts, step, side="right") - 1, 0, len(starts) - 1)
    return offsets[index] + (step - starts[index]) * seconds_per_step[index]


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The soundfont to use: ``soundfont`` if given, else FluidR3 GM if installed, else pretty_midi's TimGM6mb.

    Raises
    ------
    NotFoundError
        ``soundfont`` does not exist, or none of the defaults is installed.
    """
    if soundfont is not None:
        path = Path(soundfont).expanduser()
        if not path.is_file():
            raise NotFoundError(f"soundfont {path} does not exist")
        return path
    for path in SYSTEM_SOUNDFONTS:
        if path.is_file():
            return path
    spec = importlib.util.find_spec("pretty_midi")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "TimGM6mb.sf2"
        if bundled.is_file():
            return bundled
    raise NotFoundError("no General MIDI soundfont found: install one with `apt-get install fluid-soundfont-gm`")


def synthesizer_available() -> bool:
    """True when FluidSynth (the Python module and its C library) can be loaded."""
    try:
        _write_float_function(_load_fluidsynth())
    except MuseforgeError:
        return False
    return True


def _load_fluidsynth() -> ModuleType:
    """Import pyfluidsynth, turning a missing module or C library into a one-line MuseforgeError."""
    try:
        import fluidsynth
    except (ImportError, OSError):
        raise MuseforgeError(f"audio rendering needs the FluidSynth synthesizer: {_INSTALL_HINT}") from None
    if not hasattr(fluidsynth, "Synth"):
        raise MuseforgeError(f"the installed `fluidsynth` module is not pyfluidsynth: {_INSTALL_HINT}")
    return fluidsynth


def _write_float_function(fluidsynth: ModuleType) -> Any:
    """The C function ``fluid_synth_write_float`` of the library pyfluidsynth loaded (float output, no clipping)."""
    location = getattr(fluidsynth, "lib", None) or ctypes.util.find_library("fluidsynth")
    try:
        function = ctypes.CDLL(location).fluid_synth_write_float
    except (OSError, AttributeError, TypeError):
        raise MuseforgeError(f"the FluidSynth C library could not be loaded: {_INSTALL_HINT}") from None
    function.restype = ctypes.c_int
    function.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    return function


def _channels(multitrack: Multitrack) -> list[int]:
    """One MIDI channel per track: drum tracks on channels 9, 25, 41, ... and pitched tracks on the others."""
    pitched = (c for c in range(1 << 12) if c % 16 != 9)
    drums = (c for c in range(9, 1 << 12, 16))
    return [next(drums) if drum else next(pitched) for drum in multitrack.is_drum]


def _n_channels(multitrack: Multitrack) -> int:
    """Synthesizer channels needed for :func:`_channels`, a multiple of 16."""
    highest = max(_channels(multitrack), default=0)
    return 16 * (highest // 16 + 1)


def _note_events(multitrack: Multitrack, sample_rate: int) -> list[tuple[int, bool, int, int, int]]:
    """All note ons and offs as ``(sample, is_on, channel, pitch, velocity)``, offs first at equal times."""
    events: list[tuple[int, bool, int, int, int]] = []
    for track, channel in enumerate(_channels(multitrack)):
        notes = multitrack.notes(track)
        if not notes:
            continue
        table = np.asarray(notes, dtype=np.int64)
        on_samples = np.rint(step_seconds(multitrack, table[:, 1]) * sample_rate).astype(np.int64)
        off_samples = np.rint(step_seconds(multitrack, table[:, 2]) * sample_rate).astype(np.int64)
        for (pitch, _, _, velocity), on, off in zip(notes, on_samples, off_samples, strict=True):
            events.append((int(on), True, channel, pitch, max(1, min(127, velocity))))
            events.append((int(off), False, channel, pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _render_tail(audio: np.ndarray, start: int, render: Any, sample_rate: int) -> int:
    """Render the release tail after ``start`` in 50 ms blocks until it is silent; return the end sample."""
    block = max(1, sample_rate // 20)
    loudest = float(np.abs(audio[:start]).max(initial=0.0))
    now = start
    while now < len(audio):
        stop = min(now + block, len(audio))
        render(now, stop)
        level = float(np.abs(audio[now:stop]).max(initial=0.0))
        loudest = max(loudest, level)
        now = stop
        if level <= max(TAIL_SILENCE * loudest, SILENCE_FLOOR):
            break
    return now


def _write_wav(pcm: np.ndarray, sample_rate: int, path: Path) -> None:
    """Write (samples, 2) int16 ``pcm`` as a WAV file through a temporary name."""

    def write(temporary: Path) -> None:
        with wave.open(str(temporary), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm.tobytes())

    atomic_write(path, write)
