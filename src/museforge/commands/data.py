"""``museforge datasets ...`` and ``museforge melodies list``."""

from __future__ import annotations

import argparse
from pathlib import Path

from museforge.commands.output import print_json, table
from museforge.errors import MuseforgeError


def cmd_datasets_list(args: argparse.Namespace) -> int:
    from museforge.datasets.cache import build_command, datasets_report

    report = datasets_report()
    if args.json:
        print_json(report)
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
            built = f"not built: {build_command(entry['genre'])}"
        print(f"{entry['genre']} ({entry['architecture']}) {built}")
        for source in entry["sources"]:
            print(f"  {source['title']}: {source['repository']} @ {source['commit'][:10]}")
            print(f"    licence: {source['licence']}")
    return 0


def cmd_datasets_build(args: argparse.Namespace) -> int:
    from museforge.datasets.build import build_dataset, model_resolution

    source = Path(args.source) if args.source else None
    if source is not None and not source.is_dir():
        raise MuseforgeError(f"--source {source}: no such folder")
    manifest = build_dataset(
        args.genre,
        source,
        resolution=args.resolution or model_resolution(args.genre),
        n_bars=args.bars,
        limit=args.limit,
        progress=not args.json,
    )
    if args.json:
        print_json(manifest)
        return 0
    splits = manifest["splits"]
    rows = [[s, splits[s]["songs"], splits[s]["windows"]] for s in ("train", "valid", "test")]
    tracks = ", ".join(t["role"] for t in manifest["tracks"])
    print(f"built {args.genre}: {manifest['n_bars']} bars x {manifest['steps_per_bar']} steps, tracks: {tracks}")
    print(table(rows, ["split", "songs", "windows"]))
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
        print_json([m.summary() for m in melodies])
        return 0
    rows = [
        [m.name, m.title, m.composer, m.n_bars, f"{m.tempo:g}", "/".join(map(str, m.time_signature))] for m in melodies
    ]
    print(table(rows, ["name", "title", "composer", "bars", "bpm", "meter"]))
    return 0
