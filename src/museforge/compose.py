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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from museforge.errors import MuseforgeError, NotFoundError
from museforge.generation import Generation
from museforge.music.keys import onset_histograms
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes, fold_pitches, roll_to_notes
from museforge.pretrained import list_pretrained, pretrained_card_path
from museforge.training.registry import list_models, load_generator, model_dir

#: The longest melody composed in one call, in 4-beat bars (about 17 minutes at 120 bpm).
MAX_BARS = 512
#: Most windows generated in one forward pass (bounds memory for long melodies).
WINDOW_BATCH = 64
#: The probability above which a generated step sounds.
DEFAULT_THRESHOLD = 0.5


@dataclass
class ComposeResult:
    """What :func:`compose` made: the composition and the files written."""

    multitrack: Multitrack
    midi_path: Path
    wav_path: Path | None = None
    png_path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


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


def load_melody(melody: str | Path | Multitrack, resolution: int) -> Multitrack:
    """The user's melody as a one-track multitrack on a grid of ``resolution`` steps per beat.

    ``melody`` is a built-in sample name (``museforge melodies list``), a path to a MIDI file, or a multitrack.
    From a file with several tracks, the melody is: the track whose name or program makes it the melody (role
    ``melody``); else, among pitched tracks, the one with the highest mean pitch that plays mostly one note at a
    time (the tune a listener would sing). Drum-only input is an error.
    """
    multitrack = load_music(melody, resolution)
    index = pick_melody_track(multitrack)
    return multitrack.select([index])


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
    anchors = generator.sample_noise(n_anchors, generator=rng)
    rows = []
    for w in range(n_windows):
        k, t = divmod(w, anchor_every)
        rows.append(_slerp(anchors[k], anchors[k + 1], t / anchor_every))
    return torch.stack(rows)


def generate_probabilities(generation: Generation, melody: np.ndarray, window: int, rng: torch.Generator) -> np.ndarray:
    """Accompaniment probabilities for a melody of any length.

    Parameters
    ----------
    generation : the model and its card's key handling (:class:`museforge.generation.Generation`).
    melody : np.ndarray, shape (time, P), bool — the melody on the model's grid.
    window : T, the model's window length in steps (a whole number of bars).
    rng : seeded generator for the noise.

    Returns
    -------
    np.ndarray, shape (K, time, P), float32 probabilities in the melody's key. Windows overlap by half; overlaps
    are cross-faded with triangular weights.
    """
    length = melody.shape[0]
    hop = max(1, window // 2)
    n_windows = max(1, math.ceil(max(length - window, 0) / hop) + 1)
    padded = np.zeros(((n_windows - 1) * hop + window, melody.shape[1]), dtype=bool)
    padded[:length] = melody
    starts = [w * hop for w in range(n_windows)]
    inputs = np.stack([padded[s : s + window] for s in starts])
    noise = window_noise(generation.generator, n_windows, rng)
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
    out_midi: Path,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    sampling: str = "threshold",
    rewrite: int = 0,
) -> ComposeResult:
    """Write accompaniment for ``melody`` with ``model`` (a genre's pretrained model or a trained model's name).

    The output has the melody track unchanged plus one track per accompaniment role of the model, exactly as long
    as the melody, at the melody's tempo. Probabilities become notes by ``sampling`` (see
    :func:`museforge.sampling.to_notes`). ``seed`` makes the result reproducible; without it each call differs.
    ``rewrite`` > 0 revises the accompaniment with the Enhance model of the same genre and tracks in that many
    iterations (:func:`museforge.enhance.revise_piece`: on the Bach chorales it lifts the GAN's key fit and
    consonance to the real music's, docs/results.md). Raises :class:`MuseforgeError` on bad input before anything
    is written.
    """
    for path in (out_midi, wav, png):
        if path is not None and not Path(path).parent.is_dir():
            raise MuseforgeError(f"cannot write {path}: folder {Path(path).parent} does not exist")
    generator, card = load_model(model)
    data = card["data"]
    reviser = _reviser(card, rewrite) if rewrite else None
    resolution = int(data["resolution"])
    lowest, n_pitches = int(data.get("lowest_pitch", 24)), int(data.get("n_pitches", 84))
    window = int(card["model_config"]["n_bars"]) * int(card["model_config"]["steps_per_bar"])

    source = load_melody(melody, resolution)
    beats_per_bar = int(data.get("beats_per_bar", 4))
    four_beat_bars = math.ceil(source.n_steps / (4 * resolution))
    if four_beat_bars > MAX_BARS:
        raise MuseforgeError(
            f"the melody is {four_beat_bars} four-beat bars long; the limit is {MAX_BARS} bars (4/4, 17 minutes at 120)"
        )

    seed = int(seed) if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
    rng = torch.Generator().manual_seed(seed)
    generation = Generation.from_card(generator, card, threshold=threshold)
    probs = generate_probabilities(generation, melody_roll(source, lowest, n_pitches), window, rng)
    sounding = generation.decode(probs, mode=sampling, generator=rng)
    if reviser is not None:
        from museforge.enhance import revise_piece

        sounding = revise_piece(*reviser, melody_roll(source, lowest, n_pitches), sounding, rewrite, rng)

    accompaniment = data["tracks"]  # the card lists the accompaniment; the melody is data["melody"]
    tracks = [TrackNotes(source.names[0], "melody", source.programs[0], False, source.notes(0))]
    for k, spec in enumerate(accompaniment):
        roll = np.zeros((sounding.shape[1], 128), dtype=bool)
        roll[:, lowest : lowest + n_pitches] = sounding[k]
        notes = [(p, s, e, 80 if not spec["is_drum"] else 100) for p, s, e, _ in roll_to_notes(roll)]
        name = spec.get("name") or spec["role"].title()
        tracks.append(TrackNotes(name, spec["role"], spec["program"], spec["is_drum"], notes))
    result = Multitrack.from_notes(
        tracks,
        resolution,
        n_steps=source.n_steps,
        tempos=list(source.tempos),
        time_signatures=list(source.time_signatures),
    )
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"{card.get('genre', model)}: {source.names[0]}")
    summary = {
        "model": model,
        "genre": card.get("genre"),
        "architecture": card.get("architecture"),
        "seed": seed,
        "rewrite": rewrite,
        "bars": source.n_bars,
        "meter": "/".join(map(str, source.meter)),
        "meter_note": meter_note(source, beats_per_bar),
        "tempo": result.tempo,
        **tracks_and_files(result, out_midi, wav_path, png_path),
    }
    return ComposeResult(result, Path(out_midi), wav_path, png_path, summary)


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


def tracks_and_files(
    result: Multitrack, out_midi: Path, wav_path: Path | None, png_path: Path | None
) -> dict[str, Any]:
    """The end of every pipeline's summary: each track (name, role, program, drums, notes) and the files written."""
    return {
        "tracks": [
            {
                "name": result.names[i],
                "role": result.roles[i],
                "program": result.programs[i],
                "is_drum": result.is_drum[i],
                "notes": len(result.notes(i)),
            }
            for i in range(result.n_tracks)
        ],
        "midi": str(out_midi),
        "wav": str(wav_path) if wav_path else None,
        "png": str(png_path) if png_path else None,
    }


def write_outputs(
    result: Multitrack, out_midi: Path, wav: Path | None, png: Path | None, title: str
) -> tuple[Path | None, Path | None]:
    """Write a pipeline's music as MIDI, and as WAV and a piano-roll PNG when asked; returns the last two paths."""
    write_midi(result, out_midi)
    wav_path = png_path = None
    if wav is not None:
        from museforge.audio import render_wav

        render_wav(result, wav)
        wav_path = Path(wav)
    if png is not None:
        from museforge.plots import save_pianoroll_png

        save_pianoroll_png(result, png, melody_track=0, title=title)
        png_path = Path(png)
    return wav_path, png_path


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
    """The generator and card of ``model``: a user model of that name, else the shipped model of that genre."""
    user = model_dir(model)  # validates the name: it never becomes a path unchecked
    if (user / "model.json").is_file():
        generator, card = load_generator(user)
        refuse_other_techniques(model, card)
        if card.get("status") != "completed":
            raise MuseforgeError(f"model {model!r} is {card.get('status')}: only a completed model can compose")
        return generator, card
    card_path = pretrained_card_path(model)
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
    """Models that can compose: the shipped genre models and every completed user model."""
    models = [{"name": c["genre"], "kind": "pretrained", **c} for c in list_pretrained()]
    models += [
        {"kind": "user", **m}
        for m in list_models()
        if m.get("status") == "completed" and m.get("architecture") not in TECHNIQUE_COMMANDS
    ]
    return models


__all__ = [
    "MAX_BARS",
    "ComposeResult",
    "compose",
    "generate_probabilities",
    "list_composers",
    "load_melody",
    "load_music",
    "pick_melody_track",
    "write_outputs",
]
