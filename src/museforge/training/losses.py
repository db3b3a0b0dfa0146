"""Adversarial losses over raw critic scores, and the gradient penalty.

Every critic in museforge returns raw scores ``(B,)`` (no sigmoid), higher meaning "more real". Each loss
defines what the critic minimises given the scores of real and fake samples, and what the generator
minimises given the scores of its fakes:

==============  =====================================================  ==========================
loss            critic                                                 generator
==============  =====================================================  ==========================
wgan-gp         ``E[D(fake)] - E[D(real)]`` (+ gradient penalty)       ``-E[D(fake)]``
hinge           ``E[relu(1 - D(real))] + E[relu(1 + D(fake))]``        ``-E[D(fake)]``
nonsaturating   ``E[softplus(-D(real))] + E[softplus(D(fake))]``       ``E[softplus(-D(fake))]``
lsgan           ``E[(D(real) - 1)^2] / 2 + E[D(fake)^2] / 2``          ``E[(D(fake) - 1)^2] / 2``
==============  =====================================================  ==========================

``softplus(-x) = -log(sigmoid(x))``, so ``nonsaturating`` is the binary cross-entropy GAN of Goodfellow
et al. with the "non-saturating" generator loss. The gradient penalty (Gulrajani et al. 2017) is
``E[(||grad_x D(x)|| - 1)^2]`` at random points between real and fake accompaniments (the melody is the
same real one on both sides, so it is held fixed).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.training.config import LOSSES


def critic_loss(kind: str, real: Tensor, fake: Tensor) -> Tensor:
    """The critic's adversarial loss (without any gradient penalty).

    Parameters
    ----------
    kind : str
        One of :data:`LOSSES`.
    real, fake : Tensor
        ``(B,)`` raw critic scores of real and of generated samples.

    Returns
    -------
    Tensor
        Scalar loss to minimise.
    """
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "nonsaturating":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()
    raise MuseforgeError(f"unknown loss {kind!r} (choose from {', '.join(LOSSES)})")


def generator_loss(kind: str, fake: Tensor) -> Tensor:
    """The generator's adversarial loss.

    Parameters
    ----------
    kind : str
        One of :data:`LOSSES`.
    fake : Tensor
        ``(B,)`` raw critic scores of generated samples.

    Returns
    -------
    Tensor
        Scalar loss to minimise.
    """
    if kind in ("wgan-gp", "hinge"):
        return -fake.mean()
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise MuseforgeError(f"unknown loss {kind!r} (choose from {', '.join(LOSSES)})")


def gradient_penalty(
    critic: nn.Module,
    melody: Tensor,
    real: Tensor,
    fake: Tensor,
    alpha: Tensor,
    *meter: Tensor,
) -> Tensor:
    """WGAN-GP penalty ``E[(||grad D(melody, x_hat)|| - 1)^2]`` with ``x_hat = alpha * real + (1 - alpha) * fake``.

    Only the gradient with respect to ``x_hat`` is taken (not the parameters'), with ``create_graph`` so
    the penalty itself can be differentiated by the critic's optimiser.

    Parameters
    ----------
    critic : nn.Module
        ``(melody (B, T, P), accompaniment (B, K, T, P)) -> (B,)``; an eager module (double backward does
        not run through ``torch.compile``).
    melody : Tensor
        ``(B, T, P)``.
    real, fake : Tensor
        ``(B, K, T, P)`` real rolls and generated probabilities (``fake`` detached).
    alpha : Tensor
        ``(B,)`` mixing weights in ``[0, 1]``.
    meter : Tensor
        At most one: ``(B, T, 2)`` metric grid, for a meter-aware critic.

    Returns
    -------
    Tensor
        Scalar penalty (float32).
    """
    a = alpha.to(real.dtype).view(-1, *([1] * (real.dim() - 1)))
    mixed = (a * real + (1.0 - a) * fake.to(real.dtype)).requires_grad_(True)
    scores = critic(melody, mixed, *meter).float()
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def parallel_motion(melody: Tensor, probs: Tensor, lowest_pitch: int) -> Tensor:
    """Expected parallel unisons, octaves and fifths per window between the voices of a four-part texture.

    Each voice is read as a distribution over pitch at each step (a generated voice: its probabilities
    normalised over the pitches; the melody: its note), so the chance that a voice stands a fifth or an octave
    (or unison) above a lower one, pitch classes counted (voices in score order, top first, as
    :func:`museforge.metrics.voices.parallel_fifths_octaves` counts them), is the cross-correlation of their
    pitch-class distributions; a
    parallel is that chance at a step and the next, times the chance that both voices move between them (one minus
    the chance each keeps its pitch). Summed over the steps and the pairs of voices, averaged over the batch:
    differentiable in ``probs``, the voice-leading term a generator may be taught with (``voice_leading``).

    Parameters
    ----------
    melody : Tensor
        ``(B, T, P)`` the given top voice, 0/1.
    probs : Tensor
        ``(B, K, T, P)`` the generated voices' probabilities.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    Tensor
        Scalar, float32.
    """
    voices = torch.cat([melody.unsqueeze(1), probs], dim=1).float()  # (B, V, T, P)
    dist = voices / voices.sum(dim=-1, keepdim=True).clamp_min(1e-6)
    pitches = voices.shape[-1]
    classes = (torch.arange(pitches, device=voices.device) + int(lowest_pitch)) % 12
    fold = F.one_hot(classes, 12).to(dist.dtype)  # (P, 12)
    hist = dist @ fold  # (B, V, T, 12)
    keep = (dist[:, :, 1:] * dist[:, :, :-1]).sum(dim=-1)  # (B, V, T-1): the voice holds its pitch
    sounds = (voices.sum(dim=-1) > 0).to(dist.dtype)  # the melody rests in places
    moves = (1.0 - keep) * sounds[:, :, 1:] * sounds[:, :, :-1]
    total = voices.new_zeros(())
    n_voices = voices.shape[1]
    for u in range(n_voices):
        for v in range(u + 1, n_voices):
            for interval in (0, 7):
                # voice u above voice v (soprano, alto, tenor, bass order): u's pitch class ``interval`` above v's
                same = (hist[:, u] * torch.roll(hist[:, v], interval, dims=-1)).sum(dim=-1)  # (B, T)
                total = total + (same[:, 1:] * same[:, :-1] * moves[:, u] * moves[:, v]).sum(dim=-1).mean()
    return total


def semitone_clusters(probs: Tensor, tracks: Sequence[int]) -> Tensor:
    """Expected semitone clusters per window in the given tracks: the expected number of neighbouring keys that
    sound together at a step (two cells a semitone apart both on, cells read one by one as the decoding's
    threshold reads them), summed over the steps and the tracks, averaged over the batch.

    A cell on its own never counts, nor two keys a tone or more apart: only the grinding pair a pianist's chord
    or an orchestra's section seldom plays (:func:`museforge.metrics.texture.semitone_cluster_rate` is the share
    of chord steps that have one). Differentiable in ``probs``: the term a generator may be taught with
    (``clusters``).

    Parameters
    ----------
    probs : Tensor
        ``(B, K, T, P)`` the generated tracks' probabilities.
    tracks : sequence of int
        Indices into ``K`` of the tracks counted (the pitched ones: a drum track's neighbouring keys are other
        instruments).

    Returns
    -------
    Tensor
        Scalar, float32 (0 when ``tracks`` is empty).
    """
    if not tracks:
        return probs.new_zeros((), dtype=torch.float32)
    chosen = probs[:, list(tracks)].float()  # (B, k, T, P)
    return (chosen[..., 1:] * chosen[..., :-1]).sum(dim=(1, 2, 3)).mean()


def decoded_notes(probs: Tensor) -> Tensor:
    """The notes probabilities decode to at the 0.5 threshold, exactly 0 or 1, with a straight-through gradient (the
    gradient flows as if they were the probabilities; Dong and Yang's deterministic binary neurons, BinaryMuseGAN,
    2018). Shape and dtype unchanged."""
    hard = (probs >= 0.5).to(probs.dtype)
    return hard + (probs - probs.detach())  # exactly 0 or 1: x - x is exactly 0


def drum_profile_gap(probs: Tensor, real: Tensor, tracks: Sequence[int]) -> Tensor:
    """How far the batch's generated drum map lies from the real one of the same windows: the squared difference
    between the share of windows whose decoded drums hit (probability at least 0.5) and the share of real windows
    that hit, per step and key of the given tracks, summed.

    The generator and the critic see the same melody windows, so the real batch has the same meters, bar lines and
    tunes: where its drummers hit (the snare on beats 2 and 4 in most 4/4 bars, a waltz's kick on 1) is the map the
    generated drums are asked to match on average, while each window keeps its own pattern (only the batch's mean
    is compared: feature matching, Salimans et al. 2016). The hits are the decoded notes, with a straight-through
    gradient (:func:`decoded_notes`): the mean of the probabilities themselves was
    tried first and, from scratch, taught hits at the real share's probability (0.3 for a snare heard in 30 % of
    bars), which decode to silence (docs/quality.md). Differentiable in ``probs``: the term a generator may be
    taught with (``drum_profile``).

    Parameters
    ----------
    probs : Tensor
        ``(B, K, T, P)`` the generated tracks' probabilities.
    real : Tensor
        ``(B, K, T, P)`` the real accompaniment of the same windows, 0 or 1.
    tracks : sequence of int
        Indices into ``K`` of the drum tracks compared.

    Returns
    -------
    Tensor
        Scalar, float32: 0 for no tracks (an empty selection sums to 0).
    """
    generated = decoded_notes(probs[:, list(tracks)].float()).mean(dim=0)  # (k, T, P)
    wanted = real[:, list(tracks)].float().mean(dim=0)
    return ((generated - wanted) ** 2).sum()
