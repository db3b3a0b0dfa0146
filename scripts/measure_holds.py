"""Choose each shipped model's ``decoding.track_hold``: per pitched track, the cost a note pays to start or stop in
the decoding (:mod:`museforge.sampling.notes`), so that its notes are as often one step long as its data's.

    python scripts/measure_holds.py [--genres rock pop] [--write]

The default hold of a track comes from a formula over its training data's share of one-step notes
(:func:`museforge.sampling.notes.track_hold`); what the decoded notes then do depends on how sure the model is, so
the formula leaves some tracks flickering (rock's guitar: twice the real share of 16th-note blips) and others too
smooth (rock's bass: half the real share). For each pitched track the script accompanies the melodies of the
validation split (as ``museforge evaluate`` does, the same noise), decodes the track at every hold of a grid under
the rest of its policy (single line, range, bias, change grid), and picks the hold whose share of one-step notes is
closest to the real one of the same windows (ties: the nearer to the formula's). Which pitches sound is still the
model's; only how long its notes last is fitted. ``--write`` records the holds in the shipped card.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from museforge.evaluate.run import held_out
from museforge.metrics.texture import one_step_note_rate
from museforge.models.loading import load_model
from museforge.music.tracks import unique_roles
from museforge.pretrained import record_decoding
from museforge.sampling.generation import Generation

GRID = tuple(round(h, 2) for h in np.arange(0.0, 4.0001, 0.25))
WINDOWS = 1000


def measure(genre: str, windows: int = WINDOWS, seed: int = 0) -> dict[str, dict]:
    """Per pitched track of ``genre``'s shipped model: the real one-step share on the validation split, the
    generated one at the formula's hold and at the chosen hold of :data:`GRID`."""
    generator, card = load_model(genre)
    generation = Generation.from_card(generator, card)
    policy = generation.policy
    held = held_out(card, "valid", windows)
    melody, real = held.windows[:, 0], held.windows[:, 1:]
    noise = generator.sample_noise(len(melody), generator=torch.Generator().manual_seed(seed))
    probs = generation.probabilities(melody, noise, grid=held.grids)
    out: dict[str, dict] = {}
    for k, role in enumerate(unique_roles(card.roles)):
        if card.is_drum[k]:
            continue

        def share(hold: float, k: int = k) -> float:
            notes = policy.track(k, hold=hold).decode(probs[:, k : k + 1])
            return float(np.nanmean(one_step_note_rate(np.asarray(notes)[:, 0])))

        target = float(np.nanmean(one_step_note_rate(real[:, k])))
        now = policy.hold[k]
        shares = {hold: share(hold) for hold in GRID}
        chosen = min(GRID, key=lambda h: (round(abs(shares[h] - target), 4), abs(h - now)))
        out[role] = {
            "real": round(target, 4),
            "formula_hold": round(now, 3),
            "at_formula": round(share(now), 4),
            "chosen": chosen,
            "at_chosen": round(shares[chosen], 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="+", default=["bach", "pop", "rock", "jazz", "symphony"])
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--write", action="store_true", help="record the chosen holds in the shipped cards")
    args = parser.parse_args()
    for genre in args.genres:
        tracks = measure(genre, args.windows)
        print(json.dumps({"genre": genre, "holds": tracks}), flush=True)
        if args.write and tracks:
            record_decoding(genre, {"track_hold": {role: v["chosen"] for role, v in tracks.items()}})


if __name__ == "__main__":
    main()
