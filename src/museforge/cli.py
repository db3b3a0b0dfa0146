"""The ``museforge`` command line: a thin layer over the library (no logic of its own).

Every command turns a :class:`~museforge.errors.MuseforgeError` into one line on stderr and exit code 2.
Heavy modules (torch) are imported inside the commands that need them, so ``museforge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError

Handler = Callable[[argparse.Namespace], int]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain text table with columns padded to their widest cell."""
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- datasets
def cmd_datasets_list(args: argparse.Namespace) -> int:
    from museforge.datasets.cache import dataset_status
    from museforge.datasets.sources import GENRES, get_genre

    report = []
    for genre in GENRES:
        spec = get_genre(genre)
        status = dataset_status(genre)
        report.append(
            {
                "genre": genre,
                "architecture": spec.architecture,
                "sources": [
                    {"id": s.id, "title": s.title, "repository": s.repository, "commit": s.commit, "licence": s.licence}
                    for s in spec.sources
                ],
                "built": status is not None,
                "dataset": status,
            }
        )
    if args.json:
        _print_json(report)
        return 0
    for entry in report:
        status = entry["dataset"]
        if status:
            splits = status.get("splits", {})
            counts = " / ".join(str(splits.get(s, {}).get("windows", 0)) for s in ("train", "valid", "test"))
            songs = " / ".join(str(splits.get(s, {}).get("songs", 0)) for s in ("train", "valid", "test"))
            roles = ", ".join(t["role"] for t in status.get("tracks", []))
            built = f"built: {counts} windows from {songs} songs (train / valid / test); tracks: {roles}"
        else:
            built = f"not built: museforge datasets build {entry['genre']} --source DIR"
        print(f"{entry['genre']} ({entry['architecture']}) {built}")
        for source in entry["sources"]:
            print(f"  {source['title']}: {source['repository']} @ {source['commit'][:10]}")
            print(f"    licence: {source['licence']}")
    return 0


def cmd_datasets_build(args: argparse.Namespace) -> int:
    from museforge.datasets.build import build_dataset

    source = Path(args.source) if args.source else None
    if source is not None and not source.is_dir():
        raise MuseforgeError(f"--source {source}: no such folder")
    manifest = build_dataset(
        args.genre,
        source,
        resolution=args.resolution,
        n_bars=args.bars,
        limit=args.limit,
        progress=not args.json,
    )
    if args.json:
        _print_json(manifest)
        return 0
    splits = manifest["splits"]
    rows = [[s, splits[s]["songs"], splits[s]["windows"]] for s in ("train", "valid", "test")]
    tracks = ", ".join(t["role"] for t in manifest["tracks"])
    print(f"built {args.genre}: {manifest['n_bars']} bars x {manifest['steps_per_bar']} steps, tracks: {tracks}")
    print(_table(rows, ["split", "songs", "windows"]))
    if manifest.get("skipped"):
        print("skipped: " + ", ".join(f"{reason} ({n})" for reason, n in manifest["skipped"].items()))
    print(f"in {manifest.get('build_seconds', 0):.1f} s")
    return 0


def cmd_datasets_download(args: argparse.Namespace) -> int:
    from museforge.datasets.download import download_genre

    folder = download_genre(args.genre, base_url_override=args.mirror)
    print(f"downloaded {args.genre} to {folder}")
    print(f"build it with: museforge datasets build {args.genre} --source {folder}")
    return 0


# ---------------------------------------------------------------------------------------------------- melodies
def cmd_melodies_list(args: argparse.Namespace) -> int:
    from museforge.music.melodies import list_melodies

    melodies = list_melodies()
    if args.json:
        _print_json(
            [
                {
                    "name": m.name,
                    "title": m.title,
                    "composer": m.composer,
                    "bars": m.n_bars,
                    "tempo": m.tempo,
                    "time_signature": list(m.time_signature),
                    "key": m.key,
                    "notes": len(m.notes),
                }
                for m in melodies
            ]
        )
        return 0
    rows = [
        [m.name, m.title, m.composer, m.n_bars, f"{m.tempo:g}", "/".join(map(str, m.time_signature))] for m in melodies
    ]
    print(_table(rows, ["name", "title", "composer", "bars", "bpm", "meter"]))
    return 0


# ---------------------------------------------------------------------------------------------------- training
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
        _print_json(result)
    else:
        if result.get("loss") is not None:
            losses = f"loss {_number(result.get('loss'))}, validation loss {_number(result.get('validation_loss'))}"
        else:
            losses = (
                f"generator loss {_number(result.get('generator_loss'))}, "
                f"discriminator loss {_number(result.get('discriminator_loss'))}"
            )
        print(f"model {result['name']}: {result['status']} after {result['epochs_done']} epochs; {losses}")
        print(f"files in {result['path']}")
    return 0 if result["status"] in ("completed", "stopped") else 1


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


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
        _print_json({"models": models, "pretrained": shipped})
        return 0
    rows = [
        [
            m["name"],
            m.get("architecture") or "-",
            m.get("genre") or "-",
            m["status"],
            m.get("epochs_done", "-"),
            _number(_first(m.get("generator_loss"), m.get("loss"))),
            _number(_first(m.get("discriminator_loss"), m.get("validation_loss"))),
        ]
        for m in models
    ]
    rows += [[m["name"], m["architecture"], m["genre"], m["status"], m["epochs_done"], "-", "-"] for m in shipped]
    if not rows:
        print("no models yet: train one with `museforge train --genre bach --model unet --name mybach`")
        return 0
    print(_table(rows, ["name", "architecture", "genre", "status", "epochs", "G loss / loss", "D loss / valid"]))
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    from museforge.training import show_model

    model = show_model(args.name)
    if args.json:
        _print_json(model)
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
            print(f"  {role:18} " + ", ".join(f"{k} {_number(v)}" for k, v in values.items()))
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


# ---------------------------------------------------------------------------------------------------- compose
def cmd_compose(args: argparse.Namespace) -> int:
    from museforge.compose import compose

    model = args.model or args.genre
    result = compose(
        _melody_argument(args.melody),
        model,
        out_midi=Path(args.out),
        wav=Path(args.wav) if args.wav else None,
        png=Path(args.png) if args.png else None,
        seed=args.seed,
        sampling=args.sampling,
        rewrite=args.rewrite,
    )
    _record(result, args.melody)
    summary = result.summary
    if args.json:
        _print_json(summary)
        return 0
    rows = [[t["name"], t["role"], t["program"], "yes" if t["is_drum"] else "", t["notes"]] for t in summary["tracks"]]
    print(
        f"{summary['bars']} bars of {summary['meter']} at {summary['tempo']:.0f} bpm, model {summary['model']}, "
        f"seed {summary['seed']}"
    )
    if summary.get("meter_note"):
        print(f"note: {summary['meter_note']}")
    print(_table(rows, ["track", "role", "program", "drums", "notes"]))
    _print_files(summary)
    return 0


def _record(result: Any, melody: str) -> None:
    """Index a CLI composition, enhancement or extension in the store: the studio lists it too."""
    from museforge.store import Store

    Store().record_composition(result, melody=melody, source="cli")


def _melody_argument(text: str) -> str | Path:
    return Path(text) if Path(text).suffix.lower() in (".mid", ".midi") else text


def _print_files(summary: dict[str, Any]) -> None:
    for kind in ("midi", "wav", "png"):
        if summary.get(kind):
            print(f"wrote {summary[kind]}")


def _bar_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise MuseforgeError(f"--bars takes a bar or a range of bars, like 3 or 3-4; got {text!r}") from None


def cmd_enhance(args: argparse.Namespace) -> int:
    from museforge.enhance import enhance

    result = enhance(
        _melody_argument(args.melody),
        args.model,
        out_midi=Path(args.out),
        wav=Path(args.wav) if args.wav else None,
        png=Path(args.png) if args.png else None,
        seed=args.seed,
        iterations=args.iterations,
        max_add=args.max_add / 100.0,
        max_remove=args.max_remove / 100.0,
        temperature=args.temperature,
        tracks=args.tracks.split(",") if args.tracks else None,
        bars=_bar_range(args.bars),
    )
    _record(result, args.melody)
    summary = result.summary
    if args.json:
        _print_json(summary)
        return 0
    print(
        f"{summary['bars']} bars of {summary['meter']}, model {summary['model']}, seed {summary['seed']}: rewrote "
        f"{', '.join(summary['rewritten_tracks'])} in {summary['iterations']} iterations, "
        f"{summary['notes_added']} notes added, {summary['notes_removed']} removed"
    )
    rows = [[t["name"], t["role"], t["notes"]] for t in summary["tracks"]]
    print(_table(rows, ["track", "role", "notes"]))
    _print_files(summary)
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from museforge.extend import extend

    controls = {"temperature": args.temperature, "top_k": args.top_k}
    result = extend(
        _melody_argument(args.melody),
        args.model,
        out_midi=Path(args.out),
        bars=args.bars,
        wav=Path(args.wav) if args.wav else None,
        png=Path(args.png) if args.png else None,
        seed=args.seed,
        **{key: value for key, value in controls.items() if value is not None},
    )
    _record(result, args.melody)
    summary = result.summary
    if args.json:
        _print_json(summary)
        return 0
    print(
        f"{summary['bars_in']} bars of {summary['meter']} + {summary['bars_added']} new bars "
        f"({summary['notes_added']} notes), model {summary['model']}, seed {summary['seed']}"
    )
    _print_files(summary)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from museforge.demo import run_demo

    rows = run_demo(Path(args.out), seed=args.seed, audio=not args.no_audio)
    table = [
        [
            r["genre"],
            r["melody"],
            r["bars"],
            ", ".join(f"{t['role']} {t['notes']}" for t in r["tracks"][1:]),
            " ".join(Path(r[k]).name for k in ("midi", "wav", "png") if r.get(k)),
        ]
        for r in rows
    ]
    print(_table(table, ["genre", "melody", "bars", "accompaniment (notes per track)", "files"]))
    print(f"in {args.out}/")
    return 0


# ---------------------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from museforge.evaluate import evaluate_data, evaluate_model, evaluate_samples, format_evaluation

    chosen = [x for x in (args.name, args.data, args.results) if x]
    if len(chosen) != 1:
        raise MuseforgeError("give exactly one of NAME, --data GENRE or --results FILE.md")
    if args.results:
        from museforge.report import write_results_markdown

        rows = write_results_markdown(Path(args.results), samples=args.samples, seed=args.seed)
        print(f"wrote {args.results} ({len(rows)} models)")
        return 0
    if args.data:
        result = evaluate_data(args.data, args.split)
    elif args.melodies == "samples":
        result = evaluate_samples(args.name)
    else:
        result = evaluate_model(
            args.name,
            samples=args.samples,
            split=args.melodies,
            seed=args.seed,
            classifier=not args.no_classifier,
            plot=Path(args.plot) if args.plot else None,
        )
    print(json.dumps(result, indent=2) if args.json else format_evaluation(result))
    return 0


# ---------------------------------------------------------------------------------------------------- serve
def cmd_serve(args: argparse.Namespace) -> int:
    from museforge.server import serve

    serve(args.host, args.port, Path(args.data_dir) if args.data_dir else None)
    return 0


# ---------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="museforge",
        description="Train GANs on music of a genre and let them write accompaniment for your melodies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    datasets = commands.add_parser("datasets", help="list, build and download the genre training datasets")
    datasets_commands = datasets.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    listing = datasets_commands.add_parser("list", help="every genre, its sources and licences, and what is built")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_datasets_list)
    build = datasets_commands.add_parser("build", help="turn a genre's source into training windows")
    build.add_argument("genre")
    build.add_argument(
        "--source",
        metavar="DIR",
        help="folder laid out like ../shared/datasets (default: bach from "
        "the music21 corpus; other genres: the downloaded copy)",
    )
    build.add_argument("--resolution", type=_positive_int, help="steps per beat (default 4 for bach, 12 otherwise)")
    build.add_argument("--bars", type=_positive_int, default=4, help="bars per window (default 4)")
    build.add_argument("--limit", type=_positive_int, help="read at most this many songs")
    build.add_argument("--json", action="store_true", help="print the manifest as JSON")
    build.set_defaults(handler=cmd_datasets_build)
    download = datasets_commands.add_parser("download", help="fetch a genre's public source, checksums verified")
    download.add_argument("genre")
    download.add_argument("--mirror", metavar="URL", help="base URL replacing https://raw.githubusercontent.com")
    download.set_defaults(handler=cmd_datasets_download)

    melodies = commands.add_parser("melodies", help="the built-in sample melodies")
    melodies_commands = melodies.add_subparsers(dest="melodies_command", required=True, metavar="ACTION")
    melodies_list = melodies_commands.add_parser("list", help="list the sample melodies")
    melodies_list.add_argument("--json", action="store_true", help="print JSON")
    melodies_list.set_defaults(handler=cmd_melodies_list)

    train = commands.add_parser(
        "train",
        help="train a model on a genre's dataset: a GAN (compose), the AR-CNN (enhance), the Transformer (extend)",
    )
    train.add_argument(
        "--model",
        choices=("musegan", "unet", "arcnn", "transformer"),
        help="architecture (default musegan): arcnn for enhance, transformer for extend",
    )
    train.add_argument(
        "--genre", help="training dataset: bach, pop, rock, jazz or symphony (transformer: several as pop+jazz)"
    )
    train.add_argument("--name", required=True, help="the model's name (letters, digits, - and _)")
    train.add_argument("--epochs", type=int, help="passes over the training data (default 10)")
    train.add_argument("--learning-rate", type=float, help="Adam learning rate of both networks (default 0.001)")
    train.add_argument("--update-ratio", type=int, help="GANs: critic updates per generator update (default 5)")
    train.add_argument("--loss", choices=("wgan-gp", "hinge", "nonsaturating", "lsgan"), help="GANs: default wgan-gp")
    train.add_argument("--batch-size", type=int, help="windows per batch (default 64)")
    train.add_argument("--max-steps", type=int, help="stop after this many generator updates")
    train.add_argument("--seed", type=int, help="seed of everything random (default 0)")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    train.add_argument("--resume", action="store_true", help="continue the model NAME from its last checkpoint")
    train.add_argument(
        "--no-common-key",
        action="store_true",
        help="train on windows in their own keys, moved to random keys, instead of the melody's scale moved to C "
        "(the default: see docs/quality.md)",
    )
    train.add_argument(
        "--distributed",
        action="store_true",
        help="one of several processes started by torchrun (DDP; --batch-size is per process): see docs/distributed.md",
    )
    train.add_argument("--json", action="store_true", help="print the final summary as JSON")
    train.set_defaults(handler=cmd_train)

    models = commands.add_parser("models", help="list, show, stop, delete and export trained models")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    models_list = models_commands.add_parser("list", help="every model with its status and last losses")
    models_list.add_argument("--json", action="store_true", help="print JSON")
    models_list.set_defaults(handler=cmd_models_list)
    models_show = models_commands.add_parser("show", help="one model: hyperparameters, status, losses, metrics")
    models_show.add_argument("name")
    models_show.add_argument("--json", action="store_true", help="print JSON")
    models_show.set_defaults(handler=cmd_models_show)
    models_stop = models_commands.add_parser("stop", help="ask a training run to save and stop")
    models_stop.add_argument("name")
    models_stop.set_defaults(handler=cmd_models_stop)
    models_delete = models_commands.add_parser("delete", help="delete a model and its files")
    models_delete.add_argument("name")
    models_delete.set_defaults(handler=cmd_models_delete)
    models_export = models_commands.add_parser("export", help="write a model as a shippable weights + card pair")
    models_export.add_argument("name")
    models_export.add_argument("directory")
    models_export.add_argument("--stem", help="file name stem (default: the genre)")
    models_export.set_defaults(handler=cmd_models_export)

    compose = commands.add_parser("compose", help="write accompaniment for a melody with a genre model")
    compose.add_argument("--melody", required=True, help="a sample name (museforge melodies list) or a MIDI file")
    which = compose.add_mutually_exclusive_group(required=True)
    which.add_argument("--genre", help="use the shipped model of this genre")
    which.add_argument("--model", help="use this trained model (or a genre's shipped model)")
    compose.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    compose.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    compose.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    compose.add_argument("--seed", type=int, help="make the result reproducible")
    compose.add_argument(
        "--sampling",
        choices=("threshold", "bernoulli"),
        default="threshold",
        help="the most likely notes (default), or notes drawn with their probabilities for more variety",
    )
    compose.add_argument(
        "--rewrite",
        type=int,
        default=0,
        metavar="ITERATIONS",
        help="then revise the accompaniment with the genre's Enhance model (bach) in this many iterations, e.g. 32",
    )
    compose.add_argument("--json", action="store_true", help="print a JSON summary")
    compose.set_defaults(handler=cmd_compose)

    enhance = commands.add_parser(
        "enhance", help="rewrite notes with the AR-CNN: harmonise a melody, or redo tracks or bars of a composition"
    )
    enhance.add_argument("--melody", required=True, help="a sample name, a melody MIDI file or a composition MIDI file")
    enhance.add_argument("--model", default="bach", help="a shipped enhance model (bach) or a trained arcnn model")
    enhance.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    enhance.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    enhance.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    enhance.add_argument("--iterations", type=int, default=32, help="sampling iterations (default 32)")
    enhance.add_argument(
        "--max-add", type=float, default=400.0, metavar="PERCENT", help="most notes added, %% of the input's (400)"
    )
    enhance.add_argument(
        "--max-remove", type=float, default=50.0, metavar="PERCENT", help="most input notes removed, in %% (50)"
    )
    enhance.add_argument("--temperature", type=float, default=1.0, help="creative risk (default 1; higher: bolder)")
    enhance.add_argument("--tracks", help="comma-separated roles to rewrite (default: the accompaniment; or melody)")
    enhance.add_argument("--bars", metavar="N[-M]", help="rewrite only these bars (1-based, inclusive)")
    enhance.add_argument("--seed", type=int, help="make the result reproducible")
    enhance.add_argument("--json", action="store_true", help="print a JSON summary")
    enhance.set_defaults(handler=cmd_enhance)

    extend = commands.add_parser("extend", help="continue a melody for some bars with the melody Transformer")
    extend.add_argument("--melody", required=True, help="a sample name or a MIDI file")
    extend.add_argument("--model", default="melody", help="a shipped extend model (melody) or a trained transformer")
    extend.add_argument("--bars", type=int, default=8, help="bars to add (default 8)")
    extend.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    extend.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    extend.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    extend.add_argument("--temperature", type=float, help="creative risk (default 0.9; higher: bolder)")
    extend.add_argument("--top-k", type=int, help="draw among the k likeliest tokens (default 20; 0: all)")
    extend.add_argument("--seed", type=int, help="make the result reproducible")
    extend.add_argument("--json", action="store_true", help="print a JSON summary")
    extend.set_defaults(handler=cmd_extend)

    demo = commands.add_parser("demo", help="compose a sample melody with every shipped genre model")
    demo.add_argument("--out", default="out", metavar="DIR", help="folder for the MIDI, WAV and PNG files")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--no-audio", action="store_true", help="skip the WAV files")
    demo.set_defaults(handler=cmd_demo)

    evaluate = commands.add_parser(
        "evaluate", help="compare a model's music with real music: metrics, classifier, plot"
    )
    evaluate.add_argument("name", nargs="?", help="a trained model's name or a genre with a shipped model")
    evaluate.add_argument("--samples", type=_positive_int, default=1000, help="generated windows (default 1000)")
    evaluate.add_argument(
        "--melodies",
        choices=("valid", "test", "samples"),
        default="valid",
        help="held-out melodies of a split, or the built-in samples (against the test split's real music)",
    )
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--no-classifier", action="store_true", help="skip the real-vs-generated classifier")
    evaluate.add_argument("--plot", metavar="PNG", help="write metric bars and loss curves to this PNG")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.add_argument("--data", metavar="GENRE", help="metrics of a built dataset (the reference row)")
    evaluate.add_argument("--split", choices=("train", "valid", "test"), default="train", help="with --data")
    evaluate.add_argument("--results", metavar="MD", help="evaluate every shipped model and write this markdown")
    evaluate.set_defaults(handler=cmd_evaluate)

    serve = commands.add_parser("serve", help="run the web studio and REST API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", metavar="DIR", help="data home (default $MUSEFORGE_HOME or ~/.museforge)")
    serve.set_defaults(handler=cmd_serve)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MuseforgeError as error:
        print(f"museforge: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("museforge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` or similar: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        print(
            f"museforge: internal error: {type(error).__name__}: {error} (set MUSEFORGE_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
