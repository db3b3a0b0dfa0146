"""The studio's control over a result: instruments per track, regenerating tracks or bars, per-track audio mixes,
sheet music, the tracks of an uploaded file, and download names that say what the music is.

Everything here calls the library (:mod:`museforge.pipelines.compose`, :mod:`museforge.pipelines.regenerate`,
:mod:`museforge.pipelines.instruments`); new music is stored as a new composition (so the page keeps a history and
can undo), through :func:`museforge.server.studio.produce`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.music.inputs import melody_track_choices
from museforge.music.instruments import DRUM_KITS, GM_PROGRAM_NAMES
from museforge.music.midi import read_midi
from museforge.pipelines.common import PipelineResult
from museforge.pipelines.controls import check_same_model
from museforge.render.audio import render_wav
from museforge.render.outputs import tracks_and_files, write_outputs
from museforge.server import studio
from museforge.server.responses import Composition, Instrument, InstrumentChoice, MelodyTrack
from museforge.server.schemas import RegenerateRequest
from museforge.store import Store, check_id

#: Most per-track mixes kept beside a composition (each a WAV of the tracks heard).
MAX_MIXES = 16
_SLUG = re.compile(r"[^a-z0-9]+")


# ------------------------------------------------------------------------------------------ instruments
def gm_programs() -> list[Instrument]:
    """The 128 General MIDI programs ``[{program, name, is_drum: false}]`` and the drum kits (``is_drum: true``)."""

    pitched = [Instrument(program=i, name=name, is_drum=False) for i, name in enumerate(GM_PROGRAM_NAMES)]
    kits = [Instrument(program=p, name=name, is_drum=True) for p, name in sorted(DRUM_KITS.items())]
    return pitched + kits


def instruments(model: str) -> list[InstrumentChoice]:
    """Per accompaniment track of a composing model: its default and suggested instruments (see
    :func:`museforge.pipelines.instruments.instrument_choices`)."""
    from museforge.pipelines.instruments import instrument_choices

    studio.check_composer(model)
    return [InstrumentChoice(**choice) for choice in instrument_choices(model)]


# ------------------------------------------------------------------------------------------ uploads
def melody_tracks(path: Path) -> list[MelodyTrack]:
    """The tracks of a stored melody file (index, name, program, instrument, notes, and which is the melody)."""

    return [MelodyTrack(**track) for track in melody_track_choices(path, resolution=studio.RESOLUTION)]


# ------------------------------------------------------------------------------------------ regenerate
def regenerate(
    store: Store, composition_id: str, request: RegenerateRequest, slots: threading.Semaphore
) -> Composition:
    """Generate ``request.tracks`` over ``request.bars`` of a stored composition again (or, with no tracks, only
    change its instruments); the result is a new composition with the same melody label, returned with its roll."""
    row = store.get_composition(check_id(composition_id, "composition"))
    if row["technique"] != "compose":
        raise MuseforgeError(f"composition {composition_id} was {row['technique']}ed: only composed music regenerates")
    previous = studio.composition_file(row, "midi")
    model = str(row["model"])
    if request.model is not None:
        check_same_model(f"composition {row['id']}", model, request.model)
    studio.check_composer(model)
    if request.bars and request.bars[0] > request.bars[1]:
        raise MuseforgeError(f"bars must go from the first to the last: {request.bars[0]}-{request.bars[1]}")
    bars = (request.bars[0] - 1, request.bars[1] - 1) if request.bars else None
    label = str(row["melody"])

    def run(out: studio.Outputs) -> PipelineResult:
        if not request.tracks:
            return _revoice(previous, request, out, row)
        from museforge.pipelines.regenerate import regenerate as regenerate_tracks

        result = regenerate_tracks(
            previous,
            model,
            tracks=request.tracks,
            bars=bars,
            previous_seed=row["seed"],
            seed=request.seed,
            programs=request.programs,
            variation=request.variation,
            with_repeats=request.with_repeats,
            out_midi=out.midi,
            wav=out.wav,
            png=out.png,
        )
        result.summary.update({"regenerated_tracks": list(request.tracks), "regenerated_bars": request.bars})
        result.summary["previous"] = row["id"]
        return result  # type: ignore[return-value]

    return studio.produce(store, request, slots, technique="compose", label=label, run=run)  # type: ignore[arg-type]


#: Summary keys of a composition that say what its files hold now, not how its notes were made.
_FILE_FACTS = (
    "tracks",
    "midi",
    "wav",
    "png",
    "musicxml",
    "regenerated_tracks",
    "regenerated_bars",
    "instruments_changed",
)


def _revoice(previous: Path, request: RegenerateRequest, out: studio.Outputs, row: dict[str, Any]) -> PipelineResult:
    """The same notes with other General MIDI programs for the roles in ``request.programs``.

    The notes are the composition's own, so the result keeps how they were made: its model, seed (a later
    regenerate keeps the shared noise), meter and bars; only the tracks and the files are new.
    """

    if not request.programs:
        raise MuseforgeError("give the tracks to regenerate, or programs to change the instruments")
    music = read_midi(previous, resolution=studio.RESOLUTION)
    unknown = sorted(set(request.programs) - set(music.roles))
    if unknown:
        raise MuseforgeError(f"the composition has no {unknown[0]!r} track: it has {', '.join(music.roles)}")
    if "melody" in request.programs:
        raise MuseforgeError("the melody keeps its own instrument: choose programs for the accompaniment tracks")
    programs = [
        int(request.programs.get(role, program)) for role, program in zip(music.roles, music.programs, strict=True)
    ]
    result = dataclasses.replace(music, programs=programs)
    model = str(row["model"])
    wav_path, png_path = write_outputs(result, out.midi, out.wav, out.png, f"{model}: {music.names[0]}")
    before = row.get("summary")
    facts = before.items() if isinstance(before, dict) else ()
    summary = {key: value for key, value in facts if key not in _FILE_FACTS}
    summary.update({"model": model, "seed": row.get("seed"), "bars": music.n_bars, "previous": row["id"]})
    summary["instruments_changed"] = dict(request.programs)
    summary.update({"tempo": result.tempo, **tracks_and_files(result, out.midi, wav_path, png_path)})
    return PipelineResult(result, out.midi, wav_path, png_path, summary)


# ------------------------------------------------------------------------------------------ audio mixes
def mix_wav(store: Store, row: dict[str, Any], tracks: str) -> Path:
    """A WAV of only some tracks of a composition (mute/solo in the page): ``tracks`` is ``"0,2"`` (indices).

    Rendered once per set of tracks and kept beside the composition (at most :data:`MAX_MIXES`).
    """

    path = studio.composition_file(row, "midi")
    try:
        chosen = sorted({int(part) for part in tracks.split(",") if part.strip()})
    except ValueError:
        raise MuseforgeError(f"tracks must be track numbers joined by commas, e.g. 0,2; got {tracks[:40]!r}") from None
    folder = store.compositions_dir / check_id(row["id"], "composition")
    if not chosen:
        raise MuseforgeError("choose at least one track to hear")
    key = hashlib.sha256(",".join(map(str, chosen)).encode()).hexdigest()[:16]
    mix = folder / f"mix-{key}.wav"  # a short name whatever the list (a long one made the name too long: 500)
    if mix.is_file():
        return mix
    music = read_midi(path, resolution=studio.RESOLUTION)
    if chosen[-1] >= music.n_tracks or chosen[0] < 0:
        raise NotFoundError(f"the composition has tracks 0-{music.n_tracks - 1}, not {chosen[-1]}")
    if len(list(folder.glob("mix-*.wav"))) >= MAX_MIXES:
        for old in folder.glob("mix-*.wav"):
            old.unlink(missing_ok=True)
    render_wav(music.select(chosen), mix)
    return mix


# ------------------------------------------------------------------------------------------ sheet music
def sheet_music(store: Store, row: dict[str, Any], slots: threading.Semaphore) -> Path:
    """The MusicXML score of a composition (:func:`museforge.render.musicxml.write_musicxml`), made from its MIDI
    file on the first download and kept beside it as long as that file is unchanged.

    ``slots`` bounds how many pieces are generated or notated at once (a long piece takes seconds).
    """
    midi = studio.composition_file(row, "midi")
    folder = store.compositions_dir / check_id(row["id"], "composition")
    key = hashlib.sha256(midi.read_bytes()).hexdigest()[:16]
    sheet = folder / f"sheet-{key}.musicxml"  # a CLI composition's MIDI file may be written again: a new key
    if sheet.is_file():
        return sheet
    from museforge.render.musicxml import write_musicxml

    with slots:
        if sheet.is_file():  # made by a request that held the slot before this one
            return sheet
        folder.mkdir(parents=True, exist_ok=True)  # a CLI composition has no folder of its own yet
        for old in folder.glob("sheet-*.musicxml"):
            old.unlink(missing_ok=True)  # the score of an earlier MIDI file
        write_musicxml(read_midi(midi, resolution=studio.RESOLUTION), sheet)
    return sheet


# ------------------------------------------------------------------------------------------ download names
def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40]


def download_name(row: dict[str, Any], suffix: str) -> str:
    """A file name saying what the music is: ``twinkle-jazz-seed12.mid``, ``ode_to_joy-enhanced-bach-seed3.wav``.

    The melody part is the sample's name or the uploaded file's stem (a label ``kind:name`` loses its kind).
    """
    label = str(row.get("melody") or "melody").split(":", 1)[-1]
    melody = _slug(Path(label).stem if label.lower().endswith((".mid", ".midi")) else label) or "melody"
    if re.fullmatch(r"[a-z0-9_]+", label):
        melody = label  # a sample's own name, e.g. ode_to_joy
    made = "" if row.get("technique") == "compose" else f"{studio.TECHNIQUE_PAST.get(row['technique'], 'made')}-"
    model = _slug(str(row.get("model") or "")) or "model"
    seed = f"-seed{row['seed']}" if row.get("seed") is not None else ""
    return f"{melody}-{made}{model}{seed}.{suffix}"
