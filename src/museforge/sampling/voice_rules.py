"""A part-writing rule the Enhance sampler can keep: no consecutive fifths or octaves between single lines.

DeepBach lets its user constrain the Gibbs sampler; this is the one constraint the chorale checks measure
(:func:`museforge.metrics.voices.parallel_fifths_octaves`, whose definition it follows exactly): two voices that
both move from one step to the next and stand a fifth (interval 7, modulo the octave) or an octave/unison (0) apart
at both steps. Given the notes around a step, :func:`parallel_candidates` says which pitches of a line would make
such a pair with another line, before or after the step; the sampler gives those pitches no chance
(:func:`museforge.sampling.gibbs.rewrite`, ``forbid_parallels``). The model is not taught the rule: the sampler
chooses among what the model proposes, leaving out what breaks it.

Units: rolls are ``(n, V, T, P)`` (windows, tracks, steps, pitch columns); a line's pitch at a step is its highest
sounding column, -1 for a rest (as :func:`museforge.metrics.voices.voices_from_rolls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.sampling import PARALLELS
from museforge.sampling.paths import PERFECT


def line_pitches(rolls: Tensor) -> Tensor:
    """``(n, V, T)`` long: each track's highest sounding pitch column per step, -1 where it rests."""
    sounding = rolls > 0
    columns = torch.arange(rolls.shape[-1], device=rolls.device)
    top = torch.where(sounding, columns, torch.full_like(columns, -1)).amax(dim=-1)
    return top


def parallel_candidates(rolls: Tensor, lines: Sequence[bool]) -> Tensor:
    """The pitches that would put a line in consecutive fifths or octaves with another line.

    Parameters
    ----------
    rolls : Tensor
        ``(n, V, T, P)``: the music as it stands (nonzero = sounding).
    lines : sequence of bool
        Per track, whether it is a single line the rule covers (the melody and the chorale voices; chords and
        drums are not lines).

    Returns
    -------
    Tensor
        ``(n, V, T, P)`` bool: ``True`` at pitch ``p`` of line ``v`` at step ``t`` when sounding ``p`` there, with
        every other cell as it stands, would make ``v`` and another line move in parallel fifths or octaves
        from ``t - 1`` to ``t`` or from ``t`` to ``t + 1``. Pitches that repeat the line's neighbouring note
        (oblique motion) and rests are never forbidden; tracks that are not lines have no forbidden pitch.
    """
    _, n_tracks, steps, n_pitches = rolls.shape
    pitch = line_pitches(rolls)
    candidate = torch.arange(n_pitches, device=rolls.device).view(1, 1, -1)
    forbidden = torch.zeros(rolls.shape, dtype=torch.bool, device=rolls.device)
    if steps < 2:
        return forbidden
    covered = [v for v in range(n_tracks) if lines[v]]
    for v in covered:
        for u in covered:
            if u == v:
                continue
            # (own note at the step beside, other's note at that step, other's note at this step): the step
            # beside is t - 1 for the motion into t, t + 1 for the motion out of it
            for beside, there, here, into in (
                (pitch[:, v, :-1], pitch[:, u, :-1], pitch[:, u, 1:], True),
                (pitch[:, v, 1:], pitch[:, u, 1:], pitch[:, u, :-1], False),
            ):
                interval = (beside - there).abs() % 12
                perfect = (interval == PERFECT[0]) | (interval == PERFECT[1])
                moving = (beside >= 0) & (there >= 0) & (here >= 0) & (here != there) & perfect  # (n, T - 1)
                again = ((candidate - here.unsqueeze(-1)).abs() % 12) == interval.unsqueeze(-1)
                hit = moving.unsqueeze(-1) & again & (candidate != beside.unsqueeze(-1))
                if into:
                    forbidden[:, v, 1:] |= hit
                else:
                    forbidden[:, v, :-1] |= hit
    return forbidden


def forbids_parallels(card: Mapping[str, Any], parallels: str | None) -> bool:
    """Whether a model's music keeps the part-writing rule: a GAN's decoding (:mod:`museforge.sampling.paths`), a
    rewrite (:func:`museforge.sampling.gibbs.rewrite`'s ``forbid_parallels``). ``parallels`` is ``"forbid"`` or
    ``"allow"``, or None for the model's default: forbidden in chorales (a model of the bach genre, whose voices are
    four-part writing), allowed elsewhere (a pop bass may double the tune in octaves)."""
    if parallels is None:
        return card.get("genre") == "bach"
    if parallels not in PARALLELS:
        raise MuseforgeError(f"parallels must be one of {', '.join(PARALLELS)}, got {parallels!r}")
    return parallels == "forbid"


__all__ = ["forbids_parallels", "line_pitches", "parallel_candidates"]
