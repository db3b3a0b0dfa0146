"""From generator probabilities to notes: the one explicit step between a GAN's output and a piano roll.

A generator outputs logits; ``torch.sigmoid(logits)`` are note probabilities in ``[0, 1]`` (what the critic
sees during training). A piano roll needs a yes/no per cell. Two ways, both used by MuseGAN:

- ``"threshold"``: a cell sounds where its probability is at least ``threshold`` (deterministic; what the
  training logs and metrics use, and the default for composing).
- ``"bernoulli"``: each cell sounds with its own probability, drawn independently (varied output; pass a
  seeded :class:`torch.Generator` for a repeatable draw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.errors import MuseforgeError

#: The ways :func:`to_notes` knows.
MODES: tuple[str, ...] = ("threshold", "bernoulli")


def to_notes(
    probs: Tensor | np.ndarray,
    mode: str = "threshold",
    threshold: float = 0.5,
    generator: torch.Generator | None = None,
    monophonic: Sequence[bool] | None = None,
) -> Tensor | np.ndarray:
    """Turn note probabilities into a boolean piano roll.

    Parameters
    ----------
    probs : Tensor or np.ndarray
        Probabilities in ``[0, 1]`` of any shape, e.g. ``(B, K, T, P)`` from ``sigmoid(generator(...))``.
    mode : {"threshold", "bernoulli"}
        ``"threshold"``: ``probs >= threshold``. ``"bernoulli"``: each cell is an independent draw that is
        True with probability ``probs``.
    threshold : float
        Cut-off for ``"threshold"``, in ``(0, 1]``; ignored for ``"bernoulli"``.
    generator : torch.Generator, optional
        Source of randomness for ``"bernoulli"`` (on the device of ``probs``, or the CPU for NumPy input).
    monophonic : sequence of bool, optional
        One flag per track (axis ``-3`` of ``probs``, e.g. ``K`` of ``(B, K, T, P)``): a flagged track plays at
        most one pitch per step, its most probable one, and only where that pitch passes ``mode``'s test. Use
        it for tracks that are single lines in the training data (chorale voices, bass lines): see
        :func:`monophonic_tracks`.

    Returns
    -------
    Tensor or np.ndarray
        Bool array of the same shape, of the same kind (tensor in, tensor out; array in, array out).

    Raises
    ------
    MuseforgeError
        On an unknown mode or a threshold outside ``(0, 1]``.
    """
    if mode not in MODES:
        raise MuseforgeError(f"unknown sampling mode {mode!r} (choose from {', '.join(MODES)})")
    if mode == "threshold" and not 0.0 < threshold <= 1.0:
        raise MuseforgeError(f"threshold must be in (0, 1], got {threshold}")
    is_numpy = isinstance(probs, np.ndarray)
    p = torch.from_numpy(np.asarray(probs, dtype=np.float32)) if is_numpy else probs
    if mode == "threshold":
        notes = p >= threshold
    else:
        p = p.float().clamp(0.0, 1.0)
        draw_on = generator.device if generator is not None else p.device
        uniform = torch.rand(p.shape, generator=generator, device=draw_on).to(p.device)
        notes = uniform < p
    if monophonic is not None and any(monophonic):
        flags = torch.tensor(list(monophonic), dtype=torch.bool, device=p.device)
        if flags.numel() != p.shape[-3]:
            raise MuseforgeError(f"monophonic has {flags.numel()} flags for {p.shape[-3]} tracks")
        top = torch.zeros_like(notes)
        top.scatter_(-1, p.argmax(dim=-1, keepdim=True), True)
        single = notes & top
        notes = torch.where(flags[:, None, None], single, notes)
    return notes.numpy() if is_numpy else notes


def monophonic_tracks(card: Mapping[str, Any], max_polyphony: float = 0.02) -> list[bool]:
    """Per accompaniment track of a model card: whether the training data plays it as a single line.

    A pitched track whose training windows have a polyphonic rate (steps with two or more pitches among sounding
    steps) of at most ``max_polyphony`` is monophonic; drums never are.
    """
    facts = card.get("train_data_metrics") or {}
    flags = []
    for track in card["data"]["tracks"]:
        rate = (facts.get(track["role"]) or {}).get("polyphonic_rate")
        flags.append(not track["is_drum"] and rate is not None and rate <= max_polyphony)
    return flags
