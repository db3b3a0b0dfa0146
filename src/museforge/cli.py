"""The ``museforge`` command line: the argument parser and the entry point; the commands are in
:mod:`museforge.commands` (a thin layer over the library, no logic of its own).

Every command turns a :class:`~museforge.errors.MuseforgeError` into one line on stderr and exit code 2.
Heavy modules (torch) are imported inside the commands that need them, so ``museforge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from museforge import __version__
from museforge.commands.data import cmd_datasets_build, cmd_datasets_download, cmd_datasets_list, cmd_melodies_list
from museforge.commands.models import (
    cmd_models_delete,
    cmd_models_export,
    cmd_models_list,
    cmd_models_show,
    cmd_models_stop,
    cmd_train,
)
from museforge.commands.music import (
    cmd_compose,
    cmd_demo,
    cmd_enhance,
    cmd_evaluate,
    cmd_extend,
    cmd_jam,
    cmd_regenerate,
    cmd_serve,
)
from museforge.errors import MuseforgeError
from museforge.pipelines.work import work_limits
from museforge.sampling import PARALLELS
from museforge.training.config import CRITIC_INPUTS

Handler = Callable[[argparse.Namespace], int]
#: Genres, for suggestions (the library checks them; these only help a mistyped one).
GENRE_NAMES = ("bach", "pop", "rock", "jazz", "symphony")
#: Largest seed of a composition (the REST API's limit) and of a training run.
COMPOSE_SEED_MAX = 2**32 - 1
TRAIN_SEED_MAX = 2**31 - 1


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line plus a suggestion (``did you mean --seed?``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        if "invalid choice:" in message:
            wrong = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'\"")
            choices = message.split("choose from", 1)[1] if "choose from" in message else ""
            options = [c.strip(" '\")") for c in choices.split(",")]
            close = difflib.get_close_matches(wrong, options, n=1)
            if close:
                message = f"{message}; did you mean {close[0]!r}?"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def unknown(self, extras: list[str]) -> NoReturn:
        """Refuse arguments no option takes, suggesting the closest option for each mistyped flag."""
        options = [o for action in self._actions for o in action.option_strings]
        hints = []
        for extra in extras:
            flag = extra.split("=", 1)[0]
            close = difflib.get_close_matches(flag, options, n=1, cutoff=0.6) if flag.startswith("-") else []
            hints.append(f"{extra} (did you mean {close[0]}?)" if close else extra)
        self.error(f"unrecognized arguments: {' '.join(hints)}")


# ---------------------------------------------------------------------------------------------------- parser
def _add_parallels(command: argparse.ArgumentParser) -> None:
    """``--parallels``: what a chorale's voices may do about consecutive fifths and octaves."""
    command.add_argument(
        "--parallels",
        choices=PARALLELS,
        help="consecutive fifths and octaves between single lines and the melody: forbid (the default in chorales) "
        "or allow",
    )


def build_parser() -> Parser:

    parser = Parser(
        prog="museforge",
        description="Train GANs on music of a genre and let them write accompaniment for your melodies.",
    )
    parser.add_argument("--version", action="version", version=f"museforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    datasets = commands.add_parser("datasets", help="list, build and download the genre training datasets")
    datasets_commands = datasets.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    listing = datasets_commands.add_parser("list", help="every genre, its sources and licences, and what is built")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_datasets_list)
    build = datasets_commands.add_parser("build", help="turn a genre's source into training windows")
    build.add_argument("genre", type=_genre)
    build.add_argument(
        "--source",
        metavar="DIR",
        help="folder laid out like ../shared/datasets (default: bach from "
        "the music21 corpus; other genres: the downloaded copy)",
    )
    build.add_argument(
        "--resolution", type=_positive_int, help="steps per beat (default: what the genre's models need, 4)"
    )
    build.add_argument("--bars", type=_positive_int, default=4, help="bars per window (default 4)")
    build.add_argument("--limit", type=_positive_int, help="read at most this many songs")
    build.add_argument("--json", action="store_true", help="print the manifest as JSON")
    build.set_defaults(handler=cmd_datasets_build)
    download = datasets_commands.add_parser("download", help="fetch a genre's public source, checksums verified")
    download.add_argument("genre", type=_genre)
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
        "--genre",
        type=_genre,
        help="training dataset: bach, pop, rock, jazz or symphony (transformer: several as pop+jazz)",
    )
    train.add_argument(
        "--size",
        type=str.lower,
        choices=("small", "medium", "large"),
        help="model size: small (the shipped models' recipe, minutes on a CPU; the default on a CPU), medium "
        "(the default on a GPU), large (the references' sizes: hours on a CPU)",
    )
    train.add_argument("--name", required=True, help="the model's name (letters, digits, - and _)")
    train.add_argument("--epochs", type=int, help="passes over the training data (default 10)")
    train.add_argument("--learning-rate", type=float, help="Adam learning rate of both networks (default 0.001)")
    train.add_argument("--update-ratio", type=int, help="GANs: critic updates per generator update (default 5)")
    train.add_argument("--loss", choices=("wgan-gp", "hinge", "nonsaturating", "lsgan"), help="GANs: default wgan-gp")
    train.add_argument("--batch-size", type=int, help="windows per batch (default 64)")
    train.add_argument(
        "--voice-leading",
        type=float,
        help="GANs writing four voices (bach): weight of a term in the generator's loss against parallel fifths "
        "and octaves (default 0: none)",
    )
    train.add_argument(
        "--clusters",
        type=float,
        help="GANs: weight of a term in the generator's loss against semitone clusters (neighbouring keys sounding "
        "together) in its pitched tracks (default 0: none)",
    )
    train.add_argument(
        "--drum-profile", type=float, help="GANs with drums: weight of a loss term toward where real drums hit"
    )
    train.add_argument(
        "--ema",
        type=float,
        help="GANs: compose with an exponential moving average of the generator's weights of this decay, e.g. "
        "0.999 (default 0: the last weights)",
    )
    train.add_argument(
        "--critic-sees",
        choices=CRITIC_INPUTS,
        help="GANs: show the critic the generator's probabilities (the default) or the notes they decode to",
    )
    train.add_argument("--max-steps", type=int, help="stop after this many generator updates")
    train.add_argument("--seed", type=_seed(TRAIN_SEED_MAX), help="seed of everything random (default 0)")
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
    _add_piece(compose)
    compose.add_argument("--musicxml", metavar="FILE.musicxml", help="also write sheet music (MusicXML)")
    _add_controls(compose)
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
    compose.add_argument(
        "--variation",
        type=float,
        metavar="0-1",
        help="where the melody repeats: 0 repeats the accompaniment note for note, 1 writes it afresh "
        "(default: the model's, measured on its genre's real songs)",
    )
    _add_parallels(compose)
    compose.add_argument(
        "--keep-tracks",
        action="store_true",
        help="keep the melody file's other tracks (chords, bass...) in the output as they are; the model reads the "
        "melody alone and writes its own accompaniment",
    )
    compose.add_argument("--json", action="store_true", help="print a JSON summary")
    compose.set_defaults(handler=cmd_compose)

    jam = commands.add_parser(
        "jam", help="play a melody through a genre model bar by bar, as the studio's jam mode plays along live"
    )
    _add_piece(jam)
    _add_controls(jam)
    jam.add_argument("--variation", type=float, metavar="0-1", help="as compose's (default: the model's)")
    jam.add_argument(
        "--guess",
        choices=("form", "last", "rest"),
        default="form",
        help="how the coming bar's melody is guessed: from the tune's form (default), the last bar again, or silence",
    )
    jam.add_argument("--json", action="store_true", help="print a JSON summary")
    jam.set_defaults(handler=cmd_jam)

    regenerate = commands.add_parser(
        "regenerate", help="generate some tracks or bars of a composition again, keeping every other note"
    )
    regenerate.add_argument("previous", metavar="PREVIOUS.mid", help="a composition written by museforge compose")
    which = regenerate.add_mutually_exclusive_group()
    which.add_argument(
        "--genre", type=_genre, help="the shipped model of this genre that composed it (default: the file says)"
    )
    which.add_argument(
        "--model", help="the model that composed it (a trained model or a genre; default: the one the file names)"
    )
    regenerate.add_argument("--tracks", help="comma-separated roles to generate again (default: all)")
    regenerate.add_argument("--bars", metavar="N[-M]", help="generate only these bars again (1-based, inclusive)")
    regenerate.add_argument(
        "--previous-seed",
        type=_seed(COMPOSE_SEED_MAX),
        help="the seed PREVIOUS was composed with (default: the file says): MuseGAN keeps its shared ideas and "
        "redraws only what changes",
    )
    regenerate.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), help="make the result reproducible")
    regenerate.add_argument(
        "--with-repeats",
        action="store_true",
        help="with --bars: also the later bars whose melody repeats them (they follow the new bars)",
    )
    regenerate.add_argument(
        "--variation",
        type=float,
        metavar="0-1",
        help="where the melody repeats: 0 repeats the accompaniment note for note, 1 writes it afresh",
    )
    regenerate.add_argument("--program", action="append", metavar="ROLE=N", help="GM program of a track (0-127)")
    regenerate.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    regenerate.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    regenerate.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    regenerate.add_argument("--musicxml", metavar="FILE.musicxml", help="also write sheet music (MusicXML)")
    regenerate.add_argument("--json", action="store_true", help="print a JSON summary")
    regenerate.set_defaults(handler=cmd_regenerate)

    enhance = commands.add_parser(
        "enhance", help="rewrite notes with the AR-CNN: harmonise a melody, or redo tracks or bars of a composition"
    )
    enhance.add_argument("--melody", required=True, help="a sample name, a melody MIDI file or a composition MIDI file")
    enhance.add_argument(
        "--model", type=_own("enhance"), default="bach", help="a shipped enhance model (bach) or a trained arcnn model"
    )
    enhance.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    enhance.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    enhance.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    enhance.add_argument("--musicxml", metavar="FILE.musicxml", help="also write sheet music (MusicXML)")
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
    enhance.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), help="make the result reproducible")
    enhance.add_argument("--melody-track", metavar="NAME|INDEX", help=MELODY_TRACK_HELP)
    _add_parallels(enhance)
    enhance.add_argument("--json", action="store_true", help="print a JSON summary")
    enhance.set_defaults(handler=cmd_enhance)

    extend = commands.add_parser("extend", help="continue a melody for some bars with the melody Transformer")
    extend.add_argument("--melody", required=True, help="a sample name or a MIDI file")
    extend.add_argument(
        "--model", type=_own("extend"), default="melody", help="a shipped extend model (melody), a trained transformer"
    )
    extend.add_argument("--bars", type=int, default=8, help="bars to add (default 8)")
    extend.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    extend.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    extend.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    extend.add_argument("--musicxml", metavar="FILE.musicxml", help="also write sheet music (MusicXML)")
    extend.add_argument("--temperature", type=float, help="creative risk (default 0.9; higher: bolder)")
    extend.add_argument("--top-k", type=int, help="draw among the k likeliest tokens (default 20; 0: all)")
    extend.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), help="make the result reproducible")
    extend.add_argument("--melody-track", metavar="NAME|INDEX", help=MELODY_TRACK_HELP)
    extend.add_argument("--json", action="store_true", help="print a JSON summary")
    extend.set_defaults(handler=cmd_extend)

    demo = commands.add_parser("demo", help="compose a sample melody with every shipped genre model")
    demo.add_argument("--out", default="out", metavar="DIR", help="folder for the MIDI, WAV and PNG files")
    demo.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), default=1)
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
    evaluate.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), default=0)
    evaluate.add_argument("--no-classifier", action="store_true", help="skip the real-vs-generated classifier")
    evaluate.add_argument("--plot", metavar="PNG", help="write metric bars and loss curves to this PNG")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.add_argument("--data", metavar="GENRE", type=_genre, help="metrics of a built dataset (the reference row)")
    evaluate.add_argument("--split", choices=("train", "valid", "test"), default="train", help="with --data")
    evaluate.add_argument("--results", metavar="MD", help="evaluate every shipped model and write this markdown")
    evaluate.set_defaults(handler=cmd_evaluate)

    serve = commands.add_parser("serve", help="run the web studio and REST API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on, 1-65535 (default 8000)")
    serve.add_argument("--data-dir", metavar="DIR", help="data home (default $MUSEFORGE_HOME or ~/.museforge)")
    serve.set_defaults(handler=cmd_serve)
    return parser


MELODY_TRACK_HELP = "the track of a multi-track MIDI file that is the melody (default: the likeliest one)"


def _add_piece(command: argparse.ArgumentParser) -> None:
    """What a piece a GAN writes is made of and written to: the melody, the model, the files, the seed."""
    command.add_argument("--melody", required=True, help="a sample name (museforge melodies list) or a MIDI file")
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("--genre", type=_genre, help="use the shipped model of this genre")
    which.add_argument("--model", help="use this trained model (or a genre's shipped model)")
    command.add_argument("--out", required=True, metavar="FILE.mid", help="the MIDI file to write")
    command.add_argument("--wav", metavar="FILE.wav", help="also render audio")
    command.add_argument("--png", metavar="FILE.png", help="also draw the piano roll")
    command.add_argument("--seed", type=_seed(COMPOSE_SEED_MAX), help="make the result reproducible")


def _add_controls(compose: argparse.ArgumentParser) -> None:
    """The musician's controls of ``compose``."""
    compose.add_argument("--tracks", help="comma-separated accompaniment roles to generate (default: all)")
    compose.add_argument(
        "--program",
        action="append",
        metavar="ROLE=N",
        help="General MIDI program (0-127) of an accompaniment track, e.g. bass=33; repeat for several",
    )
    compose.add_argument(
        "--tempo", type=float, metavar="BPM", help="tempo of the output, 20-300 (default: the melody's)"
    )
    compose.add_argument("--transpose", type=int, default=0, metavar="SEMITONES", help="move the melody, -12..12")
    compose.add_argument("--melody-track", metavar="NAME|INDEX", help=MELODY_TRACK_HELP)


def _genre(text: str) -> str:
    """A genre (or model) name, case-insensitively for the genres."""
    return text.lower() if text.lower() in GENRE_NAMES or "+" in text else text


def _own(technique: str) -> Callable[[str], str]:
    """A technique's model name, also as `models list` writes a shipped one: ``enhance/bach`` is ``bach``."""
    return lambda text: text.removeprefix(f"{technique}/")


def _whole_number(
    low: int, high: int | None, out_of_range: str, expected: str = "a whole number"
) -> Callable[[str], int]:
    """An argument type: an int from ``low`` to ``high`` (None: no upper bound); ``out_of_range`` names the bounds
    and takes ``{value}``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(out_of_range.format(value=value))
        return value

    return parse


def _seed(maximum: int) -> Callable[[str], int]:
    return _whole_number(0, maximum, f"a seed is 0 to {maximum}, got {{value}}")


_port = _whole_number(1, 65535, "a port is 1 to 65535, got {value}", "a port number")
_positive_int = _whole_number(1, None, "must be at least 1, got {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _leaf_parser(parser, argv).unknown(extras)
    handler: Handler = args.handler
    try:
        with work_limits(announce=_say):  # a long rewrite says how long it will take before it starts
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


def _say(line: str) -> None:
    print(f"museforge: {line}", file=sys.stderr)


def _leaf_parser(parser: Parser, argv: Sequence[str] | None) -> Parser:
    """The (sub)parser of the command the arguments name, e.g. ``compose`` or ``models show``."""
    words = list(sys.argv[1:] if argv is None else argv)
    current = parser
    while True:
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            return current
        word = next((w for w in words if w in sub.choices), None)
        if word is None:
            return current
        current = sub.choices[word]
        words = words[words.index(word) + 1 :]


if __name__ == "__main__":
    sys.exit(main())
