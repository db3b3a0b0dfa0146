"""``museforge compose``, ``enhance``, ``extend``, ``demo``, ``evaluate`` and ``serve``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from museforge.commands.output import (
    bar_range,
    composition_lines,
    melody_argument,
    output_paths,
    print_files,
    print_json,
    programs_argument,
    record,
    sheet_music_path,
    table,
    tracks_argument,
    write_sheet_music,
)
from museforge.errors import MuseforgeError


def cmd_compose(args: argparse.Namespace) -> int:
    from museforge.pipelines.compose import compose

    sheet_music = sheet_music_path(args)
    result = compose(
        melody_argument(args.melody),
        args.model or args.genre,
        **output_paths(args),
        seed=args.seed,
        sampling=args.sampling,
        rewrite=args.rewrite,
        variation=args.variation,
        tracks=tracks_argument(args.tracks),
        programs=programs_argument(args.program),
        tempo=args.tempo,
        transpose=args.transpose,
        melody_track=args.melody_track,
        keep_tracks=args.keep_tracks,
        parallels=args.parallels,
    )
    write_sheet_music(result, sheet_music)
    record(result, args.melody)
    if args.json:
        print_json(result.summary)
        return 0
    print("\n".join(composition_lines(result.summary)))
    print_files(result.summary)
    return 0


def cmd_jam(args: argparse.Namespace) -> int:
    from museforge.pipelines.jam import jam

    result = jam(
        melody_argument(args.melody),
        args.model or args.genre,
        **output_paths(args),
        seed=args.seed,
        variation=args.variation,
        guess=args.guess,
        tracks=tracks_argument(args.tracks),
        programs=programs_argument(args.program),
        tempo=args.tempo,
        transpose=args.transpose,
        melody_track=args.melody_track,
    )
    record(result, args.melody)
    if args.json:
        print_json(result.summary)
        return 0
    print(f"played along bar by bar (each bar written before its melody was heard; guess: {args.guess})")
    print("\n".join(composition_lines(result.summary)))
    print_files(result.summary)
    return 0


def cmd_regenerate(args: argparse.Namespace) -> int:
    from museforge.pipelines.regenerate import regenerate

    bars = bar_range(args.bars)
    sheet_music = sheet_music_path(args)
    result = regenerate(
        Path(args.previous),
        args.model or args.genre,
        tracks=tracks_argument(args.tracks),
        bars=(bars[0] - 1, bars[1] - 1) if bars else None,
        previous_seed=args.previous_seed,
        seed=args.seed,
        programs=programs_argument(args.program),
        variation=args.variation,
        with_repeats=args.with_repeats,
        **output_paths(args),
    )
    write_sheet_music(result, sheet_music)
    record(result, args.previous)
    if args.json:
        print_json(result.summary)
        return 0
    again = result.summary["regenerated"]
    span = f"bars {again['bars'][0] + 1}-{again['bars'][1] + 1}" if again["bars"] else "every bar"
    if again.get("repeats"):
        span += f" and their repeats (bars {', '.join(str(b + 1) for b in again['repeats'])})"
    kept = ", keeping its shared noise" if result.summary["kept_shared_noise"] else ""
    print(f"generated {', '.join(again['tracks'])} again over {span}{kept}; every other note is kept")
    print("\n".join(composition_lines(result.summary, melody_track=False)))
    print_files(result.summary)
    return 0


def cmd_enhance(args: argparse.Namespace) -> int:
    from museforge.pipelines.enhance import enhance

    sheet_music = sheet_music_path(args)
    result = enhance(
        melody_argument(args.melody),
        args.model,
        **output_paths(args),
        seed=args.seed,
        iterations=args.iterations,
        max_add=args.max_add / 100.0,
        max_remove=args.max_remove / 100.0,
        temperature=args.temperature,
        tracks=args.tracks.split(",") if args.tracks else None,
        bars=bar_range(args.bars),
        melody_track=args.melody_track,
        parallels=args.parallels,
    )
    write_sheet_music(result, sheet_music)
    record(result, args.melody)
    summary = result.summary
    if args.json:
        print_json(summary)
        return 0
    print(
        f"{summary['bars']} bars of {summary['meter']}, model {summary['model']}, seed {summary['seed']}: rewrote "
        f"{', '.join(summary['rewritten_tracks'])} in {summary['iterations']} iterations, "
        f"{summary['notes_added']} notes added, {summary['notes_removed']} removed"
    )
    if summary.get("changes_note"):
        print(f"note: {summary['changes_note']}")
    rows = [[t["name"], t["role"], t["instrument"], t["notes"]] for t in summary["tracks"]]
    print(table(rows, ["track", "role", "instrument", "notes"]))
    print_files(summary)
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from museforge.pipelines.extend import extend

    controls = {"temperature": args.temperature, "top_k": args.top_k}
    sheet_music = sheet_music_path(args)
    result = extend(
        melody_argument(args.melody),
        args.model,
        bars=args.bars,
        **output_paths(args),
        seed=args.seed,
        melody_track=args.melody_track,
        **{key: value for key, value in controls.items() if value is not None},
    )
    write_sheet_music(result, sheet_music)
    record(result, args.melody)
    summary = result.summary
    if args.json:
        print_json(summary)
        return 0
    print(
        f"{summary['bars_in']} bars of {summary['meter']} + {summary['bars_added']} new bars "
        f"({summary['notes_added']} notes), model {summary['model']}, seed {summary['seed']}"
    )
    if summary.get("changes_note"):
        print(f"note: {summary['changes_note']}")
    print_files(summary)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from museforge.pipelines.demo import run_demo

    rows = run_demo(Path(args.out), seed=args.seed, audio=not args.no_audio)
    lines = [
        [
            r["genre"],
            r["melody"],
            r["bars"],
            ", ".join(f"{t['role']} {t['notes']}" for t in r["tracks"][1:]),
            " ".join(Path(r[k]).name for k in ("midi", "wav", "png") if r.get(k)),
        ]
        for r in rows
    ]
    print(table(lines, ["genre", "melody", "bars", "accompaniment (notes per track)", "files"]))
    print(f"in {args.out}/")
    return 0


# ---------------------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from museforge.evaluate import evaluate_data, evaluate_model, evaluate_samples, format_evaluation

    chosen = [x for x in (args.name, args.data, args.results) if x]
    if len(chosen) != 1:
        raise MuseforgeError("give exactly one of NAME, --data GENRE or --results FILE.md")
    if args.results:
        from museforge.evaluate.report import write_results_markdown

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
    check_port_free(args.host, args.port)
    from museforge.server.app import serve

    serve(args.host, args.port, Path(args.data_dir) if args.data_dir else None)
    return 0


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`MuseforgeError` (one line, before any banner) when ``host:port`` cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MuseforgeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            busy = " (is museforge already serving there? choose another with --port)" if port else ""
            raise MuseforgeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}{busy}") from None
