"""Measure Enhance (AR-CNN) and Extend (Transformer) on held-out music; the figures of docs/results.md.

    python scripts/measure_techniques.py [--samples 400] [--iterations 32] [--seed 0]

Enhance, on the test split's chorale windows (4 bars): the alto, tenor and bass the AR-CNN writes afresh under the
real soprano, the Bach U-Net GAN's for the same melodies, and the GAN's rewritten by the AR-CNN (a revision pass:
the GAN's voices as the start, half of them redrawn at first), each against the real voices, metric by metric, with
the sampler's part-writing rule as the model's default has it and (``other_rule``) the other way; then the same on
the 8 built-in melodies. Extend, on the test split's melodies of every genre it learnt: the loss per
token against unigram and bigram baselines, and 4-bar continuations of 4-bar prompts against the real next 4 bars.
Prints one JSON document. The datasets must be built at resolution 4 (``museforge datasets build``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np
import torch

HEADLINE = (
    "key_fit",
    "consonance",
    "in_scale_rate",
    "pitches_per_step",
    "one_step_note_rate",
    "qualified_note_rate",
    "melody_doubling",
    "empty_bar_rate",
)


def _rows(comparison: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for role, row in comparison["tracks"].items():
        if role == "ensemble":
            continue
        out[role] = {m: [row[m]["generated"], row[m]["real"]] for m in HEADLINE if m in row}
    out["voice_leading"] = {k: [v["generated"], v["real"]] for k, v in (comparison.get("voice_leading") or {}).items()}
    return out


def measure_enhance(samples: int, iterations: int, seed: int) -> dict[str, Any]:
    from museforge.evaluate.grid import MetricGrid
    from museforge.evaluate.run import _comparison, _generate, held_out
    from museforge.models.loading import load_model
    from museforge.sampling.generation import Generation
    from museforge.sampling.gibbs import harmonize_windows, revise_windows
    from museforge.sampling.voice_rules import forbids_parallels
    from museforge.training.data import split_windows

    network, card = load_model("bach", "enhance")
    rule = forbids_parallels(card, None)  # the model's default, as enhance and compose --rewrite run it
    data = card["data"]
    grid = MetricGrid(data["tracks"], int(data["resolution"]), int(data["lowest_pitch"]), int(data["beats_per_bar"]))
    held = held_out(card, "test", samples)
    real = held.windows
    rng = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    enhanced = harmonize_windows(network, card, real[:, 0], iterations=iterations, generator=rng, forbid_parallels=rule)
    enhance_seconds = time.perf_counter() - started

    gan, gan_card = load_model("bach")
    pieces = int(card["model_config"]["n_bars"]) // int(gan_card["model_config"]["n_bars"])
    halves = split_windows(real, pieces)
    made = _generate(Generation.from_card(gan, gan_card), halves[:, 0], seed)  # (n * pieces, K, T / pieces, P)
    n, k, t, p = real.shape[0], made.shape[1], real.shape[2], real.shape[3]
    gan_windows = made.reshape(n, pieces, k, t // pieces, p).transpose(0, 2, 1, 3, 4).reshape(n, k, t, p)
    start = np.concatenate([real[:, :1], gan_windows], axis=1)
    revise = {"iterations": iterations, "generator": rng, "start_ratio": 0.5}
    revised = revise_windows(network, card, start, **revise, forbid_parallels=rule)
    # the same without the part-writing rule (with it where the model's default allows parallels)
    other = harmonize_windows(
        network, card, real[:, 0], iterations=iterations, generator=rng, forbid_parallels=not rule
    )
    other_revised = revise_windows(network, card, start, **revise, forbid_parallels=not rule)

    def compare(accompaniment: np.ndarray) -> dict[str, Any]:
        fake = np.concatenate([real[:, :1], accompaniment], axis=1)
        return _rows(_comparison(grid, card, fake, real, held.grids, held.grids))

    return {
        "windows": int(n),
        "iterations": iterations,
        "parallels": "forbid" if rule else "allow",
        "enhance_seconds_per_window": enhance_seconds / n,
        "enhance": compare(enhanced),
        "gan": compare(gan_windows),
        "gan_revised": compare(revised),
        "other_rule": {"enhance": compare(other), "gan_revised": compare(other_revised)},
        "samples": measure_enhance_samples(network, card, gan, gan_card, grid, iterations, seed),
    }


def measure_enhance_samples(network: Any, card: dict, gan: Any, gan_card: dict, grid: Any, iterations: int, seed: int):
    """Key fit and consonance of the voices under each built-in melody: enhanced afresh, GAN, GAN revised."""
    import tempfile
    from pathlib import Path

    from museforge.music.melodies import list_melodies
    from museforge.pipelines.compose import compose
    from museforge.pipelines.enhance import enhance

    def windows(multitrack: Any) -> tuple[np.ndarray, np.ndarray]:
        rolls = multitrack.binarized(int(card["data"]["lowest_pitch"]), int(card["data"]["n_pitches"]))
        t = 64
        steps = math.ceil(rolls.shape[1] / t) * t
        padded = np.zeros((rolls.shape[0], steps, rolls.shape[2]), dtype=bool)
        padded[:, : rolls.shape[1]] = rolls
        w = padded.reshape(rolls.shape[0], steps // t, t, -1).transpose(1, 0, 2, 3)
        return w[:, 0], w[:, 1:]

    table: dict[str, list[dict[str, float | None]]] = {"enhance": [], "gan": [], "gan_revised": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for melody in list_melodies():
            made = {
                "enhance": enhance(melody.name, out_midi=folder / "e.mid", iterations=iterations, seed=seed),
                "gan": compose(melody.name, "bach", out_midi=folder / "g.mid", seed=seed),
            }
            made["gan_revised"] = enhance(folder / "g.mid", out_midi=folder / "r.mid", iterations=iterations, seed=seed)
            for key, result in made.items():
                m, acc = windows(result.multitrack)
                rows = grid.metrics(m, acc)
                table[key].append(
                    {
                        "melody": melody.name,
                        **{
                            f"{role}.{metric}": rows[role][metric]
                            for role in ("alto", "tenor", "bass")
                            for metric in ("key_fit", "consonance")
                        },
                    }
                )
    means = {
        key: {
            metric: float(np.nanmean([r[f"{role}.{metric}"] for r in rows for role in ("alto", "tenor", "bass")]))
            for metric in ("key_fit", "consonance")
        }
        for key, rows in table.items()
    }
    return {"mean_over_voices_and_melodies": means, "per_melody": table}


def measure_extend(seed: int, prompts: int) -> dict[str, Any]:
    from museforge.metrics.continuation import continuation_metrics, mean_metrics
    from museforge.models.loading import load_model
    from museforge.music import tokens as tok
    from museforge.sampling.continuation import continue_melody
    from museforge.training.melody_data import MelodyData, ngram_losses, song_melodies, to_common_key

    network, card = load_model("melody", "extend")
    cfg = network.config
    data = MelodyData(card["genre"], cfg.block_size, torch.device("cpu"), common_key=True)
    tokenizer = tok.MelodyTokenizer(cfg.steps_per_bar)
    test: list[int] = []
    songs: list[list[tuple[int, int, int]]] = []
    for genre in card["genre"].split("+"):
        melodies, lengths, _ = song_melodies(genre, "test")
        for notes, n_bars in zip(melodies, lengths, strict=True):
            if notes:
                notes = to_common_key(notes, cfg.lowest_pitch, cfg.n_pitches)
                test += [tok.BOS, *tokenizer.encode(notes, n_bars)]
                if n_bars >= 8:
                    songs.append(notes)
    stream = np.asarray(test, dtype=np.int64)
    losses = []
    with torch.no_grad():
        for start in range(0, len(stream) - cfg.block_size - 1, cfg.block_size):
            block = torch.from_numpy(stream[start : start + cfg.block_size + 1]).view(1, -1)
            logits = network(block[:, :-1])
            losses.append(float(torch.nn.functional.cross_entropy(logits[0], block[0, 1:])))
    spb = cfg.steps_per_bar
    rng = torch.Generator().manual_seed(seed)
    picks = np.linspace(0, len(songs) - 1, num=min(prompts, len(songs))).round().astype(int)
    made, real = [], []
    started = time.perf_counter()
    for i in picks:
        prompt = [n for n in songs[i] if n[1] < 4 * spb]
        truth = [n for n in songs[i] if 4 * spb <= n[1] < 8 * spb]
        if not prompt:
            continue
        new = continue_melody(network, prompt, 4, spb, 4, generator=rng)
        made.append(continuation_metrics(prompt, new, spb, 4, 4))
        real.append(continuation_metrics(prompt, truth, spb, 4, 4))
    seconds = time.perf_counter() - started
    return {
        "test_tokens": len(stream),
        "test_loss": float(np.mean(losses)),
        **{f"test_{k}": v for k, v in ngram_losses(data.train, stream, cfg.vocab_size).items()},
        "validation_loss": card["last_epoch"]["validation_loss"],
        "prompts": len(made),
        "seconds_per_4_bar_continuation": seconds / max(1, len(made)),
        "continuations": {"generated": mean_metrics(made), "real": mean_metrics(real)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400, help="test windows for Enhance")
    parser.add_argument("--prompts", type=int, default=200, help="test melodies for Extend")
    parser.add_argument("--iterations", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("enhance", "extend"))
    args = parser.parse_args()
    out: dict[str, Any] = {}
    command = f"python scripts/measure_techniques.py --samples {args.samples} --prompts {args.prompts} " + (
        f"--iterations {args.iterations} --seed {args.seed}"
    )
    if args.only in (None, "enhance"):
        out["enhance"] = {**measure_enhance(args.samples, args.iterations, args.seed), "command": command}
        _record("enhance", "bach", out["enhance"])
    if args.only in (None, "extend"):
        out["extend"] = {**measure_extend(args.seed, args.prompts), "command": command}
        _record("extend", "melody", out["extend"])
    print(json.dumps(out, indent=1, default=str))


def _record(technique: str, name: str, evaluation: dict[str, Any]) -> None:
    """Keep the figures in the shipped model's card (``evaluation``), where docs/results.md reads them."""
    from museforge.pretrained import PRETRAINED_DIR

    path = PRETRAINED_DIR / technique / f"{name}.json"
    card = json.loads(path.read_text())
    card["evaluation"] = json.loads(json.dumps(evaluation, default=str))
    path.write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
