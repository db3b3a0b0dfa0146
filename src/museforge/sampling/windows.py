"""A melody of any length through a model of a fixed window: half-overlapping windows, noise that drifts from
window to window, and a triangular cross-fade of the overlapping halves in probability space, so the music carries
across window edges instead of restarting every few bars. Compose, regenerate and evaluate generate this way."""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch

from museforge.models.base import Generator
from museforge.music.keys import onset_histograms
from museforge.sampling.generation import Generation


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
    generation : the model and its card's key handling (:class:`museforge.sampling.generation.Generation`).
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


__all__ = ["generate_probabilities", "window_noise", "window_starts"]
