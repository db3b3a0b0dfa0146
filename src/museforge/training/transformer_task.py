"""Training the melody Transformer of Extend: next-token cross-entropy over the genres' melody token streams.

Logged per epoch: the training loss, the validation loss per token (nats) beside a unigram and a bigram model's
(:func:`~museforge.training.melody_data.ngram_losses`, in the card's ``train_data_metrics``), and metrics of
continuations of held-out melodies (:mod:`museforge.metrics.continuation`) next to the real continuations'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from museforge.metrics.continuation import continuation_metrics, mean_metrics
from museforge.models.registry import make_config
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.sampling.continuation import DEFAULT_TOP_K, continue_melody
from museforge.training.config import TrainConfig
from museforge.training.distributed import Context
from museforge.training.evaluation import METRICS_SEED_OFFSET, SAMPLE_TEMPO, write_sample_files
from museforge.training.melody_data import MelodyData, ngram_losses
from museforge.training.tasks import OneNetworkTask

#: Validation blocks whose loss is logged per epoch.
VALID_BLOCKS = 64
#: Bars of held-out melody given as the prompt, and bars continued, in the per-epoch metrics.
PROMPT_BARS = 4
CONTINUED_BARS = 4
#: Gradient norm clip.
CLIP_NORM = 1.0


def prompts(data: MelodyData, n: int) -> list[tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]]:
    """Up to ``n`` held-out (prompt, real continuation) pairs: bars 1-4 and 5-8 of validation songs of 8+ bars."""
    spb = data.facts.steps_per_bar
    pairs = []
    songs = [s for s in data.valid_songs if s[1] >= PROMPT_BARS + CONTINUED_BARS]
    for k in np.linspace(0, len(songs) - 1, num=min(n, len(songs))).round().astype(int) if songs else []:
        notes, _ = songs[k]
        prompt = [x for x in notes if x[1] < PROMPT_BARS * spb]
        real = [x for x in notes if PROMPT_BARS * spb <= x[1] < (PROMPT_BARS + CONTINUED_BARS) * spb]
        if prompt:
            pairs.append((prompt, real))
    return pairs


class TransformerTask(OneNetworkTask):
    """The melody Transformer on melody token streams (see the module docstring)."""

    def __init__(self, config: TrainConfig, device: torch.device, ctx: Context) -> None:

        block = make_config("transformer", {k: v for k, v in config.model_config.items() if k == "block_size"})
        self.data = MelodyData(config.genre, block.block_size, device, common_key=config.common_key)
        self.config = config
        self._build_network(config, device, ctx, self.data.model_overrides(config.model_config))
        self.pairs = prompts(self.data, config.metrics_samples)
        self.sample_pairs = prompts(self.data, 1)[: max(0, config.samples_per_epoch)]

    def step(self, indices: Tensor, rng: torch.Generator) -> Tensor:
        inputs, targets = self.data.batch(indices[0], rng)
        logits = self.forward(inputs)
        return self._update(F.cross_entropy(logits.float().flatten(0, 1), targets.flatten()), clip=CLIP_NORM)

    def data_metrics(self) -> dict[str, Any]:
        spb = self.data.facts.steps_per_bar
        real = [continuation_metrics(p, r, spb, PROMPT_BARS, CONTINUED_BARS) for p, r in self.pairs]
        return {
            **ngram_losses(self.data.train, self.data.valid, int(self.model_config["vocab_size"])),
            "continuations": mean_metrics(real),
        }

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Mean next-token cross-entropy (nats per token) over the first validation blocks."""
        blocks = self.data.valid_blocks(VALID_BLOCKS)
        if len(blocks) == 0:
            return float("nan")
        device = next(self.network.parameters()).device
        x = torch.from_numpy(blocks).to(device)
        losses = []
        for start in range(0, len(x), 16):
            part = x[start : start + 16]
            logits = self.network(part[:, :-1])
            losses.append(F.cross_entropy(logits.float().flatten(0, 1), part[:, 1:].flatten(), reduction="sum"))
        return float(torch.stack(losses).sum()) / (x.shape[0] * (x.shape[1] - 1))

    def continuations(self, pairs: list[Any]) -> list[list[tuple[int, int, int]]]:

        rng = torch.Generator().manual_seed(self.seed + METRICS_SEED_OFFSET)
        spb = self.data.facts.steps_per_bar
        return [
            continue_melody(self.network, p, PROMPT_BARS, spb, CONTINUED_BARS, top_k=DEFAULT_TOP_K, generator=rng)
            for p, _ in pairs
        ]

    def epoch_log(self, card: dict[str, Any]) -> dict[str, Any]:
        spb = self.data.facts.steps_per_bar
        made = self.continuations(self.pairs)
        rows = [
            continuation_metrics(p, c, spb, PROMPT_BARS, CONTINUED_BARS)
            for (p, _), c in zip(self.pairs, made, strict=True)
        ]
        return {
            "validation_loss": self.validation_loss(),
            "metrics": {
                "generated": {"continuations": mean_metrics(rows)},
                "training_data": {"continuations": (card.get("train_data_metrics") or {}).get("continuations")},
            },
        }

    def write_sample(self, card: dict[str, Any], folder: Path, epoch: int, title: str) -> dict[str, str]:

        if not self.sample_pairs:
            return {}
        prompt, _ = self.sample_pairs[0]
        (made,) = self.continuations(self.sample_pairs)
        facts = self.data.facts
        notes = [(p, s, e, 90) for p, s, e in [*prompt, *made]]
        track = TrackNotes("Melody", "melody", 0, False, notes)
        multitrack = Multitrack.from_notes(
            [track],
            facts.resolution,
            tempo=SAMPLE_TEMPO,
            n_steps=(PROMPT_BARS + CONTINUED_BARS) * facts.steps_per_bar,
            time_signature=(facts.beats_per_bar, 4),
        )
        return write_sample_files(multitrack, folder, epoch, title)
