"""Train the shipped genre models with museforge's own trainer and export them to src/museforge/pretrained/.

    python scripts/train_pretrained.py --source ../shared/datasets [--genres bach pop] [--minutes 8]
    python scripts/train_pretrained.py --source ../shared/datasets --techniques enhance extend --minutes 15

Each genre's recipe (architecture, model size, hyperparameters, dataset resolution) is in RECIPES below. A run
trains from the dataset cache alone (``museforge datasets build`` first, which this script does), stops at its
step limit or its time budget (whichever comes first; a time stop saves a checkpoint like any stop), then exports
the generator (safetensors) and its card (JSON) with the training time and hardware added. A model trained afresh
has no measured default variation yet: run ``python scripts/measure_form.py --genres GENRE --write`` after it (a
resume keeps the one measured before).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import threading
import time
from pathlib import Path
from typing import Any

import torch

from museforge.datasets.build import build_dataset
from museforge.pretrained import PRETRAINED_DIR
from museforge.training import TrainConfig, delete_model, export_model, resume_config, train
from museforge.training.registry import model_dir

#: CPU-sized recipes: small widths and 16th-note resolution so that minutes of 2-core CPU make real progress. The
#: trainer draws MuseGAN drum tracks as a bar pattern with learnt variation (model_config pattern_tracks); the
#: MuseGANs and the Bach U-Net read each window's metric grid and train on every meter their data has (meter_aware;
#: the Bach model ships its seed-1 run: docs/quality.md, "Meter, third round").
RECIPES: dict[str, dict] = {
    "bach": {
        "model": "unet",
        "resolution": 4,
        "model_config": {"base_channels": 16, "max_channels": 128, "critic_base_channels": 16, "meter_aware": True},
        # the generator's weight average ships (docs/quality.md, "The generator's weight average"); shipped with
        # --max-steps 9000, which takes 103 epochs of every meter
        "hyperparameters": {"ema": 0.999, "seed": 1, "epochs": 200},
    },
    **{
        genre: {
            "model": "musegan",
            "resolution": 4,
            "model_config": {
                "base_channels": 32,
                "critic_base_channels": 24,
                "temporal_hidden": 64,
                "meter_aware": True,
            },
            # jazz and symphony ship their generator's weight average (docs/quality.md, "Jazz: the same drums in
            # every split", "The generator's weight average")
            **({"hyperparameters": {"ema": 0.999}} if genre in ("jazz", "symphony") else {}),
        }
        for genre in ("pop", "rock", "jazz", "symphony")
    },
}
#: A last stage of a recipe: its final ``steps`` updates are trained with these hyperparameters changed (a
#: fine-tune of the run as it stands). Jazz's piano learns to voice its chords without semitone clusters in 800
#: updates; trained longer with the term its drums lose the backbeat (docs/quality.md, "Clusters in the loss").
#: The symphony (shipped with --max-steps 8000) trains its last 4,540 updates with the term: its strings and
#: woodwinds stop grinding semitones and every total of the bar improves ("A section plays the woodwinds").
FINISH: dict[str, dict] = {
    "jazz": {"steps": 800, "hyperparameters": {"clusters": 0.1}},
    "symphony": {"steps": 4540, "hyperparameters": {"clusters": 0.1}},
}
#: The other two techniques' shipped models, by ``technique/name``: Enhance's AR-CNN on the chorales, Extend's
#: melody Transformer on the melodies of every genre with a melody line of its own.
TECHNIQUE_RECIPES: dict[str, dict] = {
    "enhance/bach": {
        "model": "arcnn",
        "genre": "bach",
        "resolution": 4,
        "model_config": {"base_channels": 32, "max_channels": 128, "depth": 3},
        "hyperparameters": {"batch_size": 32, "learning_rate": 1e-3, "betas": (0.9, 0.99), "metrics_samples": 32},
    },
    "extend/melody": {
        "model": "transformer",
        "genre": "pop+jazz+bach+symphony",
        "resolution": 4,
        "model_config": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 256, "dropout": 0.1},
        "hyperparameters": {"batch_size": 32, "learning_rate": 1e-3, "betas": (0.9, 0.95), "metrics_samples": 32},
    },
}
#: Every genre trains in the common key (windows moved to C major / A minor, see museforge.music.keys): measured
#: in docs/quality.md against the earlier recipe, which transposed windows at random instead.
COMMON = {
    "learning_rate": 1e-3,
    "update_ratio": 2,
    "loss": "wgan-gp",
    "batch_size": 32,
    "epochs": 100,
    "common_key": True,
}


def hardware() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def train_and_export(
    config: TrainConfig,
    minutes: float,
    folder: Path,
    stem: str,
    earlier: float,
    command: str,
    kept: dict | None = None,
) -> tuple[float, int, Path]:
    """Train ``config`` until its step limit or ``minutes`` (a time stop saves like any stop), export it as
    ``folder/<stem>.{safetensors,json}`` and record how it was trained in the card (plus the ``kept`` entries of
    the card before, on a resume); ``(seconds, steps, weights)``."""
    stop = threading.Event()
    timer = threading.Timer(minutes * 60, stop.set)
    timer.start()
    started = time.perf_counter()
    try:
        result = train(config, progress=True, stop_event=stop)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - started + earlier
    weights, card_path = export_model(config.name, folder, stem)
    card = json.loads(card_path.read_text())
    card["name"] = stem
    card.update(kept or {})
    card["training"] = {
        "seconds": round(seconds, 1),
        "hardware": hardware(),
        "budget_minutes": round(seconds / 60),
        "steps": result.get("step"),
        "stopped_by": "time budget" if stop.is_set() else "step limit",
        "command": command,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return seconds, int(result.get("step") or 0), weights


def train_genre(genre: str, source: Path, minutes: float, max_steps: int, resume: bool = False) -> dict:
    """Train (or with ``resume``, continue training) the shipped model of ``genre`` and export it."""
    recipe = RECIPES[genre]
    name = f"pretrained-{genre}"
    earlier = 0.0
    command = f"python scripts/train_pretrained.py --source DIR --genres {genre} --minutes {minutes:g}"
    if resume:
        config = resume_config(name)
        previous = json.loads((PRETRAINED_DIR / f"{genre}.json").read_text())
        before = previous["training"]
        earlier = before["seconds"]
        command = f"{before['command']}, then --resume --minutes {minutes:g}"
        # the same model trained on: its measured decoding choices (scripts/measure_form.py) still hold
        kept = {key: previous[key] for key in ("decoding",) if key in previous}
    else:
        kept = {}
        build_dataset(genre, source, resolution=recipe["resolution"])
        if (model_dir(name) / "model.json").exists():
            delete_model(name)
        config = TrainConfig(
            name=name,
            genre=genre,
            architecture=recipe["model"],
            model_config=recipe["model_config"],
            max_steps=max_steps,
            samples_per_epoch=1,
            **{**COMMON, **recipe.get("hyperparameters", {})},
        )
    finish = FINISH.get(genre) if not resume else None
    if finish:  # the first stage stops the finish's updates short of the limit
        config.max_steps = max(1, max_steps - finish["steps"])
    seconds, steps, weights = train_and_export(config, minutes, PRETRAINED_DIR, genre, earlier, command, kept)
    if finish:
        changes = finish["hyperparameters"]
        per_epoch = int(json.loads((model_dir(name) / "model.json").read_text())["steps_per_epoch"])
        epochs = math.ceil((steps + finish["steps"]) / max(per_epoch, 1)) + 1  # the step limit stops it
        config = resume_config(name, max_steps=steps + finish["steps"], epochs=epochs, **changes)
        shown = " ".join(f"{key}={value}" for key, value in changes.items())
        command = f"{command} (its last {finish['steps']} updates with {shown})"
        seconds, steps, weights = train_and_export(config, 10**6, PRETRAINED_DIR, genre, seconds, command, kept)
    return {"genre": genre, "seconds": seconds, "steps": steps, "weights": str(weights)}


def train_technique(key: str, source: Path, minutes: float, max_steps: int, resume: bool = False) -> dict:
    """Train (or with ``resume``, continue training) the shipped model ``technique/name`` of
    :data:`TECHNIQUE_RECIPES` and export it there."""
    recipe = TECHNIQUE_RECIPES[key]
    technique, stem = key.split("/")
    name = f"pretrained-{technique}-{stem}"
    earlier = 0.0
    command = f"python scripts/train_pretrained.py --source DIR --techniques {technique} --minutes {minutes:g}"
    if resume:
        config = resume_config(name)
        before = json.loads((PRETRAINED_DIR / technique / f"{stem}.json").read_text())["training"]
        earlier = before["seconds"]
        command = f"{before['command']}, then --resume --minutes {minutes:g}"
    else:
        for genre in recipe["genre"].split("+"):
            build_dataset(genre, source, resolution=recipe["resolution"])
        if (model_dir(name) / "model.json").exists():
            delete_model(name)
        config = TrainConfig(
            name=name,
            genre=recipe["genre"],
            architecture=recipe["model"],
            model_config=recipe["model_config"],
            max_steps=max_steps,
            samples_per_epoch=1,
            epochs=100,
            common_key=True,
            **recipe["hyperparameters"],
        )
    seconds, steps, weights = train_and_export(config, minutes, PRETRAINED_DIR / technique, stem, earlier, command)
    return {"model": key, "seconds": seconds, "steps": steps, "weights": str(weights)}


def record_data_facts(genre: str) -> dict[str, dict[str, Any]]:
    """Write the kit, the line ranges, the change grids and the instruments' fit of the genre's training data
    (``data.drum_kit``, ``data.line_range``, ``data.change_grid``, ``data.instrument_fit``) into its shipped card,
    as a training run of today's code records them: for models trained before they were."""
    import torch

    from museforge.model_files import ModelCard
    from museforge.training.data import TrainingData

    card_path = PRETRAINED_DIR / f"{genre}.json"
    card = json.loads(card_path.read_text())
    parsed = ModelCard(card)
    data = TrainingData(
        genre,
        int(parsed.model_config.get("n_bars", card["data"]["n_bars"])),
        torch.device("cpu"),
        augment=False,
        common_key=parsed.common_key,
        all_meters=parsed.meter_aware,
    )
    learnt = {
        "drum_kit": data.facts.drum_kit,
        "line_range": data.facts.line_range,
        "change_grid": data.facts.change_grid,
        "instrument_fit": data.facts.instrument_fit,
    }
    card["data"].update(learnt)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return learnt


def evaluate_card(genre: str, samples: int = 1000) -> dict:
    """Evaluate the shipped model of ``genre`` on the test split's melodies and on the built-in melodies, and
    record where it stands against the shipping bar in its card."""
    from museforge.evaluate import evaluate_model, evaluate_samples

    result = evaluate_model(genre, samples=samples, split="test", seed=0)
    on_samples = evaluate_samples(genre, split="test")
    card_path = PRETRAINED_DIR / f"{genre}.json"
    card = json.loads(card_path.read_text())
    card["evaluation"] = {
        "split": "test",
        "samples": result.get("samples"),
        "tracks": result.get("tracks"),
        "tonal_distances": result.get("tonal_distances"),
        "voice_leading": result.get("voice_leading"),
        "classifier": result.get("classifier"),
        "seed_overlap": result.get("seed_overlap"),
        "meter": result.get("meter"),
        "shipping_bar": {
            "test_split": {k: result["shipping_bar"][k] for k in ("passed", "failures")},
            "built_in_samples": {k: on_samples["shipping_bar"][k] for k in ("passed", "failures")},
        },
        "command": f"museforge evaluate {genre} --samples {samples} --melodies test (and --melodies samples)",
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return {
        "genre": genre,
        "bar_test_passed": result["shipping_bar"]["passed"],
        "bar_test_failures": len(result["shipping_bar"]["failures"]),
        "bar_samples_failures": len(on_samples["shipping_bar"]["failures"]),
        "classifier": (result.get("classifier") or {}).get("accuracy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder laid out like ../shared/datasets")
    parser.add_argument("--genres", nargs="*", default=None, help="genre models (default: all, unless --techniques)")
    parser.add_argument(
        "--techniques", nargs="*", default=[], choices=("enhance", "extend"), help="Enhance / Extend models to train"
    )
    parser.add_argument("--minutes", type=float, default=8.0, help="time budget per genre")
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--evaluate-only", action="store_true", help="only (re)evaluate the shipped models")
    parser.add_argument("--resume", action="store_true", help="continue training for --minutes more")
    args = parser.parse_args()
    os.environ.setdefault("MUSEFORGE_HOME", str(Path.home() / ".museforge"))
    for key in TECHNIQUE_RECIPES:
        if key.split("/")[0] in args.techniques:
            result = train_technique(key, args.source, args.minutes, args.max_steps, args.resume)
            print(json.dumps(result), flush=True)
    genres = args.genres if args.genres is not None else ([] if args.techniques else list(RECIPES))
    for genre in genres:
        if not args.evaluate_only:
            print(json.dumps(train_genre(genre, args.source, args.minutes, args.max_steps, args.resume)), flush=True)
        elif "instrument_fit" not in json.loads((PRETRAINED_DIR / f"{genre}.json").read_text())["data"]:
            print(json.dumps({"genre": genre, **record_data_facts(genre)}), flush=True)
        print(json.dumps(evaluate_card(genre), default=str), flush=True)


if __name__ == "__main__":
    main()
