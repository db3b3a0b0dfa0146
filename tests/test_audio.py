"""Rendering multitracks to WAV with FluidSynth: file format, length, loudness, drums and timbre."""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from museforge.errors import MuseforgeError, NotFoundError
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.render.audio import MAX_TAIL_SECONDS, TARGET_PEAK, render_wav, step_seconds, synthesizer_available


def test_the_synthesizer_is_installed() -> None:
    """make test installs FluidSynth; audio is part of the product, so its absence fails rather than skips."""
    assert synthesizer_available(), "FluidSynth is not installed (apt-get install fluidsynth)"


RATE = 22050
RES = 4  # steps per beat
PRETTY_MIDI_SF2 = Path(importlib.util.find_spec("pretty_midi").origin).parent / "TimGM6mb.sf2"

# "Twinkle twinkle" in quarter notes: C C G G A A G(half).
MELODY = [(60, 0, 4, 90), (60, 4, 8, 90), (67, 8, 12, 90), (67, 12, 16, 90), (69, 16, 20, 90), (69, 20, 24, 90)]
MELODY += [(67, 24, 32, 90)]
# Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on eighths, for two bars.
DRUMS = [(36, s, s + 1, 110) for s in range(0, 32, 8)] + [(38, s, s + 1, 100) for s in range(4, 32, 8)]
DRUMS += [(42, s, s + 1, 70) for s in range(0, 32, 2)]


def band(*tracks: TrackNotes, tempo: float = 120.0, n_steps: int | None = None) -> Multitrack:
    return Multitrack.from_notes(list(tracks), resolution=RES, tempo=tempo, n_steps=n_steps)


def piano(notes=MELODY, program: int = 0) -> TrackNotes:
    return TrackNotes("Melody", "melody", program, False, list(notes))


def drums(notes=DRUMS) -> TrackNotes:
    return TrackNotes("Drums", "drums", 0, True, list(notes))


def read_wav(path: Path) -> tuple[np.ndarray, Any]:
    """Samples as float (frames, channels) in full scale, and the header."""
    with wave.open(str(path), "rb") as file:
        params = file.getparams()
        data = np.frombuffer(file.readframes(params.nframes), dtype="<i2")
    return data.reshape(-1, params.nchannels).astype(np.float64) / 32768.0, params


def magnitude_spectrum(samples: np.ndarray, seconds: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and magnitudes of the mono mix's first ``seconds``."""
    mono = samples[: round(seconds * RATE)].mean(axis=1)
    magnitudes = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return np.fft.rfftfreq(len(mono), 1 / RATE), magnitudes


def test_melody_with_drums_renders_a_normalised_stereo_wav(tmp_path):
    path = tmp_path / "song.wav"
    info = render_wav(band(piano(), drums()), path, sample_rate=RATE)
    samples, params = read_wav(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, RATE)
    assert params.nframes / RATE == pytest.approx(info["seconds"])
    music = 32 / RES * 60 / 120  # 8 beats at 120 qpm = 4 s
    assert music <= info["seconds"] <= music + MAX_TAIL_SECONDS + 0.06
    assert info["peak"] == pytest.approx(TARGET_PEAK, abs=2e-3)
    assert np.abs(samples).max() == pytest.approx(info["peak"], abs=1e-4)
    assert info["rms"] > 0.03
    # Sound all through the music: every half second holds a note or drum hit.
    for start in np.arange(0.0, music, 0.5):
        assert np.abs(samples[round(start * RATE) : round((start + 0.5) * RATE)]).max() > 0.01
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"]  # no temporary file left behind


def test_length_follows_the_tempo_map(tmp_path):
    # 8 steps (2 beats) at 120 qpm = 1 s, then 8 steps at 60 qpm = 2 s.
    music = Multitrack.from_notes(
        [piano([(64, 0, 16, 80)])], resolution=RES, tempos=[(0, 120.0), (8, 60.0)], n_steps=16
    )
    assert step_seconds(music, np.array([0, 8, 12, 16])) == pytest.approx([0.0, 1.0, 2.0, 3.0])
    info = render_wav(music, tmp_path / "slow.wav", sample_rate=RATE, soundfont=PRETTY_MIDI_SF2)
    assert 3.0 <= info["seconds"] <= 3.0 + MAX_TAIL_SECONDS + 0.06


def test_notes_start_on_time(tmp_path):
    # One note on beat 3 (step 8 at 4 steps per beat, 120 qpm): silence for exactly one second first.
    path = tmp_path / "late.wav"
    render_wav(band(piano([(72, 8, 12, 100)])), path, sample_rate=RATE, soundfont=PRETTY_MIDI_SF2)
    samples, _ = read_wav(path)
    first_sound = np.flatnonzero(np.abs(samples).max(axis=1) > 1e-3)[0] / RATE
    assert first_sound == pytest.approx(1.0, abs=0.02)


def test_drums_alone_are_audible_and_sound_like_drums(tmp_path):
    kick_path, snare_path = tmp_path / "kick.wav", tmp_path / "snare.wav"
    kick_info = render_wav(band(drums([(36, 0, 2, 120)])), kick_path, sample_rate=RATE)
    render_wav(band(drums([(38, 0, 2, 120)])), snare_path, sample_rate=RATE)
    assert kick_info["rms"] > 0.01
    frequencies, kick = magnitude_spectrum(read_wav(kick_path)[0], seconds=0.25)
    assert frequencies[np.argmax(kick)] < 150  # a bass drum's thump
    _, snare = magnitude_spectrum(read_wav(snare_path)[0], seconds=0.25)
    # The snare is noise: a flat spectrum, unlike the tone of the D2 (MIDI 38) a melodic channel would play.
    audible = (frequencies > 50) & (frequencies < 8000)
    flatness = np.exp(np.mean(np.log(snare[audible] + 1e-12))) / np.mean(snare[audible])
    assert flatness > 0.3


def test_a_different_program_gives_a_different_timbre(tmp_path):
    spectra = {}
    for program in (0, 73):  # Acoustic Grand Piano, Flute
        path = tmp_path / f"{program}.wav"
        render_wav(band(piano([(69, 0, 4, 100)], program=program)), path, sample_rate=RATE)
        frequencies, spectra[program] = magnitude_spectrum(read_wav(path)[0])
        assert frequencies[np.argmax(spectra[program])] == pytest.approx(440.0, rel=0.03)  # A4 for both
    audible = (frequencies > 100) & (frequencies < 5000)
    piano_db, flute_db = (20 * np.log10(spectra[p][audible] / spectra[p].max() + 1e-6) for p in (0, 73))
    assert np.abs(piano_db - flute_db).mean() > 6.0


def test_a_multitrack_without_notes_renders_silence(tmp_path):
    info = render_wav(band(piano([]), n_steps=16), tmp_path / "silent.wav", sample_rate=RATE)
    assert 2.0 <= info["seconds"] <= 2.1
    assert info["peak"] == 0.0 and info["rms"] == 0.0


def test_bad_arguments_give_one_line_errors(tmp_path):
    music = band(piano())
    with pytest.raises(NotFoundError, match="soundfont"):
        render_wav(music, tmp_path / "a.wav", soundfont=tmp_path / "missing.sf2")
    with pytest.raises(MuseforgeError, match="sample rate"):
        render_wav(music, tmp_path / "a.wav", sample_rate=1000)
    with pytest.raises(MuseforgeError, match="does not exist"):
        render_wav(music, tmp_path / "no" / "a.wav")
    forty_minutes = Multitrack.from_notes([piano([(60, 0, 1, 90)])], resolution=1, tempo=10.0, n_steps=400)
    with pytest.raises(MuseforgeError, match="too long to render: 40 minutes"):
        render_wav(forty_minutes, tmp_path / "a.wav")
    assert not list(tmp_path.iterdir())
