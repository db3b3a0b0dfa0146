"""What the commands share: JSON and table printing, number formats, melody arguments, recording results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError


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
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def record(result: Any, melody: str) -> None:
    """Index a CLI composition, enhancement or extension in the store: the studio lists it too."""
    from museforge.store import Store

    Store().record_composition(result, melody=melody, source="cli")


def melody_argument(text: str) -> str | Path:
    return Path(text) if Path(text).suffix.lower() in (".mid", ".midi") else text


def print_files(summary: dict[str, Any]) -> None:
    for kind in ("midi", "wav", "png"):
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
