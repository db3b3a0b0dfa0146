"""Choose each shipped genre model's default ``variation`` (how far repeated strains may differ) from the
training songs (the genre's largest sample of real form), and show what it gives on the held-out songs.

    python scripts/measure_form.py [--genres pop rock] [--write] [--step 0.05] [--every]

For each genre: the stretches of the split's songs (rebuilt from the dataset's windows) are accompanied by the
shipped model as ``museforge compose`` does it, at every variation of a grid, and the repeat fidelity of the result
(:func:`museforge.metrics.form.repeat_fidelity`) is set beside the real accompaniment's. The chosen default is the
variation whose repeat overlap is closest to the real one on the training songs among those that keep at least
half of the real share of identical repeats (the form is the genre's, not the model's: the model follows it the
same way on any melody). ``--write`` records it in the shipped card (``decoding.variation``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from museforge.datasets.cache import load_dataset
from museforge.datasets.songs import song_segments
from museforge.files import write_json
from museforge.metrics.form import repeat_fidelity
from museforge.models.loading import load_model
from museforge.music.form import bar_spans
from museforge.music.meter import bar_steps, window_grid
from museforge.pretrained import pretrained_card_path
from museforge.sampling.form import accompany
from museforge.sampling.generation import Generation

GRID = tuple(round(v, 2) for v in np.arange(0.0, 1.0001, 0.1))
SEGMENTS = 120


def measure(genre: str, split: str, variations: tuple[float, ...] = GRID) -> tuple[dict, dict[float, dict]]:
    """``(real, {variation: generated})`` repeat fidelity on ``split``'s song stretches, at each of
    ``variations``."""
    generator, card = load_model(genre)
    dataset = load_dataset(genre)
    manifest = dataset.manifest
    melody = int(manifest.get("melody_track", 0))
    others = [int(i) for i in manifest.get("accompaniment_tracks", [])] or [
        i for i in range(len(manifest["tracks"])) if i != melody
    ]
    generation = Generation.from_card(generator, card)
    real, generated = [], {v: [] for v in variations}
    for n, (_song, rolls, meter) in enumerate(song_segments(dataset, split, SEGMENTS)):
        spans = bar_spans(rolls.shape[1], None, bar_steps(*meter, card.resolution))
        grid = window_grid(np.asarray([meter]), card.resolution, rolls.shape[1])[0]
        real.append((rolls[melody], rolls[others], spans))
        for v in variations:
            rng, form_rng = torch.Generator().manual_seed(n), np.random.default_rng(n)
            notes = accompany(
                generation, rolls[melody], card.window, spans, rng=rng, form_rng=form_rng, variation=v, grid=grid
            )
            generated[v].append((rolls[melody], notes, spans))
    return repeat_fidelity(real), {v: repeat_fidelity(pieces) for v, pieces in generated.items()}


def choose(real: dict, generated: dict[float, dict]) -> float:
    """The variation closest to the real repeat overlap that keeps half the real share of identical repeats."""
    keeps = [v for v, g in generated.items() if g["repeat_identical"] >= 0.5 * real["repeat_identical"]]
    return min(keeps or generated, key=lambda v: abs(generated[v]["repeat_overlap"] - real["repeat_overlap"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="+", default=["pop", "rock", "jazz", "symphony", "bach"])
    parser.add_argument("--write", action="store_true", help="record the chosen variation in the shipped cards")
    parser.add_argument("--step", type=float, default=0.1, help="the grid of variations, 0 to 1 (default 0.1)")
    parser.add_argument("--every", action="store_true", help="print every variation of the grid on every split")
    args = parser.parse_args()
    if not 0.0 < args.step <= 1.0:
        parser.error("--step must be above 0 and at most 1")
    variations = tuple(sorted({round(float(v), 4) for v in np.arange(0.0, 1.0 + 1e-9, args.step)} | {1.0}))
    for genre in args.genres:
        real, generated = measure(genre, "train", variations)
        chosen = choose(real, generated)
        row: dict = {"genre": genre, "variation": chosen, "train": {"real": real, "generated": generated[chosen]}}
        if args.every:
            row["train"]["every"] = generated
        for split in ("valid", "test"):
            held_real, held = measure(genre, split, variations)
            row[split] = {"real": held_real, "generated": held[chosen], "free (variation 1)": held[1.0]}
            if args.every:
                row[split]["every"] = held
        print(json.dumps(row))
        if args.write:
            path = pretrained_card_path(genre)
            assert path is not None
            card = json.loads(path.read_text())
            card.setdefault("decoding", {})["variation"] = chosen
            write_json(path, card)


if __name__ == "__main__":
    main()
