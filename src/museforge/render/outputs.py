"""Writing what a pipeline made: the checks on output paths, the MIDI / WAV / PNG files, the summary's tracks.

Compose, regenerate, enhance, extend and the studio's mixes all end here, so their files and summaries look alike.
Sheet music (MusicXML, :mod:`museforge.render.musicxml`) is written from any result on request; its path is
checked here with the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.music.midi import write_midi
from museforge.music.pianoroll import Multitrack
from museforge.music.sections import performed_instrument
from museforge.render.audio import render_wav

#: The file name endings each output accepts.
OUTPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "midi": (".mid", ".midi"),
    "wav": (".wav",),
    "png": (".png",),
    "musicxml": (".musicxml", ".xml"),
}
_HINTS = {
    "midi": "the MIDI file (--out)",
    "wav": "audio (--wav)",
    "png": "the piano roll (--png)",
    "musicxml": "sheet music (--musicxml)",
}


def check_output_paths(
    out_midi: Path | None, wav: Path | None = None, png: Path | None = None, musicxml: Path | None = None
) -> None:
    """Raise :class:`MuseforgeError` unless each given output path's folder exists and its suffix says its kind
    (MIDI into ``.mid``/``.midi``, audio into ``.wav``, the picture into ``.png``, sheet music into ``.musicxml``
    or ``.xml``): a MIDI file named ``x.wav`` is refused rather than written under a name that lies."""
    for kind, path in (("midi", out_midi), ("wav", wav), ("png", png), ("musicxml", musicxml)):
        if path is None:
            continue
        path = Path(path)
        if path.suffix.lower() not in OUTPUT_SUFFIXES[kind]:
            hint = _HINTS[kind]
            other = next((k for k, ends in OUTPUT_SUFFIXES.items() if path.suffix.lower() in ends), None)
            also = f"; for {other.upper()} use --{'out' if other == 'midi' else other}" if other else ""
            raise MuseforgeError(
                f"cannot write {hint} to {path}: its name must end in {' or '.join(OUTPUT_SUFFIXES[kind])}{also}"
            )
        if not path.parent.is_dir():
            raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")


def tracks_and_files(
    result: Multitrack, out_midi: Path | None, wav_path: Path | None, png_path: Path | None
) -> dict[str, Any]:
    """The end of every pipeline's summary: each track (name, role, program, drums, notes) and the files written."""
    return {
        "tracks": [
            {
                "name": result.names[i],
                "role": result.roles[i],
                "program": result.programs[i],
                "instrument": performed_instrument(result.programs[i], result.roles[i], result.is_drum[i]),
                "is_drum": result.is_drum[i],
                "notes": result.count_notes(i),
            }
            for i in range(result.n_tracks)
        ],
        "midi": str(out_midi) if out_midi is not None else None,
        "wav": str(wav_path) if wav_path else None,
        "png": str(png_path) if png_path else None,
    }


def write_outputs(
    result: Multitrack, out_midi: Path | None, wav: Path | None, png: Path | None, title: str
) -> tuple[Path | None, Path | None]:
    """Write a pipeline's music as MIDI, WAV and a piano-roll PNG where asked; returns the last two paths."""
    if out_midi is not None:
        write_midi(result, out_midi)
    wav_path = png_path = None
    if wav is not None:
        render_wav(result, wav)
        wav_path = Path(wav)
    if png is not None:
        from museforge.render.plots import save_pianoroll_png

        save_pianoroll_png(result, png, melody_track=0, title=title)
        png_path = Path(png)
    return wav_path, png_path


__all__ = ["OUTPUT_SUFFIXES", "check_output_paths", "tracks_and_files", "write_outputs"]
