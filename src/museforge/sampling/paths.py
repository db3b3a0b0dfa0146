"""The most likely notes through a track's evidence, found exactly by the Viterbi algorithm: every cell of a chordal
track on or off (:func:`viterbi_cells`), a single line over ``rest + pitches`` (:func:`viterbi_line`), the latter
optionally keeping the chorale rule against consecutive fifths and octaves with lines already written (the melody,
the voices decoded before).

Each step a path stays, or it changes at a cost: ``hold`` (log-odds), plus the step's own cost (``still``: none
off the track's change grid, or what a change on that position of the beat costs, :func:`step_costs`). With
``fixed`` lines a single line may not take a change that moves in parallel fifths or octaves with one of them, as
:func:`museforge.metrics.voices.parallel_fifths_octaves` counts them (both lines sound at both steps and both
change pitch, standing a fifth, ``|a - b| % 12 == 7``, or an octave/unison, ``0``, apart at both): the best path
among those that keep the rule, which is the model's own likeliest where it keeps the rule already. Rests, held
notes and changes against a holding line are never forbidden. :func:`keep_under` keeps a line under the tune
(the chorales' alto crosses above their soprano in 0.2 % of the steps, their tenor and bass never).

Units: evidence ``(..., T, P)`` log-odds per pitch column; a line's pitch is a column, -1 for a rest.
"""

from __future__ import annotations

import numpy as np

from museforge.metrics.voices import voices_from_rolls

#: Intervals (semitones modulo the octave) two moving lines may not keep: the octave or unison, and the fifth.
PERFECT = (0, 7)
#: The log-odds of a pitch that would sound above the tune (:func:`keep_under`): never worth it.
CROSSING = np.float32(-1e4)


def roll_line(roll: np.ndarray) -> np.ndarray:
    """``(..., T, P)`` bool -> ``(..., T)`` int: the highest sounding pitch column per step, -1 where none (the
    chorale checks' reading of a voice, :func:`museforge.metrics.voices.voices_from_rolls`, at any batch shape)."""
    roll = np.asarray(roll, dtype=bool)
    return voices_from_rolls(roll.reshape(-1, *roll.shape[-2:]), lowest_pitch=0).reshape(roll.shape[:-1])


def step_costs(still: np.ndarray | None, steps: int) -> np.ndarray:
    """``(T,)`` float32: what a change (a note starting, stopping or moving) costs at each step on top of the
    hold. ``still`` is None (nothing), ``(T,)`` bool (True: no change there, an infinite cost) or ``(T,)`` float
    (the costs themselves, ``inf`` for none)."""
    if still is None:
        return np.zeros(steps, dtype=np.float32)
    values = np.asarray(still)
    if values.dtype == bool:
        return np.where(values, np.float32(np.inf), np.float32(0.0))
    return values.astype(np.float32)


def viterbi_cells(evidence: np.ndarray, hold: float, still: np.ndarray | None = None) -> np.ndarray:
    """Best on/off path of every cell of ``(..., T, P)`` log-odds; each switch costs ``hold`` plus the step's
    ``still`` cost (:func:`step_costs`)."""
    steps = evidence.shape[-2]
    extra = step_costs(still, steps)
    off = np.zeros(evidence.shape[:-2] + evidence.shape[-1:], dtype=np.float32)
    on = np.full_like(off, -np.inf)
    from_on_off = np.zeros(evidence.shape, dtype=bool)  # came to "off" from "on"
    from_off_on = np.zeros(evidence.shape, dtype=bool)  # came to "on" from "off"
    for t in range(steps):
        cost = np.float32(hold + extra[t])
        stay_off, switch_off = off, on - cost
        stay_on, switch_on = on, off - cost
        from_on_off[..., t, :] = switch_off > stay_off
        from_off_on[..., t, :] = switch_on > stay_on
        off = np.maximum(stay_off, switch_off)
        on = np.maximum(stay_on, switch_on) + evidence[..., t, :]
    state = on > off
    out = np.zeros(evidence.shape, dtype=bool)
    for t in range(steps - 1, -1, -1):
        out[..., t, :] = state
        state = np.where(state, ~from_off_on[..., t, :], from_on_off[..., t, :])
    return out


def lowest_line(lines: np.ndarray) -> np.ndarray:
    """``(..., F, T)`` int lines (pitch columns, -1 rests) -> ``(..., T)``: the lowest sounding pitch per step, -1
    where none sounds."""
    lines = np.asarray(lines, dtype=np.int64)
    if lines.shape[-2] == 0:
        return np.full(lines.shape[:-2] + lines.shape[-1:], -1, dtype=np.int64)
    sounding = np.where(lines >= 0, lines, np.iinfo(np.int64).max).min(axis=-2)
    return np.where(sounding == np.iinfo(np.int64).max, -1, sounding)


def keep_under(evidence: np.ndarray, high: np.ndarray | None) -> np.ndarray:
    """``(..., T, P)`` log-odds in which a line may not sound above ``high`` (``(..., T)`` pitch columns, -1: no
    bound at that step; None: none at all): those pitches get :data:`CROSSING`, so the line takes another pitch or
    rests. A unison is allowed."""
    out = np.array(evidence, dtype=np.float32, copy=True)
    if high is not None:
        bound = np.asarray(high)[..., None]
        out[(bound >= 0) & (np.arange(out.shape[-1]) > bound)] = CROSSING
    return out


def forbidden_changes(before: np.ndarray, after: np.ndarray, n_pitches: int) -> np.ndarray:
    """The changes ``a -> b`` of a line that would move in parallel with a fixed line at one step.

    Parameters
    ----------
    before, after : np.ndarray
        ``(..., F)`` int: the fixed lines' pitch columns at the step before and at the step (-1: rest).
    n_pitches : int
        Pitch columns of the line.

    Returns
    -------
    np.ndarray
        ``(..., P, P)`` bool, ``[..., a, b]`` True where the line moving from pitch ``a`` to pitch ``b`` (``a != b``)
        would stand a perfect interval from a moving fixed line at both steps, the same interval.
    """
    columns = np.arange(n_pitches)
    moving = (before >= 0) & (after >= 0) & (before != after)  # (..., F)
    interval_before = np.abs(columns - before[..., None]) % 12  # (..., F, P): a's interval with the fixed line
    interval_after = np.abs(columns - after[..., None]) % 12  # (..., F, P): b's
    perfect = np.isin(interval_before, PERFECT) & moving[..., None]
    same = interval_before[..., :, None] == interval_after[..., None, :]  # (..., F, P, P)
    out = (same & perfect[..., :, None]).any(axis=-3)
    out &= ~np.eye(n_pitches, dtype=bool)
    return out


def viterbi_line(
    evidence: np.ndarray, hold: float, still: np.ndarray | None = None, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Best single line of ``(..., T, P)`` log-odds: at most one pitch per step, each change costs ``hold`` plus the
    step's ``still`` cost (:func:`step_costs`); with ``fixed`` ``(..., F, T)`` int lines (pitch columns, -1
    rests), no change moves in parallel fifths or octaves with one of them (module docstring). Returns bool of the
    evidence's shape."""
    if evidence.ndim == 2:
        lone = None if fixed is None else np.asarray(fixed)[None]
        return viterbi_line(evidence[None], hold, still, lone)[0]
    *lead, steps, pitches = evidence.shape
    score = np.zeros((*lead, pitches + 1), dtype=np.float32)  # state 0 = rest
    score[..., 1:] = -np.inf
    back = np.zeros((steps, *lead, pitches + 1), dtype=np.int16)
    states = np.arange(pitches + 1, dtype=np.int16)
    extra = step_costs(still, steps)
    barred = np.isinf(extra)
    lines = None if fixed is None or np.shape(fixed)[-2] == 0 else np.asarray(fixed, dtype=np.int64)
    for t in range(steps):
        cost = np.float32(hold + extra[t])
        best = np.argmax(score, axis=-1)
        switch = np.take_along_axis(score, best[..., None], axis=-1) - cost  # (..., 1): from the best state
        source = np.broadcast_to(best[..., None], score.shape)
        if lines is not None and t > 0 and not barred[t]:
            forbid = forbidden_changes(lines[..., t - 1], lines[..., t], pitches)  # (..., P, P)
            if forbid.any():
                allowed = np.where(forbid, -np.inf, score[..., 1:, None])  # (..., a, b): from pitch a
                rested = score[..., :1, None]  # from the rest: never forbidden
                options = np.concatenate([np.broadcast_to(rested, (*lead, 1, pitches)), allowed], axis=-2)
                pick = np.argmax(options, axis=-2)  # (..., P): the best allowed state before each pitch
                source = np.concatenate([best[..., None], pick], axis=-1)
                switch = np.concatenate([switch, options.max(axis=-2) - cost], axis=-1)
        stay = score > switch
        back[t] = np.where(stay, states, source.astype(np.int16))
        score = np.maximum(score, switch)
        score[..., 1:] += evidence[..., t, :]
    state = np.argmax(score, axis=-1)
    out = np.zeros(evidence.shape, dtype=bool)
    for t in range(steps - 1, -1, -1):
        sounding = state > 0
        if sounding.any():
            idx = np.nonzero(sounding)
            out[(*idx, t, state[idx] - 1)] = True
        state = np.take_along_axis(back[t], state[..., None], axis=-1)[..., 0]
    return out


__all__ = [
    "CROSSING",
    "PERFECT",
    "forbidden_changes",
    "keep_under",
    "lowest_line",
    "roll_line",
    "step_costs",
    "viterbi_cells",
    "viterbi_line",
]
