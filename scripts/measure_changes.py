"""Choose a shipped model's ``decoding.change_cost``: what a note change costs on each position in the beat, so
that keeping the part-writing rule changes which notes the voices sing and not when they move.

    python scripts/measure_changes.py [--genres bach] [--write]

The rule against consecutive fifths and octaves (:mod:`museforge.sampling.paths`) takes the best path that keeps
it. The cheapest way round a parallel on the beat is often to move a sixteenth early or late, on the beat's last
sixteenth, where the data's voices hardly move (a chorale alto changes there in 2 % of its changes); with the rule
the Bach model's alto and tenor moved there four times as often as without it. For each pitched track with a
change grid the script accompanies the melodies of the validation split (as ``museforge evaluate`` does, the same
noise), decodes them without the rule and with it, and for each position off the beat on which the track changes
more often with the rule picks the cost (log-odds, on top of the hold) that brings its share of the track's
changes (:func:`museforge.music.rhythm.change_counts`) closest to the share without the rule. The data's shares
(the training split's) are printed beside them. Which pitches sound is still the model's; what follows is measured
by ``museforge evaluate``. ``--write`` records the costs in the shipped card.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import torch

from museforge.datasets.cache import load_dataset, unpack
from museforge.evaluate.run import held_out
from museforge.models.loading import load_model
from museforge.music.rhythm import change_counts
from museforge.music.tracks import unique_roles
from museforge.pretrained import record_decoding
from museforge.sampling.generation import Generation

GRID = tuple(round(c, 2) for c in np.arange(0.0, 6.0001, 0.25))
WINDOWS = 1000


def shares(rolls: np.ndarray, resolution: int) -> np.ndarray:
    """``(resolution,)``: the share of the changes of ``(n, T, P)`` windows on each position in the beat."""
    counts = change_counts(rolls, resolution).astype(np.float64)
    return counts / max(float(counts.sum()), 1.0)


def measure(genre: str, windows: int = WINDOWS, seed: int = 0) -> dict[str, dict]:
    """Per pitched track with a change grid: the shares of its changes by position in the data, decoded without
    the rule, with it, and with it at the chosen costs, and the costs (``{role: {"data", "free", "rule", "after",
    "costs"}}``)."""
    generator, card = load_model(genre)
    generation = Generation.from_card(generator, card)
    policy = replace(generation.policy, change_cost=(), parallels=True)
    resolution = card.resolution
    dataset = load_dataset(genre)
    accompaniment = [int(i) for i in dataset.manifest.get("accompaniment_tracks", [])]
    train = unpack(dataset.packed("train"))
    held = held_out(card, "valid", windows)
    melody = held.windows[:, 0]
    noise = generator.sample_noise(len(melody), generator=torch.Generator().manual_seed(seed))
    probs = generation.hold_window_grooves(generation.probabilities(melody, noise, grid=held.grids), held.grids)
    free = np.asarray(replace(policy, parallels=False).decode(probs, melody=melody))
    costs: list[list[float] | None] = [None] * len(card.roles)

    def decoded() -> np.ndarray:
        own = tuple(None if c is None else tuple(c) for c in costs)
        chosen = replace(policy, change_cost=own if any(c is not None for c in own) else ())
        return np.asarray(chosen.decode(probs, melody=melody))

    out: dict[str, dict] = {}
    for k, role in enumerate(unique_roles(card.roles)):
        grid = policy.change_grid[k] if policy.change_grid else None
        if grid is None or card.is_drum[k]:
            continue
        target = shares(free[:, k], resolution)
        rule = shares(decoded()[:, k], resolution)
        costs[k] = [0.0] * resolution
        for position in (p for p in grid if p != 0 and rule[p] > target[p]):
            found = {}
            for cost in GRID:
                costs[k][position] = cost
                found[cost] = float(shares(decoded()[:, k], resolution)[position])
            costs[k][position] = min(GRID, key=lambda c: abs(found[c] - target[position]))
        out[role] = {
            "data": shares(train[:, accompaniment[k]], resolution).round(4).tolist(),
            "free": target.round(4).tolist(),
            "rule": rule.round(4).tolist(),
            "after": shares(decoded()[:, k], resolution).round(4).tolist(),
            "costs": {str(p): c for p, c in enumerate(costs[k]) if c > 0},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="+", default=["bach"])
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--write", action="store_true", help="record the chosen costs in the shipped cards")
    args = parser.parse_args()
    for genre in args.genres:
        tracks = measure(genre, args.windows)
        print(json.dumps({"genre": genre, "tracks": tracks}), flush=True)
        if args.write:
            record_decoding(genre, {"change_cost": {role: v["costs"] for role, v in tracks.items() if v["costs"]}})


if __name__ == "__main__":
    main()
