"""What the studio's routes do, kept out of the routes: melodies in, compositions out, piano rolls as JSON.

Uploaded and recorded melodies become MIDI files ``<data>/melodies/<id>.mid`` indexed in the store; the studio's
compositions are written to ``<data>/compositions/<id>/`` and indexed too, whatever technique made them (compose
here, enhance and extend in :mod:`museforge.server.techniques`, all through :func:`produce`). Only ids made here
(32 hex digits) and checked model names ever become parts of a path.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.model_files import GAN_ARCHITECTURES
from museforge.music.file_kinds import not_midi_message
from museforge.music.inputs import check_melody, melody_track_choices
from museforge.music.keys import key_name
from museforge.music.melodies import SampleMelody, get_melody, list_melodies, melody_to_multitrack
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.common import PipelineResult
from museforge.pipelines.work import REQUEST_MAX_PASSES, work_limits
from museforge.server.responses import Composer, Composition, MelodyTrack, Roll, RollTrack, UserMelody
from museforge.server.responses import SampleMelody as SampleMelodyOut
from museforge.server.schemas import ComposeRequest, MelodySource, RecordedMelody
from museforge.store import Store, check_id, check_model_name, new_id

#: Grid of stored melodies and of piano-roll JSON: steps per quarter-note beat.
RESOLUTION = 12
#: Keyboard recordings snap to sixteenth notes.
RECORD_GRID_BEATS = 0.25
MIDI_MAGIC = b"MThd"
RECORDED_PROGRAM = 0
RECORDED_VELOCITY = 100
_SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()-]+")
#: Architectures that compose (GANs); the others are the Enhance and Extend techniques' models.
COMPOSE_ARCHITECTURES = GAN_ARCHITECTURES


# ------------------------------------------------------------------------------------------ piano rolls
def multitrack_json(multitrack: Multitrack) -> Roll:
    """A multitrack as the page's piano roll (:class:`~museforge.server.responses.Roll`): every track's notes in
    steps of the multitrack's grid.

    Its JSON is ``{resolution, tempo, n_steps, beats_per_bar, downbeats, tracks: [{name, role, program, is_drum,
    color, notes: [[pitch, start_step, end_step, velocity], ...]}]}``; colours match the PNG's
    (:func:`museforge.render.plots.track_colors`, the melody in red).
    """
    from museforge.render.plots import track_colors

    _, numerator, denominator = multitrack.time_signatures[0]
    downbeats: Any = multitrack.downbeats if multitrack.downbeats is not None else []
    melody = multitrack.track_index("melody")
    colors = track_colors(multitrack, melody_track=melody) if multitrack.n_tracks else []
    return Roll(
        resolution=multitrack.resolution,
        tempo=round(multitrack.tempo, 3),
        n_steps=multitrack.n_steps,
        beats_per_bar=numerator * 4 / denominator,
        downbeats=[int(step) for step in downbeats],
        tracks=[
            RollTrack(
                name=multitrack.names[i],
                role=multitrack.roles[i],
                program=int(multitrack.programs[i]),
                is_drum=bool(multitrack.is_drum[i]),
                color=colors[i],
                notes=[[int(v) for v in note] for note in multitrack.notes(i)],
            )
            for i in range(multitrack.n_tracks)
        ],
    )


def sample_json(melody: SampleMelody, *, roll: bool = False) -> SampleMelodyOut:
    """A sample melody's facts (and its piano roll with ``roll=True``)."""
    data: dict[str, Any] = {
        "name": melody.name,
        "title": melody.title,
        "composer": melody.composer,
        "about": melody.about,
        "tempo": melody.tempo,
        "time_signature": list(melody.time_signature),
        "key": melody.key,
        "bars": melody.n_bars,
        "notes": len(melody.notes),
    }
    if roll:
        data["roll"] = multitrack_json(melody_to_multitrack(melody, RESOLUTION))
    return SampleMelodyOut(**data)


def list_samples() -> list[SampleMelodyOut]:
    return [sample_json(m) for m in list_melodies()]


def get_sample(name: str) -> SampleMelodyOut:
    return sample_json(get_melody(name), roll=True)


# ------------------------------------------------------------------------------------------ user melodies
def _display_name(filename: str | None, fallback: str) -> str:
    """A file name safe to show and to use as a temporary file's name: no folders, odd characters or length."""
    base = Path(str(filename or "")).name if filename else ""
    base = _SAFE_NAME.sub("_", base).strip(" .")[:64]
    return base or fallback


def _melody_title(name: str | None, fallback: str) -> str:
    """A recording's title as shown (never a path): printable characters, one space between words, at most 64;
    keeps letters like "è" and the "·" of an edited melody's "Edited · <original title>"."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(name or "")).split())[:64].strip()
    return text or fallback


def _melody_info(multitrack: Multitrack) -> dict[str, Any]:
    numerator, denominator = multitrack.meter
    pitched = [i for i in range(multitrack.n_tracks) if not multitrack.is_drum[i]]
    return {
        "key": key_name((p, end - start) for i in pitched for p, start, end, _ in multitrack.notes(i)),
        "bars": multitrack.n_bars,
        "tempo": round(multitrack.tempo, 3),
        "time_signature": [numerator, denominator],
        "tracks": multitrack.n_tracks,
        "notes": multitrack.n_notes,
    }


def user_melody_json(
    store: Store, row: dict[str, Any], *, roll: bool = False, music: Multitrack | None = None
) -> UserMelody:
    """An uploaded or recorded melody's facts (and its piano roll, read back from its file, with ``roll=True``).

    With ``roll=True`` also ``track_list``: every track of the file (index, name, program, instrument, notes,
    ``melody`` for the one used unless the request names another ``melody_track``).
    """
    data = {k: row[k] for k in ("id", "name", "kind", "created_at")}
    data.update(row["info"])
    if roll:
        if music is None:  # an upload passes the multitrack it has just read: one parse per upload
            music = read_midi(melody_file(store, row), resolution=RESOLUTION)
        data["roll"] = multitrack_json(music)
        data["track_list"] = [MelodyTrack(**track) for track in melody_track_choices(music, resolution=RESOLUTION)]
    return UserMelody(**data)


def melody_file(store: Store, row: dict[str, Any]) -> Path:
    """The MIDI file of a stored melody: ``<melodies_dir>/<id>.mid`` (never a path taken from a request)."""
    path = store.melodies_dir / f"{check_id(row['id'], 'melody')}.mid"
    if not path.is_file():
        raise NotFoundError(f"the file of melody {row['id']} is gone")
    return path


def save_upload(store: Store, data: bytes, filename: str | None, max_bytes: int) -> UserMelody:
    """Validate an uploaded MIDI file, keep it, index it; returns :func:`user_melody_json` with the roll.

    Raises MuseforgeError for an empty, oversized, non-MIDI, note-less, drum-only or too long file.
    """

    name = _display_name(filename, "upload.mid")
    if not data:
        raise MuseforgeError("the uploaded file is empty")
    if len(data) > max_bytes:
        raise MuseforgeError(f"{name} is {len(data)} bytes; the upload limit is {max_bytes} bytes (1 MB)")
    if not data.startswith(MIDI_MAGIC):
        raise MuseforgeError(not_midi_message(name, data[:16]))
    store.melodies_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.melodies_dir) as scratch:
        candidate = Path(scratch) / (name if name.lower().endswith((".mid", ".midi")) else f"{name}.mid")
        candidate.write_bytes(data)
        try:
            multitrack = read_midi(candidate, resolution=RESOLUTION)
        except (ArithmeticError, ValueError, IndexError) as error:  # a value the reader could not take
            raise MuseforgeError(f"{name} is not a readable MIDI file ({type(error).__name__}: {error})") from None
        check_melody(multitrack, what=name)  # what compose checks, so compose takes what is kept
        melody_id = new_id()
        final = store.melodies_dir / f"{melody_id}.mid"
        shutil.move(candidate, final)
    row = store.add_melody(name, "upload", final, _melody_info(multitrack), melody_id)
    return user_melody_json(store, row, roll=True, music=multitrack)


def save_recording(store: Store, recording: RecordedMelody) -> UserMelody:
    """Turn a keyboard recording into a one-track melody (snapped to sixteenths), keep it as MIDI, index it.

    Notes are placed on a grid of :data:`RESOLUTION` steps per beat after rounding start and end to the nearest
    sixteenth (a note keeps at least one sixteenth); the melody is ``bars`` bars long (default: the bars the notes
    reach). Raises MuseforgeError when notes fall after the last bar.
    """

    numerator, denominator = recording.meter()
    grid_steps = round(RECORD_GRID_BEATS * RESOLUTION)
    notes: list[tuple[int, int, int, int]] = []
    for note in recording.notes:
        start = round(note.start_beat / RECORD_GRID_BEATS) * grid_steps
        end = max(start + grid_steps, round((note.start_beat + note.duration_beats) / RECORD_GRID_BEATS) * grid_steps)
        notes.append((note.pitch, start, end, RECORDED_VELOCITY))
    last_end = max(end for _, _, end, _ in notes)
    steps_per_bar = round(numerator * 4 * RESOLUTION / denominator)
    if steps_per_bar < grid_steps:
        raise MuseforgeError(f"a {numerator}/{denominator} bar is shorter than a sixteenth note")
    bars = recording.bars or max(1, math.ceil(last_end / steps_per_bar))
    first_start = min(start for _, start, _, _ in notes)
    if first_start >= bars * steps_per_bar:
        raise MuseforgeError(f"every note starts after the recording's {bars} bars")
    notes = [(p, s, min(e, bars * steps_per_bar), v) for p, s, e, v in notes if s < bars * steps_per_bar]
    title = _melody_title(recording.name, "Recorded melody")
    track = TrackNotes(title, "melody", RECORDED_PROGRAM, False, notes)
    meter = (numerator, denominator)
    multitrack = Multitrack.from_notes(
        [track], RESOLUTION, tempo=recording.tempo, time_signature=meter, n_steps=bars * steps_per_bar
    )
    melody_id = new_id()
    store.melodies_dir.mkdir(parents=True, exist_ok=True)
    path = store.melodies_dir / f"{melody_id}.mid"
    write_midi(multitrack, path)
    row = store.add_melody(title, "recorded", path, _melody_info(multitrack), melody_id)
    return user_melody_json(store, row, roll=True)


# ------------------------------------------------------------------------------------------ composing
def composers() -> list[Composer]:
    """The models that can compose (pretrained genres, completed user models), with the facts each one has."""
    from museforge.models.loading import list_composers

    keep = ("name", "kind", "genre", "architecture", "status", "epochs_done", "tracks")
    return [
        Composer(**{k: c[k] for k in keep if k in c})
        for c in list_composers()
        if c.get("kind") == "pretrained" or c.get("architecture") in COMPOSE_ARCHITECTURES
    ]


def resolve_melody(store: Store, request: MelodySource) -> tuple[str | Path, str]:
    """What to pass to a pipeline (a sample name or a MIDI file) and the label stored with its result.

    The request names exactly one of a sample (``melody``), an uploaded or recorded melody (``melody_id``) or a
    stored composition (``composition_id``: its MIDI file, so one technique's result feeds the next).
    """
    given = [v for v in (request.melody, request.melody_id, request.composition_id) if v is not None]
    if len(given) != 1:
        raise MuseforgeError(
            "give exactly one of 'melody' (a sample name), 'melody_id' (an uploaded or recorded melody) "
            "or 'composition_id' (a composition)"
        )
    if request.melody is not None:
        sample = get_melody(request.melody)
        return sample.name, sample.name
    if request.melody_id is not None:
        row = store.get_melody(check_id(request.melody_id, "melody"))
        return melody_file(store, row), f"{row['kind']}:{row['name']}"
    row = store.get_composition(check_id(str(request.composition_id), "composition"))
    label = f"{TECHNIQUE_PAST.get(row['technique'], row['technique'])}:{row['melody']}"
    return composition_file(row, "midi"), label[:200]


def check_composer(model: str) -> None:
    """Raise unless ``model`` is a valid name of a model that can compose now."""
    check_model_name(model)
    names = [c.name for c in composers()]
    if model not in names:
        available = ", ".join(names) or "none yet"
        raise NotFoundError(f"no model {model!r} can compose; available: {available}")


#: What a result's label says about where a composition came from.
TECHNIQUE_PAST = {"compose": "composed", "enhance": "enhanced", "extend": "extended"}


class Outputs:
    """The files a pipeline writes into a new composition's folder (``wav``/``png`` None when not asked for)."""

    def __init__(self, folder: Path, request: MelodySource) -> None:
        self.midi = folder / "composition.mid"
        self.wav = folder / "composition.wav" if request.wav else None
        self.png = folder / "composition.png" if request.png else None


def produce(
    store: Store,
    request: MelodySource,
    slots: threading.Semaphore,
    *,
    technique: str,
    label: str,
    run: Callable[[Outputs], PipelineResult],
) -> Composition:
    """Run a pipeline into a new ``<data>/compositions/<id>/``, index the result; returns it with its roll.

    ``run(outputs)`` makes the music and writes ``outputs.midi`` (and ``wav``/``png`` when asked). ``slots``
    bounds how many pieces are generated at once, whatever the technique (the others wait their turn). On any
    error the folder is removed and nothing is indexed.
    """
    composition_id = new_id()
    folder = store.compositions_dir / composition_id
    folder.mkdir(parents=True)
    try:
        with slots, work_limits(REQUEST_MAX_PASSES):  # a request gets seconds of rewriting, not hours
            result = run(Outputs(folder, request))
        roll = multitrack_json(result.multitrack)
        (folder / "roll.json").write_text(json.dumps(roll.model_dump()), encoding="utf-8")
        row = store.record_composition(
            result, melody=label, source="studio", composition_id=composition_id, technique=technique
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return composition_json(row, roll=roll)


def create_composition(store: Store, request: ComposeRequest, slots: threading.Semaphore) -> Composition:
    """Compose, write MIDI (and WAV/PNG) under ``<data>/compositions/<id>/``, index it; returns it with its roll."""
    melody, label = resolve_melody(store, request)
    check_composer(request.model)
    from museforge.pipelines.compose import compose

    def run(out: Outputs) -> PipelineResult:
        return compose(
            melody,
            request.model,
            seed=request.seed,
            out_midi=out.midi,
            wav=out.wav,
            png=out.png,
            rewrite=request.rewrite,
            variation=request.variation,
            tracks=request.tracks,
            programs=request.programs,
            tempo=request.tempo,
            transpose=request.transpose,
            melody_track=request.melody_track,
            keep_tracks=request.keep_tracks,
            parallels=request.parallels,
        )

    return produce(store, request, slots, technique="compose", label=label, run=run)


def composition_json(row: dict[str, Any], roll: Roll | None = None) -> Composition:
    """A stored composition with the URLs of its files (those that exist), and its piano roll when given one."""
    base = f"/api/compositions/{row['id']}"
    files = {"midi": row["midi_path"], "wav": row["wav_path"], "png": row["png_path"]}
    urls = {kind: f"{base}/{kind}" for kind, path in files.items() if path}
    if row["midi_path"]:
        urls["musicxml"] = f"{base}/musicxml"  # the sheet music, made from the MIDI file when first asked for
    urls["roll"] = f"{base}/roll"
    keep = ("id", "melody", "technique", "model", "genre", "seed", "source", "created_at", "summary")
    return Composition(**{k: row[k] for k in keep}, urls=urls, roll=roll)


def composition_file(row: dict[str, Any], kind: str) -> Path:
    """The stored file of one kind (midi, wav, png) of a composition; NotFoundError when absent."""
    column = {"midi": "midi_path", "wav": "wav_path", "png": "png_path"}.get(kind)
    if column is None:
        raise NotFoundError(f"no {kind!r} file kind: choose midi, wav, png or musicxml")
    text = row[column]
    if not text:
        raise NotFoundError(f"composition {row['id']} has no {kind.upper()} file")
    path = Path(text)
    if not path.is_file():
        raise NotFoundError(f"the {kind.upper()} file of composition {row['id']} no longer exists")
    return path


def composition_roll(store: Store, row: dict[str, Any]) -> Roll:
    """The piano roll of a composition: saved by the studio, or read back from the MIDI file (also when the saved
    one cannot be read)."""
    saved = store.compositions_dir / check_id(row["id"], "composition") / "roll.json"
    with contextlib.suppress(OSError, ValueError):  # a pydantic ValidationError is a ValueError
        return Roll.model_validate(json.loads(saved.read_text(encoding="utf-8")))

    return multitrack_json(read_midi(composition_file(row, "midi"), resolution=RESOLUTION))
