"""Which instruments fit a model's tracks: per accompaniment track, its default General MIDI program and the
programs whose range fits what the model really plays, measured by composing the built-in melodies (so it holds for
trained models as well as shipped ones). The studio's instrument menus come from here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from museforge.model_files import MODEL_JSON, model_dir
from museforge.models.loading import find_model
from museforge.music.instruments import DRUM_KITS, NOT_SUGGESTED, playable_range, playable_share
from museforge.music.melodies import melody_names
from museforge.music.sections import performed_instrument
from museforge.pipelines.compose import compose
from museforge.pretrained import pretrained_card_path

#: Share of a track's generated notes an instrument must be able to play to be suggested for it.
FIT_SHARE = 0.95


def played_pitches(model: str, seeds: int = 2) -> list[np.ndarray]:
    """MIDI pitches of every note ``model`` writes per accompaniment track over the built-in melodies.

    ``seeds`` compositions of each built-in melody; a list with one int array per track (model order).
    """
    collected: list[list[int]] | None = None
    for name in melody_names():
        for seed in range(seeds):
            result = compose(name, model, seed=seed)
            if collected is None:
                collected = [[] for _ in range(result.multitrack.n_tracks - 1)]
            for k in range(1, result.multitrack.n_tracks):
                collected[k - 1] += [note[0] for note in result.multitrack.notes(k)]
    return [np.asarray(p, dtype=np.int64) for p in collected or []]


@functools.lru_cache(maxsize=32)
def _measured(model: str, stamp: float) -> tuple[tuple[int, ...], ...]:
    del stamp  # part of the cache key only: a retrained model is measured again
    return tuple(tuple(int(p) for p in pitches) for pitches in played_pitches(model))


def _card_stamp(model: str) -> float:
    for path in (model_dir(model) / MODEL_JSON, pretrained_card_path(model)):
        if path is not None and Path(path).is_file():
            return Path(path).stat().st_mtime
    return 0.0


def fit_share(pitches: np.ndarray, program: int, role: str = "") -> float:
    """Share of ``pitches`` (MIDI numbers) that ``program`` can play (1.0 when there are none)."""
    return playable_share(np.bincount(np.asarray(pitches, dtype=np.int64), minlength=128), 0, program, role)


def _suggest(pitches: np.ndarray, card_program: int, role: str) -> list[int]:
    """The programs to offer a pitched track that plays ``pitches``, the card's first: the card's instrument
    family (the basses for a bass, whatever their fit), then every other program that can play at least
    :data:`FIT_SHARE` of the notes; each group the best fitting and narrowest first."""
    shares = {p: fit_share(pitches, p, role) for p in range(128) if p not in NOT_SUGGESTED}

    def order(p: int) -> tuple[float, int, int]:
        span = playable_range(p, role) or (0, 127)
        return -round(shares[p], 2), span[1] - span[0], p

    family = sorted((p for p in shares if p // 8 == card_program // 8 and p != card_program), key=order)
    others = sorted((p for p, share in shares.items() if share >= FIT_SHARE and p // 8 != card_program // 8), key=order)
    return [card_program, *family, *others]


def instrument_choices(model: str) -> list[dict[str, Any]]:
    """Per accompaniment track of ``model`` (a genre or a trained model's name), the instruments it may play.

    The notes the model writes for each track are measured by composing every built-in melody with two seeds
    (about a second, cached per model). Each entry: ``role``, ``is_drum``, ``played_range`` ([lowest, highest]
    MIDI pitch written; None for drums or a silent track), ``default_program`` (the card's program: what
    ``museforge compose`` plays the track on, however well it fits a half-trained model's notes), ``default_name``,
    ``default_fit`` (share of the notes the default can play) and ``suggested``: ``[{"program", "name", "fit"}]``
    as :func:`_suggest` orders them, the default first (drum kits for drums).
    """
    card = find_model(model).card
    measured = _measured(model, _card_stamp(model))
    out = []
    for spec, played in zip(card.tracks, measured, strict=True):
        program, is_drum, role = int(spec["program"]), bool(spec["is_drum"]), str(spec["role"])
        pitches = np.asarray(played, dtype=np.int64)
        default = program
        kits = [program, *(p for p in DRUM_KITS if p != program)]
        suggested = kits if is_drum else _suggest(pitches, program, role)
        out.append(
            {
                "role": role,
                "is_drum": is_drum,
                "played_range": [int(pitches.min()), int(pitches.max())] if len(pitches) and not is_drum else None,
                "default_program": default,
                "default_name": performed_instrument(default, role, is_drum),
                "default_fit": round(fit_share(pitches, default, role), 3) if not is_drum else 1.0,
                "suggested": [
                    {
                        "program": p,
                        "name": performed_instrument(p, role, is_drum),
                        "fit": 1.0 if is_drum else round(fit_share(pitches, p, role), 3),
                    }
                    for p in suggested
                ],
            }
        )
    return out


__all__ = ["fit_share", "instrument_choices", "played_pitches"]
