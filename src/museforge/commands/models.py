"""``museforge train`` and ``museforge models ...``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from museforge.commands.output import first, number, print_json, table
from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.training.config import TrainConfig
from museforge.training.registry import delete_model, export_model, list_models, list_shipped, request_stop, show_model


def cmd_train(args: argparse.Namespace) -> int:
    from museforge.training.trainer import resume_config, stop_signals, train

    settings = {
        "architecture": args.model,
        "genre": args.genre,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "update_ratio": args.update_ratio,
        "loss": args.loss,
        "batch_size": args.batch_size,
        "voice_leading": args.voice_leading,
        "clusters": args.clusters,
        "drum_profile": args.drum_profile,
        "ema": args.ema,
        "critic_sees": args.critic_sees,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "device": args.device,
        "size": args.size,
    }
    given = {key: value for key, value in settings.items() if value is not None}
    if args.no_common_key:
        given["common_key"] = False
    given["distributed"] = args.distributed  # how this process was started, never taken from the card
    if args.resume:
        config = resume_config(args.name, **given)
    else:
        if args.genre is None:
            raise MuseforgeError("--genre is required for a new model")
        config = TrainConfig(name=args.name, **given)
    config.validate()  # settings and launch errors come before the estimate, as the only line printed
    if config.distributed:
        from museforge.training.distributed import launch_environment

        launch_environment()
    if not args.json and os.environ.get("RANK", "0") == "0":
        from museforge.training.estimate import describe_estimate

        print(describe_estimate(config), file=sys.stderr, flush=True)
    with stop_signals() as stop:
        result = train(config, progress=not args.json, stop_event=stop)
    if args.distributed and os.environ.get("RANK", "0") != "0":  # process 0 reports for all
        return 0 if result["status"] in ("completed", "stopped") else 1
    if args.json:
        print_json(result)
    else:
        if result.get("loss") is not None:
            losses = f"loss {number(result.get('loss'))}, validation loss {number(result.get('validation_loss'))}"
        else:
            losses = (
                f"generator loss {number(result.get('generator_loss'))}, "
                f"discriminator loss {number(result.get('discriminator_loss'))}"
            )
        print(f"model {result['name']}: {result['status']} {progress_words(result)}; {losses}")
        print(f"files in {result['path']}")
    return 0 if result["status"] in ("completed", "stopped") else 1


def progress_words(result: dict[str, Any]) -> str:
    """Where a run ended, truthfully: whole epochs, and the steps of an epoch it stopped inside."""
    step, epochs_done = int(result.get("step") or 0), int(result.get("epochs_done") or 0)
    per_epoch = int(result.get("steps_per_epoch") or 0)
    epochs = f"{epochs_done} whole epoch{'s' if epochs_done != 1 else ''}"
    inside = step - epochs_done * per_epoch if per_epoch else 0
    if inside > 0:
        epochs += f" and {inside} of the {per_epoch} steps of epoch {epochs_done + 1}"
    return f"at step {step} ({epochs})"


def cmd_models_list(args: argparse.Namespace) -> int:

    models, shipped = list_models(), list_shipped()
    if args.json:
        print_json({"models": models, "pretrained": shipped})
        return 0
    rows = [
        [
            m["name"],
            m.get("architecture") or "-",
            m.get("genre") or "-",
            m["status"],
            m.get("epochs_done", "-"),
            number(first(m.get("generator_loss"), m.get("loss"))),
            number(first(m.get("discriminator_loss"), m.get("validation_loss"))),
        ]
        for m in models
    ]
    rows += [[m["name"], m["architecture"], m["genre"], m["status"], m["epochs_done"], "-", "-"] for m in shipped]
    if not rows:
        print("no models yet: train one with `museforge train --genre bach --model unet --name mybach`")
        return 0
    print(table(rows, ["name", "architecture", "genre", "status", "epochs", "G loss / loss", "D loss / valid"]))
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:

    model = show_model(args.name)
    if args.json:
        print_json(model)
        return 0
    gan = model.get("architecture") in ("musegan", "unet")
    losses = ("generator_loss", "discriminator_loss") if gan else ("loss", "validation_loss")
    for key in ("name", "architecture", "genre", "status", "epochs_done", "step"):
        print(f"{key:20} {model.get(key) if model.get(key) is not None else '-'}")
    for key in losses:
        print(f"{key:20} {number(model.get(key))}")
    if gan:
        card = ModelCard.of(model)
        seen = ", ".join(f"{meter} ({windows} windows)" for meter, windows in card.meters.items())
        print(f"{'meters':20} {seen}" + ("" if card.meter_aware else f" (plays {card.beats_per_bar}-beat bars)"))
    print("hyperparameters")
    for key, value in sorted(model.get("hyperparameters", {}).items()):
        print(f"  {key:18} {number(value) if isinstance(value, float) else value}")
    metrics = model.get("metrics") or {}
    generated, real = metrics.get("generated"), metrics.get("training_data")
    if isinstance(generated, dict):
        print("music metrics of the last epoch (generated / training data)")
        for role, values in generated.items():
            if not isinstance(values, dict):
                continue
            reference = (real or {}).get(role) or {}
            cells = [
                f"{key} {number(value)}" + (f" / {number(reference[key])}" if key in reference else "")
                for key, value in values.items()
                if value is not None
            ]
            print(f"  {role:18} " + ", ".join(cells))
    return 0


def cmd_models_stop(args: argparse.Namespace) -> int:

    request_stop(args.name)
    print(f"asked model {args.name} to stop: it stops after its current step and saves a checkpoint")
    return 0


def cmd_models_delete(args: argparse.Namespace) -> int:

    delete_model(args.name)
    print(f"deleted model {args.name}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:

    weights, card = export_model(args.name, Path(args.directory), args.stem)
    print(f"wrote {weights} and {card}")
    return 0
