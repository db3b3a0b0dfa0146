"""An exponential moving average of a generator's weights: the network a GAN run samples, logs and ships.

A GAN's generator wanders around a good solution as the critic and it chase each other; the average of its recent
weights sits nearer the middle of that wander and often writes better music than the last update alone (Yazici et
al. 2019, "The Unusual Effectiveness of Averaging in GAN Training"; StyleGAN and BigGAN ship averaged
generators). After every generator update::

    average = rate * average + (1 - rate) * weights,   rate = min(decay, (1 + n) / (10 + n))

where ``n`` counts the generator updates so far: the warm-up lets the first updates count fully, so that the
average does not remember the random weights the run started from.

Batch-norm statistics are not averaged: the running means and variances of the networks along the way describe
*their* activations, not the average's. Before the average is measured or saved, its statistics are computed
afresh by running it over a fixed set of training windows (:meth:`WeightAverage.refresh_statistics`; BigGAN's
"standing statistics"), so they depend on its weights alone and a resumed run saves what an uninterrupted one does.

The optimizer keeps updating the network it was built on (saved as ``generator_raw`` in the run's folder); the
average is saved as ``generator``, the file composing reads, so a run with an average ships it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import Tensor, nn

#: The batch norms whose statistics :meth:`WeightAverage.refresh_statistics` computes.
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class WeightAverage:
    """The moving average of ``network``'s weights, as a network of the same architecture.

    Parameters
    ----------
    network : nn.Module
        The network the optimizer updates.
    decay : float
        The rate the average keeps of itself at each update once warmed up, in (0, 1) (e.g. 0.999: it
        forgets with a half-life of about 700 updates).
    optimizer : torch.optim.Optimizer
        ``network``'s optimizer: its step count (restored on a resume) tells how many updates came before.

    Attributes
    ----------
    average : nn.Module
        The averaged network (no gradients); it starts as a copy of ``network``.
    """

    def __init__(self, network: nn.Module, decay: float, optimizer: torch.optim.Optimizer) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must lie in (0, 1), got {decay}")
        self.network = network
        self.decay = float(decay)
        self.optimizer = optimizer
        self.average = copy.deepcopy(network)
        self.average.requires_grad_(False)
        self._updates: int | None = None  # read once from the optimizer, then counted here (no host sync a step)
        self._refreshed_at: int | None = None  # the update count the statistics were computed at

    def rate(self, updates: int) -> float:
        """The share of itself the average keeps at the ``updates``-th generator update (1 for the first)."""
        return min(self.decay, (1 + updates) / (10 + updates))

    def _optimizer_updates(self) -> int:
        """How many updates the optimizer has made (Adam's step count of the first parameter; 0 before any)."""
        first = next(self.network.parameters())
        step = self.optimizer.state.get(first, {}).get("step")
        return int(step) if step is not None else 0

    @torch.no_grad()
    def update(self) -> None:
        """Move the average's weights towards the network's; call after each optimizer step of the network."""
        self._updates = self._optimizer_updates() if self._updates is None else self._updates + 1
        keep = self.rate(self._updates)
        averaged: list[Tensor] = list(self.average.parameters())
        current: list[Tensor] = [p.detach() for p in self.network.parameters()]
        torch._foreach_lerp_(averaged, current, 1.0 - keep)

    @torch.no_grad()
    def refresh_statistics(self, batches: Iterable[tuple[Tensor, ...]]) -> bool:
        """Compute the average's batch-norm statistics afresh: the mean and variance of its activations over
        ``batches`` (each the inputs of one forward pass, e.g. ``(melody (B, T, P), noise (B, noise_dim))``).

        Nothing is computed when the weights have not moved since the last refresh (``batches`` is then not
        read), nor for a network without batch norms. Returns whether the statistics were computed.
        """
        norms = [m for m in self.average.modules() if isinstance(m, BATCH_NORMS)]
        updates = self._updates if self._updates is not None else self._optimizer_updates()
        if not norms or self._refreshed_at == updates:
            return False
        momenta = [m.momentum for m in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain mean over the batches
        training = self.average.training
        self.average.train()
        try:
            for inputs in batches:
                self.average(*inputs)
        finally:
            for norm, momentum in zip(norms, momenta, strict=True):
                norm.momentum = momentum
            self.average.train(training)
        self._refreshed_at = updates
        return True


__all__ = ["BATCH_NORMS", "WeightAverage"]
