"""The compose pipeline: a melody in, a multi-track composition out (MIDI, and optionally WAV and PNG).

One call does it all, for the CLI, the server and tests alike::

    result = compose("twinkle", "jazz", seed=1, out_midi=Path("twinkle_jazz.mid"), wav=..., png=...)

Steps: resolve the melody (a sample name, a MIDI file, or a :class:`Multitrack`) and pick its melody track; put it
on the model's grid; generate the accompaniment window by window; turn probabilities into notes; join the melody,
unchanged, with the accompaniment tracks (their General MIDI programs, drums on channel 10), exactly as long as
the melody; write the files. A model trained in the common key (``data.common_key`` in its card) gets each window
of the melody moved to C major / A minor and its accompaniment moved back (:mod:`museforge.generation`).

Any length: windows overlap by half. Each window's noise moves smoothly from the previous one's (spherical
interpolation between random anchors), and the overlapping halves are cross-faded in probability space before
notes are chosen, so the music carries across window edges instead of restarting every few bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from museforge.arrangement import (
    check_programs,
    check_seed,
    check_tempo,
    check_tracks,
    check_transpose,
    retempo,
    select_melody_track,
    transpose_melody,
)
from museforge.errors import MuseforgeError, NotFoundError
from museforge.generation import Generation
from museforge.models.base import Generator
from museforge.music.keys import onset_histograms
from museforge.music.melodies import MAX_BARS
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack, TrackNotes, fold_pitches, roll_to_notes
from museforge.music.tracks import melody_track_name
from museforge.outputs import PipelineResult, check_output_paths, tracks_and_files, write_outputs
from museforge.pretrained import list_pretrained, pretrained_card_path
from museforge.training.registry import compose_refusal, list_models, load_generator, model_dir

#: Most windows generated in one forward pass (bounds memory for long melodies).
WINDOW_BATCH = 64
#: The probability above which a generated step sounds.
DEFAULT_THRESHOLD = 0.5


# ----------------------------------------------------------------------------------------------- the melody
def load_music(melody: str | Path | Multitrack, resolution: int) -> Multitrack:
    """Every track of ``melody`` (a sample name, a MIDI file or a multitrack) on a grid of ``resolution``."""
    if isinstance(melody, Multitrack):
        if melody.resolution != resolution:
            raise MuseforgeError(f"melody is at {melody.resolution} steps per beat; the model needs {resolution}")
        return melody
    if isinstance(melody, Path) or str(melody).lower().endswith((".mid", ".midi")):
        return read_midi(Path(melody), resolution=resolution)
    from museforge.music.melodies import get_melody, melody_to_multitrack

    return melody_to_multitrack(get_melody(str(melody)), resolution=resolution)


def load_melody(melody: str | Path | Multitrack, resolution: int, melody_track: str | int | None = None) -> Multitrack:
    """The user's melody as a one-track multitrack on a grid of ``resolution`` steps per beat.

    ``melody`` is a built-in sample name (``museforge melodies list``), a path to a MIDI file, or a multitrack.
    From a file with several tracks, the melody is: the track whose name or program makes it the melody (role
    ``melody``); else, among pitched tracks, the one with the highest mean pitch that plays mostly one note at a
    time (the tune a listener would sing). Drum-only input is an error. ``melody_track`` (a track name or
    0-based index) chooses the melody instead (:func:`museforge.arrangement.select_melody_track`).
    """
    multitrack = load_music(melody, resolution)
    return multitrack.select([select_melody_track(multitrack, melody_track)])


def pick_melody_track(multitrack: Multitrack) -> int:
    """Index of the track a user would call the melody (see :func:`load_melody`)."""
    pitched = [i for i in range(multitrack.n_tracks) if not multitrack.is_drum[i] and multitrack.rolls[i].any()]
    if not pitched:
        raise MuseforgeError("the melody has no pitched notes (only drums or silence)")
    named = [i for i in pitched if multitrack.roles[i] == "melody"]
    if named:
        return named[0]
    if len(pitched) == 1:
        return pitched[0]

    def score(i: int) -> tuple[bool, float]:
        sounding = multitrack.rolls[i] > 0
        steps = sounding.any(axis=1)
        mostly_monophonic = float((sounding.sum(axis=1)[steps] <= 1).mean()) >= 0.8
        mean_pitch = float(np.nonzero(sounding)[1].mean())
        return mostly_monophonic, mean_pitch

    return max(pitched, key=score)


def melody_roll(melody: Multitrack, lowest_pitch: int, n_pitches: int) -> np.ndarray:
    """The model's view of a one-track melody: its top note per step, folded into the pitch window.

    Returns a bool array of shape (time, n_pitches).
    """
    sounding = melody.rolls[0] > 0
    top = np.zeros_like(sounding)
    steps = np.flatnonzero(sounding.any(axis=1))
    top[steps, 127 - np.argmax(sounding[steps, ::-1], axis=1)] = True
    return fold_pitches(top, lowest_pitch, n_pitches)


# ----------------------------------------------------------------------------------------------- generation
def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between noise vectors ``a`` and ``b`` (both (noise_dim,)) at ``t`` in [0, 1]."""
    cos = torch.clamp((a * b).sum() / (a.norm() * b.norm() + 1e-8), -1.0, 1.0)
    omega = torch.arccos(cos)
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def window_noise(
    generator: torch.nn.Module, n_windows: int, rng: torch.Generator, anchor_every: int = 4
) -> torch.Tensor:
    """Noise for consecutive windows that drifts smoothly: (n_windows, noise_dim).

    Random anchors every ``anchor_every`` windows, spherical interpolation between them.
    """
    n_anchors = n_windows // anchor_every + 2
    anchors = cast(Generator, generator).sample_noise(n_anchors, generator=rng)
    rows = []
    for w in range(n_windows):
        k, t = divmod(w, anchor_every)
        rows.append(_slerp(anchors[k], anchors[k + 1], t / anchor_every))
    return torch.stack(rows)


def window_starts(length: int, window: int) -> list[int]:
    """First step of each half-overlapping window that covers ``length`` steps with windows of ``window`` steps."""
    hop = max(1, window // 2)
    n_windows = max(1, math.ceil(max(length - window, 0) / hop) + 1)
    return [w * hop for w in range(n_windows)]


def generate_probabilities(
    generation: Generation,
    melody: np.ndarray,
    window: int,
    rng: torch.Generator,
    noise: torch.Tensor | None = None,
) -> np.ndarray:
    """Accompaniment probabilities for a melody of any length.

    Parameters
    ----------
    generation : the model and its card's key handling (:class:`museforge.generation.Generation`).
    melody : np.ndarray, shape (time, P), bool — the melody on the model's grid.
    window : T, the model's window length in steps (a whole number of bars).
    rng : seeded generator for the noise.
    noise : torch.Tensor, shape (W, noise_dim), optional — each window's noise (one row per
        :func:`window_starts` entry); default :func:`window_noise` drawn from ``rng``.

    Returns
    -------
    np.ndarray, shape (K, time, P), float32 probabilities in the melody's key. Windows overlap by half; overlaps
    are cross-faded with triangular weights.
    """
    length = melody.shape[0]
    starts = window_starts(length, window)
    hop = max(1, window // 2)
    padded = np.zeros((starts[-1] + window, melody.shape[1]), dtype=bool)
    padded[:length] = melody
    inputs = np.stack([padded[s : s + window] for s in starts])
    if noise is None:
        noise = window_noise(generation.generator, len(starts), rng)
    whole = onset_histograms(melody[None], generation.lowest_pitch)[0]  # the key of windows with few notes
    with torch.inference_mode():
        probs = generation.probabilities(inputs, noise, fallback=whole)  # (W, K, T, P)
    ramp = np.minimum(np.arange(window) + 0.5, window - np.arange(window) - 0.5)
    weights = np.clip(ramp / max(hop, 1), 1e-3, 1.0).astype(np.float32)  # triangular cross-fade
    total = np.zeros((probs.shape[1], padded.shape[0], probs.shape[3]), dtype=np.float32)
    norm = np.zeros(padded.shape[0], dtype=np.float32)
    for w, start in enumerate(starts):
        total[:, start : start + window] += probs[w] * weights[None, :, None]
        norm[start : start + window] += weights
    return (total / norm[None, :, None])[:, :length]


# ----------------------------------------------------------------------------------------------- the pipeline
def compose(
    melody: str | Path | Multitrack,
    model: str,
    *,
    out_midi: Path | None = None,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    sampling: str = "threshold",
    rewrite: int = 0,
    tracks: Sequence[str] | None = None,
    programs: Mapping[str, int] | None = None,
    tempo: float | None = None,
    transpose: int = 0,
    melody_track: str | int | None = None,
) -> PipelineResult:
    """Write accompaniment for ``melody`` with ``model`` (a genre's pretrained model or a trained model's name).

    The output has the melody track unchanged (moved by ``transpose`` semitones, -12..12) plus one track per
    accompaniment role in ``tracks`` (default: all the model's), exactly as long as the melody, at the melody's
    tempo or ``tempo`` (20..300 bpm; tempo changes keep their proportions). ``programs`` maps roles to General
    MIDI programs 0..127 (default the model card's; drums stay on channel 10, their program picks the kit).
    ``melody_track`` (a track name or 0-based index) picks the melody of a multi-track file. Probabilities become
    notes by ``sampling`` (see :func:`museforge.sampling.to_notes`). ``seed`` (0..2**32-1) makes the result
    reproducible; without it each call differs. ``rewrite`` > 0 revises the accompaniment with the Enhance model
    of the same genre and tracks in that many iterations (:func:`museforge.enhance.revise_piece`). Files are
    written only where a path is given (``out_midi`` None: ``summary["midi"]`` is None). Raises
    :class:`MuseforgeError` on bad input before anything is written.
    """
    check_output_paths(out_midi, wav, png)
    check_seed(seed)
    check_tempo(tempo)
    check_transpose(transpose)
    generator, card = load_model(model)
    chosen = check_tracks(card, tracks)
    chosen_programs = check_programs(card, programs)
    data = card["data"]
    reviser = _reviser(card, rewrite) if rewrite else None
    resolution = int(data["resolution"])
    lowest, n_pitches = int(data.get("lowest_pitch", 24)), int(data.get("n_pitches", 84))
    window = int(card["model_config"]["n_bars"]) * int(card["model_config"]["steps_per_bar"])

    music = load_music(melody, resolution)
    melody_index = select_melody_track(music, melody_track)
    source = transpose_melody(music.select([melody_index]), int(transpose))
    check_length(source)

    seed = int(seed) if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
    rng = torch.Generator().manual_seed(seed)
    generation = Generation.from_card(generator, card, threshold=threshold)
    probs = generate_probabilities(generation, melody_roll(source, lowest, n_pitches), window, rng)
    sounding = generation.decode(probs, mode=sampling, generator=rng)
    if reviser is not None:
        from museforge.enhance import revise_piece

        sounding = revise_piece(*reviser, melody_roll(source, lowest, n_pitches), sounding, rewrite, rng)

    specs = data["tracks"]  # the card lists the accompaniment; the melody is data["melody"]
    out_tracks = [melody_track_notes(source)]
    for k in chosen:
        notes = generated_notes(sounding[k], lowest, bool(specs[k]["is_drum"]))
        out_tracks.append(accompaniment_track(specs[k], notes, chosen_programs.get(specs[k]["role"])))
    result = source.with_tracks(out_tracks, tempos=retempo(list(source.tempos), tempo))
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"{card.get('genre', model)}: {source.names[0]}")
    summary = {
        "model": model,
        "genre": card.get("genre"),
        "architecture": card.get("architecture"),
        "seed": seed,
        "rewrite": rewrite,
        "bars": source.n_bars,
        "meter": "/".join(map(str, source.meter)),
        "meter_note": meter_note(source, int(data.get("beats_per_bar", 4))),
        "tempo": result.tempo,
        "transpose": int(transpose),
        "melody_track": {"index": melody_index, "name": music.names[melody_index], "of": music.n_tracks},
        **tracks_and_files(result, out_midi, wav_path, png_path),
    }
    return PipelineResult(result, Path(out_midi) if out_midi is not None else None, wav_path, png_path, summary)


def check_length(source: Multitrack) -> None:
    """Raise :class:`MuseforgeError` when a melody is longer than :data:`MAX_BARS` four-beat bars."""
    four_beat_bars = math.ceil(source.n_steps / (4 * source.resolution))
    if four_beat_bars > MAX_BARS:
        raise MuseforgeError(
            f"the melody is {four_beat_bars} four-beat bars long; the limit is {MAX_BARS} bars (4/4, 17 minutes at 120)"
        )


def melody_track_notes(source: Multitrack) -> TrackNotes:
    """The melody as the composition's first track; its name says it is the melody (so reading the file back
    finds it), e.g. ``"Piano (melody)"`` for a melody taken from a file's piano track."""
    name = melody_track_name(source.names[0], source.programs[0])
    return TrackNotes(name, "melody", source.programs[0], False, source.notes(0))


def generated_notes(sounding: np.ndarray, lowest: int, is_drum: bool) -> list[tuple[int, int, int, int]]:
    """Notes of one generated track: ``sounding`` (time, P) bool in the model's pitch window from ``lowest``."""
    roll = np.zeros((sounding.shape[0], 128), dtype=bool)
    roll[:, lowest : lowest + sounding.shape[1]] = sounding
    return [(p, s, e, 100 if is_drum else 80) for p, s, e, _ in roll_to_notes(roll)]


def accompaniment_track(
    spec: Mapping[str, Any], notes: list[tuple[int, int, int, int]], program: int | None = None
) -> TrackNotes:
    """One accompaniment track of the card's ``spec`` (name, role, program, drums), on ``program`` if given."""
    name = spec.get("name") or str(spec["role"]).title()
    chosen = int(spec["program"]) if program is None else int(program)
    return TrackNotes(name, spec["role"], chosen, bool(spec["is_drum"]), notes)


def _reviser(card: dict[str, Any], iterations: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The shipped Enhance model that can revise this model's accompaniment (same genre, same tracks)."""
    from museforge.enhance import MAX_ITERATIONS, load_technique_model
    from museforge.pretrained import technique_card_path

    if isinstance(iterations, bool) or not isinstance(iterations, int) or not 0 <= iterations <= MAX_ITERATIONS:
        raise MuseforgeError(f"rewrite must be a whole number of iterations from 0 to {MAX_ITERATIONS}")
    genre = str(card.get("genre"))
    if technique_card_path("enhance", genre) is None:
        raise MuseforgeError(f"no Enhance model ships for {genre!r} to rewrite with (only for bach)")
    network, enhance_card = load_technique_model(genre, "enhance", "arcnn")
    roles = [t["role"] for t in card["data"]["tracks"]]
    if [t["role"] for t in enhance_card["data"]["tracks"]] != roles or int(enhance_card["data"]["resolution"]) != int(
        card["data"]["resolution"]
    ):
        raise MuseforgeError(f"the {genre} Enhance model writes other tracks than this model ({', '.join(roles)})")
    return network, enhance_card


def meter_note(melody: Multitrack, beats_per_bar: int) -> str | None:
    """A sentence for the summary when the model's bars are not the melody's (None when they are).

    The models learnt 4-beat bars: under a 3/4 or 6/8 melody the accompaniment follows the melody's beats (the
    grid is the same) and its harmony changes with the melody's notes, but its accents repeat every 4 beats, not at
    the melody's bar lines.
    """
    numerator, denominator = melody.meter
    if (numerator, denominator) == (beats_per_bar, 4):
        return None
    return (
        f"the model plays {beats_per_bar}-beat bars: under this {numerator}/{denominator} melody its beats line up "
        f"with the melody's, but its bar accents fall every {beats_per_bar} beats, not on the melody's bar lines"
    )


def load_model(model: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The generator and card of ``model``: a user model of that name, else the shipped model of that genre.

    A user model composes when :func:`museforge.training.registry.compose_refusal` allows it (it has a checkpoint
    and its run ended without failing); a genre name is matched case-insensitively.
    """
    user = model_dir(model)  # validates the name: it never becomes a path unchecked
    if (user / "model.json").is_file():
        from museforge.training.registry import read_card

        card = read_card(user)
        refuse_other_techniques(model, card)
        refusal = compose_refusal(model, user, card)
        if refusal is not None:
            raise MuseforgeError(refusal)
        return load_generator(user)
    card_path = pretrained_card_path(model) or pretrained_card_path(model.lower())
    if card_path is None:
        raise NotFoundError(f"no model named {model!r}: see `museforge models list` (genres: {_genre_names()})")
    return load_generator(card_path)


#: What each architecture that is not a GAN is for, for errors that send the user the right way.
TECHNIQUE_COMMANDS: dict[str, str] = {"arcnn": "museforge enhance", "transformer": "museforge extend"}


def refuse_other_techniques(name: str, card: dict[str, Any]) -> None:
    """Raise :class:`MuseforgeError` unless ``card`` is a GAN's (the models that compose and that evaluate measures)."""
    architecture = card.get("architecture")
    if architecture in TECHNIQUE_COMMANDS:
        raise MuseforgeError(
            f"model {name!r} is an {architecture} model, not a GAN: use it with `{TECHNIQUE_COMMANDS[architecture]} "
            f"--model {name}`"
        )


def _genre_names() -> str:
    return ", ".join(card["genre"] for card in list_pretrained()) or "none shipped"


def list_composers() -> list[dict[str, Any]]:
    """Models that can compose: the shipped genre models and every user GAN whose run ended, completed or stopped,
    with a checkpoint (:func:`museforge.training.registry.compose_refusal`)."""
    models = [{"name": c["genre"], "kind": "pretrained", **c} for c in list_pretrained()]
    models += [
        {"kind": "user", **m}
        for m in list_models()
        if m.get("can_compose") and m.get("architecture") not in TECHNIQUE_COMMANDS
    ]
    return models


__all__ = [
    "MAX_BARS",
    "PipelineResult",
    "check_output_paths",
    "compose",
    "generate_probabilities",
    "list_composers",
    "load_melody",
    "load_music",
    "pick_melody_track",
    "write_outputs",
]
