"""``museforge train`` and ``museforge models ...``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from museforge.commands.output import first, number, print_json, table
from museforge.errors import MuseforgeError


def cmd_train(args: argparse.Namespace) -> int:
    from museforge.training import TrainConfig, resume_config, stop_signals, train

    settings = {
        "model": args.model,
        "genre": args.genre,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "update_ratio": args.update_ratio,
        "loss": args.loss,
        "batch_size": args.batch_size,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "device": args.device,
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
        print(f"model {result['name']}: {result['status']} after {result['epochs_done']} epochs; {losses}")
        print(f"files in {result['path']}")
    return 0 if result["status"] in ("completed", "stopped") else 1


def cmd_models_list(args: argparse.Namespace) -> int:
    from museforge.pretrained import TECHNIQUES, list_pretrained, list_technique_models
    from museforge.training import list_models

    models = list_models()
    shipped = [
        {
            "name": c["genre"],
            "architecture": c.get("architecture"),
            "genre": c.get("genre"),
            "status": "shipped",
            "epochs_done": c.get("epochs_done"),
        }
        for c in list_pretrained()
    ]
    shipped += [
        {
            "name": c["name"],
            "architecture": c.get("architecture"),
            "genre": c.get("genre"),
            "status": f"shipped ({technique})",
            "epochs_done": c.get("epochs_done"),
            "technique": technique,
        }
        for technique in TECHNIQUES
        for c in list_technique_models(technique)
    ]
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
    from museforge.training import show_model

    model = show_model(args.name)
    if args.json:
        print_json(model)
        return 0
    gan = model.get("architecture") in ("musegan", "unet")
    losses = ("generator_loss", "discriminator_loss") if gan else ("loss", "validation_loss")
    for key in ("name", "architecture", "genre", "status", "epochs_done", *losses):
        print(f"{key:20} {model.get(key)}")
    for key, value in sorted(model.get("hyperparameters", {}).items()):
        print(f"  {key:18} {value}")
    metrics = model.get("metrics") or {}
    for role, values in metrics.items():
        if isinstance(values, dict):
            print(f"  {role:18} " + ", ".join(f"{k} {number(v)}" for k, v in values.items()))
    return 0


def cmd_models_stop(args: argparse.Namespace) -> int:
    from museforge.training import request_stop

    request_stop(args.name)
    print(f"asked model {args.name} to stop; it saves a checkpoint first")
    return 0


def cmd_models_delete(args: argparse.Namespace) -> int:
    from museforge.training import delete_model

    delete_model(args.name)
    print(f"deleted model {args.name}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    from museforge.training import export_model

    weights, card = export_model(args.name, Path(args.directory), args.stem)
    print(f"wrote {weights} and {card}")
    return 0
