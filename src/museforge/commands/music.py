"""``museforge compose``, ``enhance``, ``extend``, ``demo``, ``evaluate`` and ``serve``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from museforge.commands.output import bar_range, melody_argument, print_files, print_json, record, table
from museforge.errors import MuseforgeError


def cmd_compose(args: argparse.Namespace) -> int:
    from museforge.compose import compose

    model = args.model or args.genre
    result = compose(
        melody_argument(args.melody),
        model,
        out_midi=Path(args.out),
        wav=Path(args.wav) if args.wav else None,
        png=Path(args.png) if args.png else None,
        seed=args.seed,
        sampling=args.sampling,
        rewrite=args.rewrite,
    )
    record(result, args.melody)
    summary = result.summary
    if args.json:
        print_json(summary)
        return 0
    rows = [[t["name"], t["role"], t["program"], "yes" if t["is_drum"] else "", t["notes"]] for t in summary["tracks"]]
    print(
        f"{summary['bars']} bars of {summary['meter']} at {summary['tempo']:.0f} bpm, model {summary['model']}, "
        f"seed {summary['seed']}"
    )
    if summary.get("meter_note"):
        print(f"note: {summary['meter_note']}")
    print(table(rows, ["track", "role", "program", "drums", "notes"]))
    print_files(summary)
    return 0


def cmd_enhance(args: argparse.Namespace) -> int:
    from museforge.enhance import enhance

    result = enhance(
        melody_argument(args.melody),
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
        bars=bar_range(args.bars),
    )
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
    rows = [[t["name"], t["role"], t["notes"]] for t in summary["tracks"]]
    print(table(rows, ["track", "role", "notes"]))
    print_files(summary)
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from museforge.extend import extend

    controls = {"temperature": args.temperature, "top_k": args.top_k}
    result = extend(
        melody_argument(args.melody),
        args.model,
        out_midi=Path(args.out),
        bars=args.bars,
        wav=Path(args.wav) if args.wav else None,
        png=Path(args.png) if args.png else None,
        seed=args.seed,
        **{key: value for key, value in controls.items() if value is not None},
    )
    record(result, args.melody)
    summary = result.summary
    if args.json:
        print_json(summary)
        return 0
    print(
        f"{summary['bars_in']} bars of {summary['meter']} + {summary['bars_added']} new bars "
        f"({summary['notes_added']} notes), model {summary['model']}, seed {summary['seed']}"
    )
    print_files(summary)
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
    print(table(table, ["genre", "melody", "bars", "accompaniment (notes per track)", "files"]))
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
