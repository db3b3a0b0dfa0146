"""What the commands share: JSON and table printing, number formats, melody arguments, output files (sheet music
too), recording results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from museforge.errors import MuseforgeError
from museforge.store import Store


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain text table with columns padded to their widest cell."""
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def number(value: Any) -> str:
    """A number as people read it (4 significant digits), "-" for none."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if isinstance(value, float) else "-"


def first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def record(result: Any, melody: str) -> None:
    """Index a CLI composition, enhancement or extension in the store: the studio lists it too."""

    Store().record_composition(result, melody=melody, source="cli")


def melody_argument(text: str) -> str | Path:
    return Path(text) if Path(text).suffix.lower() in (".mid", ".midi") else text


class OutputPaths(TypedDict):
    """The output keywords every pipeline takes."""

    out_midi: Path
    wav: Path | None
    png: Path | None


def output_paths(args: Any) -> OutputPaths:
    """A command's ``--out``, ``--wav`` and ``--png`` as the pipelines' ``out_midi``, ``wav`` and ``png``."""
    return {
        "out_midi": Path(args.out),
        "wav": Path(args.wav) if args.wav else None,
        "png": Path(args.png) if args.png else None,
    }


def sheet_music_path(args: Any) -> Path | None:
    """A command's ``--musicxml``, checked (its name and folder) before any music is made; None without it."""
    if not getattr(args, "musicxml", None):
        return None
    from museforge.render.outputs import check_output_paths

    path = Path(args.musicxml)
    check_output_paths(None, musicxml=path)
    return path


def write_sheet_music(result: Any, path: Path | None) -> None:
    """Write a pipeline's result as MusicXML to ``path`` (nothing when None) and name the file in its summary."""
    if path is None:
        return
    from museforge.render.musicxml import write_musicxml

    write_musicxml(result.multitrack, path)
    result.summary["musicxml"] = str(path)


def print_files(summary: dict[str, Any]) -> None:
    for kind in ("midi", "wav", "png", "musicxml"):
        if summary.get(kind):
            print(f"wrote {summary[kind]}")


def bar_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise MuseforgeError(f"--bars takes a bar or a range of bars, like 3 or 3-4; got {text!r}") from None


def programs_argument(items: list[str] | None) -> dict[str, int] | None:
    """``--program bass=33 --program drums=32`` as ``{"bass": 33, "drums": 32}``."""
    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        role, sep, number = item.partition("=")
        try:
            out[role.strip().lower()] = int(number)
        except ValueError:
            raise MuseforgeError(f"--program takes ROLE=NUMBER, like bass=33; got {item!r}") from None
        if not sep or not role.strip():
            raise MuseforgeError(f"--program takes ROLE=NUMBER, like bass=33; got {item!r}")
    return out


def tracks_argument(text: str | None) -> list[str] | None:
    """``--tracks bass,drums`` as ``["bass", "drums"]``."""
    return [t.strip() for t in text.split(",")] if text is not None else None


def composition_lines(summary: dict[str, Any], melody_track: bool = True) -> list[str]:
    """The lines ``compose`` and ``regenerate`` print: bars, meter, tempo, model, seed, the melody's track."""
    lines = [
        f"{summary['bars']} bars of {summary['meter']} at {summary['tempo']:.0f} bpm, model {summary['model']}, "
        f"seed {summary['seed']}"
    ]
    chosen = summary.get("melody_track") or {}
    if melody_track and chosen.get("of", 1) > 1:
        lines.append(f"melody: track {chosen['index']} ({chosen['name']}) of {chosen['of']}")
    others = summary.get("other_tracks") or {}
    if others.get("names"):
        names = ", ".join(others["names"])
        lines.append(
            f"kept as they were (the model reads the melody alone): {names}"
            if others.get("kept")
            else f"not used (the model reads the melody alone; --keep-tracks keeps them in the output): {names}"
        )
    if summary.get("transpose"):
        lines.append(f"melody moved {summary['transpose']:+d} semitones")
    if summary.get("repeated_bars"):
        lines.append(
            f"form: {summary['repeated_bars']} bars repeat earlier ones; their accompaniment follows at variation "
            f"{summary['variation']:g} (0: the same, 1: new)"
        )
    if summary.get("meter_note"):
        lines.append(f"note: {summary['meter_note']}")
    if summary.get("parallels") == "forbid":
        lines.append(
            "voice leading: no parallel fifths or octaves between the voices and the melody (--parallels allow)"
        )
    rows = [
        [
            t["name"],
            t["role"],
            f"{t['program']} {t.get('instrument', '')}".strip(),
            "yes" if t["is_drum"] else "",
            t["notes"],
        ]
        for t in summary["tracks"]
    ]
    lines.append(table(rows, ["track", "role", "program", "drums", "notes"]))
    return lines
