"""Markdown for the results page: numbers, relative gaps and tables as ``docs/results.md`` prints them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt(value: float | None, percent: bool = False) -> str:
    """A number as the results page prints it: 3 decimals (1 from 100 on), a percent, or a dash for none."""
    if value is None:
        return "–"
    if percent:
        return f"{100 * value:.1f} %"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def gap(cell: dict[str, Any]) -> str:
    """Signed relative gap ``(generated - real) / |real|`` in percent."""
    if cell.get("gap") is None or cell.get("generated") is None or cell.get("real") is None:
        return "–"
    sign = "+" if cell["generated"] >= cell["real"] else "−"
    return f"{sign}{100 * cell['gap']:.1f} %"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 2) -> list[str]:
    """A Markdown table, columns from ``right_from`` on aligned right."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [_row(header), _row(align), *(_row(r) for r in rows)]


def name(metric: str) -> str:
    """A metric's name in words."""
    return metric.replace("_", " ")


__all__ = ["fmt", "gap", "name", "table"]
