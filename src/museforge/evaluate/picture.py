"""An evaluation drawn: training losses and, per metric, real and generated bars per track."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from museforge.evaluate.compare import number
from museforge.render.curves import LOSS_LINES
from museforge.render.plots import save_png

# ------------------------------------------------------------------------------------------------ picture
REAL_COLOR = "#9a9a9a"
GENERATED_COLOR = "#1f77b4"


def save_evaluation_png(
    result: dict[str, Any], path: Path, history: Sequence[dict[str, Any]] = (), dpi: int = 110
) -> None:
    """Draw an evaluation: the training losses per epoch on top, then one panel per metric with a real (grey) and
    a generated (blue) bar per track, then tonal distances and (Bach) voice leading.

    Parameters
    ----------
    result : dict
        A result of :func:`evaluate_model`.
    path : Path
        The ``.png`` to write (through a temporary name, so no reader sees half a picture).
    history : sequence of dict
        Per-epoch training records with ``epoch`` and the losses of :data:`museforge.render.curves.LOSS_LINES`.
    dpi : int
        Resolution.
    """

    panels: list[tuple[str, list[str], list[float | None], list[float | None]]] = []
    metrics = list(dict.fromkeys(m for row in result["tracks"].values() for m in row))
    for metric in metrics:
        roles = [r for r, row in result["tracks"].items() if metric in row]
        cells = [result["tracks"][r][metric] for r in roles]
        panels.append((metric.replace("_", " "), roles, [c["real"] for c in cells], [c["generated"] for c in cells]))
    for title, key in (("tonal distance", "tonal_distances"), ("voice leading", "voice_leading")):
        table = result.get(key) or {}
        if table:
            names = list(table)
            panels.append((title, names, [table[n]["real"] for n in names], [table[n]["generated"] for n in names]))
    n_cols = 3
    n_rows = 1 + math.ceil(len(panels) / n_cols)
    figure = Figure(figsize=(12.0, 3.2 + 2.7 * (n_rows - 1)), layout="constrained")
    grid = figure.add_gridspec(n_rows, n_cols, height_ratios=[1.1] + [1.0] * (n_rows - 1))
    losses = figure.add_subplot(grid[0, :])
    epochs = [float(r.get("epoch", i + 1)) for i, r in enumerate(history)]
    drawn = False
    for key, label, color in LOSS_LINES:  # the same lines, labels and colours as the training curves
        values = [number(r.get(key)) for r in history]
        if any(v is not None for v in values):
            marker = "o" if len(history) <= 30 else None
            losses.plot(
                epochs, [np.nan if v is None else v for v in values], label=label, color=color, lw=1.5, marker=marker
            )
            drawn = True
    if drawn:
        losses.legend(frameon=False, fontsize=8)
        losses.set_xlabel("epoch")
        losses.set_ylabel("loss")
        losses.grid(alpha=0.3)
        losses.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        losses.text(0.5, 0.5, "no training history recorded", ha="center", va="center", transform=losses.transAxes)
        losses.set_xticks([])
        losses.set_yticks([])
    clf = result.get("classifier") or {}
    accuracy = (
        f"; real-vs-generated classifier accuracy {clf['accuracy']:.2f}" if clf.get("accuracy") is not None else ""
    )
    losses.set_title(
        f"{result['model']} ({result['genre']}, {result['architecture']}): training losses{accuracy}",
        loc="left",
        fontsize=11,
    )
    for index, (title, names, real, generated) in enumerate(panels):
        ax = figure.add_subplot(grid[1 + index // n_cols, index % n_cols])
        x = np.arange(len(names))
        ax.bar(x - 0.2, [np.nan if v is None else v for v in real], width=0.4, color=REAL_COLOR)
        ax.bar(x + 0.2, [np.nan if v is None else v for v in generated], width=0.4, color=GENERATED_COLOR)
        crowded = len(names) > 4 or max(len(n) for n in names) * len(names) > 40
        ax.set_xticks(x, names, fontsize=7, rotation=30 if crowded else 0, ha="right" if crowded else "center")
        center, width = (len(names) - 1) / 2, max(len(names), 3)
        ax.set_xlim(center - width / 2, center + width / 2)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(axis="y", alpha=0.3)
        if index == 0:
            handles = [
                Patch(color=REAL_COLOR, label=f"real ({result['split']})"),
                Patch(color=GENERATED_COLOR, label="generated"),
            ]
            ax.legend(handles=handles, frameon=False, fontsize=7)
    save_png(figure, path, dpi, tight=False)
