"""The results page's section on jam mode: what playing along one bar ahead costs each genre's music against
composing with the whole melody known (:func:`museforge.evaluate.jam.jam_comparison`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from museforge.evaluate.jam import JAM_SEGMENTS, WRITERS, jam_comparison
from museforge.evaluate.markdown import fmt, table
from museforge.evaluate.run import evaluate_samples


def _mean_metric(result: dict[str, Any], metric: str, column: str) -> float | None:
    """The mean of ``metric``'s ``column`` (generated or real) over the pitched tracks that have it."""
    values = [
        row[metric][column]
        for row in result["tracks"].values()
        if metric in row and row[metric].get("real") is not None and row[metric].get(column) is not None
    ]
    return float(np.mean(values)) if values else None


def jam_section(genres: Sequence[str], split: str = "test", seed: int = 0) -> list[str]:
    """Markdown lines: per genre, compose and jam on the same song stretches, against the real music."""
    rows = []
    for genre in genres:
        found = jam_comparison(genre, split=split, seed=seed)
        compose, jam = found["compose"], found["jam"]
        cells = [genre, f"{found['segments']} / {found['windows']}"]
        for metric in ("consonance", "key_fit"):
            cells.append(
                " / ".join(fmt(_mean_metric(r, metric, "generated")) for r in (compose, jam))
                + f" ({fmt(_mean_metric(jam, metric, 'real'))})"
            )
        for metric in ("repeat_overlap", "repeat_identical"):
            cells.append(
                " / ".join(fmt(r["form"][metric]["generated"]) for r in (compose, jam))
                + f" ({fmt(jam['form'][metric]['real'])})"
            )
        cells.append(" / ".join(f"{100 * r['classifier']['accuracy']:.1f} %" for r in (compose, jam)))
        cells.append(" / ".join(str(len(r["shipping_bar"]["failures"])) for r in (compose, jam)))
        on_samples = [evaluate_samples(genre, split=split, writer=writer) for writer in WRITERS]
        cells.append(" / ".join(str(len(r["shipping_bar"]["failures"])) for r in on_samples))
        rows.append(cells)
    return [
        "## Jam: playing along one bar ahead",
        "",
        f"Compose and jam (`museforge jam`, the studio's jam mode) accompanied the same stretches of the {split} "
        f"split's songs (at most {JAM_SEGMENTS}, the longest) with the same seeds: compose knows the whole melody, "
        "jam writes each bar before its melody is played (`museforge.sampling.causal`: the coming bar guessed from "
        "the tune's form, the key from what was heard). Both were cut into the model's windows and measured against "
        "the real accompaniment of those windows. Each cell reads compose / jam (real); consonance and key fit are "
        "the means over the pitched tracks; failed checks count every check of the shipping bar, on the test split's "
        "stretches and on the built-in melodies (each played with 5 seeds, as `museforge evaluate GENRE --melodies "
        "samples` does for compose).",
        "",
        *table(
            [
                "genre",
                "stretches / windows",
                "consonance with the melody",
                "key fit",
                "repeat overlap",
                "identical repeats",
                "classifier",
                "failed checks",
                "failed checks, built-in melodies",
            ],
            rows,
        ),
        "",
    ]


__all__ = ["jam_section"]
