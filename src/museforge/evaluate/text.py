"""The text ``museforge evaluate`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from museforge.evaluate.bar import format_shipping_bar
from museforge.evaluate.compare import fmt


# ------------------------------------------------------------------------------------------------ text
def _signed_gap(cell: dict[str, float | None]) -> str:
    """The gap as a signed percentage ((generated - real) / |real|), "-" when undefined."""
    gap, generated, real = cell.get("gap"), cell.get("generated"), cell.get("real")
    if gap is None or generated is None or real is None:
        return "-"
    sign = "+" if generated >= real else "-"
    return f"{sign}{100 * gap:.1f} %"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_evaluation(result: dict[str, Any]) -> str:
    """The text ``museforge evaluate`` prints for a result of :func:`evaluate_model` or :func:`evaluate_data`."""
    if result.get("kind") == "data":
        return _format_data(result)
    w = result["windows"]
    lines = [
        f"Model {result['model']} ({result['source']} {result['architecture']}, genre {result['genre']}"
        + ("" if result["status"] == "completed" else f", {result['status']}")
        + (
            f"): {result['samples']} generated windows of {w['bars']} bars on the {w['melodies']} built-in melodies "
            f"(seeds {', '.join(map(str, result['seeds']))}), against the real music of the {result['split']} split"
            if result.get("kind") == "samples"
            else f"): {result['samples']} generated windows of {w['bars']} bars on {w['melodies']} melodies of the "
            f"{result['split']} split, seed {result['seed']}"
        ),
        "",
    ]
    rows = []
    for role, row in result["tracks"].items():
        for k, (metric, cell) in enumerate(row.items()):
            rows.append([role if k == 0 else "", metric, fmt(cell["generated"]), fmt(cell["real"]), _signed_gap(cell)])
    lines += _table(["track", "metric", "generated", "real", "gap"], rows)
    if result.get("tonal_distances"):
        rows = [
            ["", pair, fmt(c["generated"]), fmt(c["real"]), _signed_gap(c)]
            for pair, c in result["tonal_distances"].items()
        ]
        lines += ["", *_table(["tonal distance", "tracks", "generated", "real", "gap"], rows)]
    if result.get("voice_leading"):
        rows = [
            ["", check, fmt(c["generated"]), fmt(c["real"]), _signed_gap(c)]
            for check, c in result["voice_leading"].items()
        ]
        lines += ["", *_table(["voice leading", "check", "generated", "real", "gap"], rows)]
    form = result.get("form")
    if form:
        rows = [
            ["", metric, fmt(form[metric]["generated"]), fmt(form[metric]["real"]), _signed_gap(form[metric])]
            for metric in ("repeat_overlap", "repeat_identical", "repeat_pairs")
        ]
        title = f"form ({form['songs']} songs, variation {form['variation']:g})"
        lines += ["", *_table([title, "metric", "generated", "real", "gap"], rows)]
    lines.append("")
    clf = result.get("classifier")
    if clf is not None:
        if clf["accuracy"] is None:
            lines.append("Real-vs-generated classifier: too few windows to test")
        else:
            lines.append(
                f"Real-vs-generated classifier: accuracy {clf['accuracy']:.3f} ± {clf['stderr']:.3f} on "
                f"{clf['n_test']} held-out windows (0.5 = indistinguishable, 1.0 = always told apart)"
            )
    second = result.get("classifier_second")
    if second is not None and second.get("accuracy") is not None:
        lines.append(f"Second classifier (boosted decision stumps): accuracy {second['accuracy']:.3f}")
    if result.get("seed_overlap") is not None:
        lines.append(
            f"Seed diversity: another seed keeps {100 * result['seed_overlap']:.0f} % of the sounding cells "
            "(100 % = the noise changes nothing)"
        )
    top = result.get("largest_gap")
    if top is not None:
        lines.append(
            f"Largest gap: {top['track']} {top['metric']} (generated {fmt(top['generated'])}, real "
            f"{fmt(top['real'])}, {_signed_gap(top)})"
        )
    if result.get("shipping_bar"):
        lines.append(format_shipping_bar(result["shipping_bar"]))
    if result.get("plot"):
        lines.append(f"Plot: {result['plot']}")
    t = result.get("timing", {})
    parts = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total")
    lines.append(f"Took {t.get('total', 0.0):.1f} s" + (f" ({parts})" if parts else ""))
    return "\n".join(lines)


def _format_data(result: dict[str, Any]) -> str:
    w = result["windows"]
    lines = [
        f"Dataset {result['genre']}, {result['split']} split: {w['used']} windows of {w['bars']} bars"
        + ("" if w["used"] == w["available"] else f" (evenly spread over {w['available']})"),
        "",
    ]
    rows = []
    for role, row in result["tracks"].items():
        shown = [(m, v) for m, v in row.items() if v is not None]
        rows += [[role if k == 0 else "", metric, fmt(value)] for k, (metric, value) in enumerate(shown)]
    lines += _table(["track", "metric", "value"], rows)
    if result.get("tonal_distances"):
        rows = [["", pair, fmt(value)] for pair, value in result["tonal_distances"].items()]
        lines += ["", *_table(["tonal distance", "tracks", "value"], rows)]
    if result.get("voice_leading"):
        rows = [["", check, fmt(value)] for check, value in result["voice_leading"].items()]
        lines += ["", *_table(["voice leading", "check", "value"], rows)]
    return "\n".join(lines)
