"""Choose each shipped model's ``decoding.line_bias``: how readily a single-line track (a chorale voice, a bass
line) sounds its most likely pitch rather than rest, so that it sounds as often as its training data's line.

    python scripts/measure_lines.py [--genres bach jazz] [--write]

A generator writes every cell of the roll as if alone. Where it spreads a voice over neighbouring pitches (it is
unsure whether the alto moves up or down), none of them may pass the threshold although the voice plainly goes
on, and the decoded voice falls silent mid-phrase. For each single-line track the script accompanies the melodies
of the validation split (as ``museforge evaluate`` does, the same noise), decodes them at a grid of biases (log-odds
added to the line's pitches against its rest), and picks the bias whose sounding share (steps with a note) is
closest to the real one of the same windows. Nothing else is fitted: which pitch sounds is still the model's most
likely one, and the pitches, consonance and voice leading that follow are measured by ``museforge evaluate``.
``--write`` records the biases in the shipped card; ``--ranges`` measures (and with ``--write`` records) them with
each line kept in its data's range (``decoding.line_range``, :mod:`museforge.music.ranges`), which is chosen per
genre by its shipping bar (docs/quality.md). ``--enhance`` measures the genres' Enhance (AR-CNN) models the same
way, on the voices their sampler writes afresh under the validation melodies (``python scripts/measure_lines.py
--genres bach --enhance --windows 200``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from museforge.evaluate.run import held_out
from museforge.model_files import ModelCard
from museforge.models.loading import load_model
from museforge.music.tracks import unique_roles
from museforge.pretrained import record_decoding
from museforge.sampling.generation import Generation

GRID = tuple(round(b, 2) for b in np.arange(0.0, 10.0001, 0.25))
WINDOWS = 1000


def sounding(notes: np.ndarray) -> float:
    """Share of the steps of ``(n, T, P)`` windows with a note."""
    return float(notes.any(axis=-1).mean())


def measure(genre: str, windows: int = WINDOWS, seed: int = 0, ranges: bool = False) -> dict[str, dict]:
    """Per single-line track of ``genre``'s shipped model: the real sounding share on the validation split and the
    generated one at every bias of :data:`GRID`, with the chosen bias."""
    generator, card = load_model(genre)
    card = ModelCard({**card, "decoding": {**(card.get("decoding") or {}), "line_range": ranges}})
    generation = Generation.from_card(generator, card)
    policy = generation.policy
    held = held_out(card, "valid", windows)
    melody, real = held.windows[:, 0], held.windows[:, 1:]
    noise = generator.sample_noise(len(melody), generator=torch.Generator().manual_seed(seed))
    probs = generation.probabilities(melody, noise, grid=held.grids)
    out: dict[str, dict] = {}
    for k, role in enumerate(unique_roles(card.roles)):
        if not policy.monophonic[k]:
            continue
        shares = {}
        for bias in GRID:
            notes = policy.track(k, line_bias=bias).decode(probs[:, k : k + 1])
            shares[bias] = sounding(notes[:, 0])
        out[role] = choose(shares, sounding(real[:, k]))
    return out


def choose(shares: dict[float, float], target: float) -> dict[str, float]:
    """The bias of :data:`GRID` whose sounding share is closest to ``target`` (the smaller on a tie), with the
    figures around it."""
    chosen = min(GRID, key=lambda b: (abs(shares[b] - target), abs(b)))
    return {
        "real": round(target, 4),
        "at_0": round(shares[0.0], 4),
        "chosen": chosen,
        "at_chosen": round(shares[chosen], 4),
    }


def measure_enhance(genre: str, windows: int, seed: int = 0, iterations: int = 32) -> dict[str, dict]:
    """The same for ``genre``'s shipped Enhance model: its voices written afresh under the validation split's
    melodies (``iterations``, the sampler's part-writing rule as the model's default has it), the final
    probabilities decoded at every bias of :data:`GRID`."""
    from dataclasses import replace

    from museforge.sampling.gibbs import decode_lines, rewrite_windows, voices_from_card
    from museforge.sampling.voice_rules import forbids_parallels

    network, card = load_model(genre, "enhance")
    held = held_out(card, "valid", windows)
    start = np.zeros_like(held.windows)
    start[:, 0] = held.windows[:, 0]
    _, probs = rewrite_windows(
        network,
        card,
        start,
        iterations=iterations,
        generator=torch.Generator().manual_seed(seed),
        forbid_parallels=forbids_parallels(card, None),
    )
    voices = voices_from_card(card)
    shares = {
        bias: decode_lines(probs, replace(voices, line_bias=(0.0, *[bias] * (len(voices.hold) - 1)))).any(axis=-1)
        for bias in GRID
    }
    out: dict[str, dict] = {}
    for k, role in enumerate(unique_roles(card.roles), start=1):
        if not voices.monophonic[k]:
            continue
        share = {bias: float(sounds[:, k].mean()) for bias, sounds in shares.items()}
        out[role] = choose(share, sounding(held.windows[:, k]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="+", default=["bach", "pop", "rock", "jazz", "symphony"])
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--ranges", action="store_true", help="keep each line in its data's range")
    parser.add_argument("--enhance", action="store_true", help="measure the genres' Enhance models instead")
    parser.add_argument("--write", action="store_true", help="record the chosen biases in the shipped cards")
    args = parser.parse_args()
    for genre in args.genres if args.enhance else []:
        lines = measure_enhance(genre, args.windows)
        print(json.dumps({"genre": genre, "technique": "enhance", "lines": lines}), flush=True)
        if args.write:
            record_decoding(genre, {"line_bias": {role: v["chosen"] for role, v in lines.items()}}, "enhance")
    for genre in args.genres if not args.enhance else []:
        lines = measure(genre, args.windows, ranges=args.ranges)
        print(json.dumps({"genre": genre, "lines": lines}), flush=True)
        if args.write and lines:
            chosen = {role: v["chosen"] for role, v in lines.items()}
            record_decoding(genre, {"line_bias": chosen, "line_range": args.ranges})


if __name__ == "__main__":
    main()
