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
