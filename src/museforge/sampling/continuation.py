"""Continuing a melody with the melody Transformer: token after token, under the grammar of
:mod:`museforge.music.tokens`.

The sampler of Extend (:mod:`museforge.pipelines.extend`), of the Transformer's per-epoch log and of its
measurements: the prompt's tokens, then next tokens drawn with a temperature and top-k from those the grammar allows
(a position inside the bar and after the note before, a pitch inside the model's window, a length), until the
asked-for bars are full.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from museforge.music import tokens as tok
from museforge.sampling.notes import GREEDY_BELOW

if TYPE_CHECKING:
    from museforge.models.transformer import TransformerConfig

#: Chosen on the validation melodies (docs/quality.md): at 0.9 the continuations' key fit, range, note lengths, leaps
#: and notes per bar are together closest to the real next bars' (1.0 leaps and holds notes too much, 0.8 crowds).
DEFAULT_TEMPERATURE = 0.9
DEFAULT_TOP_K = 20


@torch.no_grad()
def continue_melody(
    network: torch.nn.Module,
    notes: list[tok.Note],
    n_bars: int,
    steps_per_bar: int,
    new_bars: int,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    top_k: int = DEFAULT_TOP_K,
    generator: torch.Generator | None = None,
) -> list[tok.Note]:
    """The notes of ``new_bars`` bars that follow a prompt of ``n_bars`` bars (both in the model's key).

    Parameters
    ----------
    network : MelodyTransformer
        ``tokens (1, L) -> logits (1, L, vocab)``.
    notes : list of (pitch, start, end)
        The prompt, steps from its first bar line.
    n_bars, steps_per_bar : int
        The prompt's bars and the meter's steps per bar.
    new_bars : int
        Bars to write.

    Returns
    -------
    list of (pitch, start, end)
        The continuation, steps from the prompt's first bar line (starting at ``n_bars * steps_per_bar``).
    """
    cfg = cast("TransformerConfig", network.config)
    tokenizer = tok.MelodyTokenizer(steps_per_bar)
    sequence = [tok.BOS, *tokenizer.encode(notes, n_bars), tok.BAR]
    prompt_length = len(sequence) - 1
    bar = n_bars
    busy_until = max([e for _, _, e in notes], default=0)
    busy_until = min(busy_until, n_bars * steps_per_bar + steps_per_bar - 1)
    pitch_ok = np.zeros(tok.VOCAB_SIZE, dtype=bool)
    pitch_ok[: tok.pitch(0)] = True
    pitch_ok[tok.pitch(cfg.lowest_pitch) : tok.pitch(cfg.lowest_pitch + cfg.n_pitches)] = True
    pitch_ok[tok.duration(1) :] = True
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    limit = new_bars * (1 + 3 * steps_per_bar) + 1
    try:
        for _ in range(limit):
            context = torch.tensor(sequence[-cfg.block_size :], device=device).view(1, -1)
            logits = network(context)[0, -1].float()
            allowed = tokenizer.allowed(sequence, busy_until - bar * steps_per_bar) & pitch_ok
            logits[~torch.from_numpy(allowed).to(device)] = -math.inf
            if top_k:
                kth = torch.topk(logits, min(top_k, int(allowed.sum()))).values[-1]
                logits[logits < kth] = -math.inf
            if temperature < GREEDY_BELOW:  # the limit of a falling temperature: the likeliest token
                token = int(torch.argmax(logits))
            else:
                probs = torch.softmax(logits / temperature, dim=-1).cpu()
                token = int(torch.multinomial(probs, 1, generator=generator))
            if token == tok.BAR:
                if bar + 1 >= n_bars + new_bars:
                    break
                bar += 1
            elif tok.kind(token) == "dur":
                start = bar * steps_per_bar + tok.value(sequence[-2])
                busy_until = start + tok.value(token)
            sequence.append(token)
    finally:
        network.train(was_training)
    continuation, _ = tokenizer.decode([tok.BAR] * n_bars + sequence[prompt_length:])
    end = (n_bars + new_bars) * steps_per_bar  # the last note is held at most to the last bar line
    return [(p, s, min(e, end)) for p, s, e in continuation if s >= n_bars * steps_per_bar]


__all__ = ["DEFAULT_TEMPERATURE", "DEFAULT_TOP_K", "continue_melody"]
