"""A training run's losses and metrics per epoch as one PNG: the losses on top, a panel per metric below.

The lines of the loss panel are what :mod:`museforge.training.losses` logs: ``generator`` (the generator's loss),
``critic (total)`` (the critic's whole loss, with a WGAN-GP run's 10x gradient penalty in it) and, when logged,
``critic Wasserstein estimate`` (mean score of real minus generated music: the distance the critic measures);
supervised runs (AR-CNN, Transformer) log one ``loss``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from museforge.render.plots import PALETTE, save_png

#: ``(record key, legend label, colour)`` of each line of the loss panel, in drawing order.
LOSS_LINES: tuple[tuple[str, str, str], ...] = (
    ("generator_loss", "generator", "#1f77b4"),
    ("discriminator_loss", "critic (total, with gradient penalty)", "#ff7f0e"),
    ("wasserstein_estimate", "critic Wasserstein estimate", "#2ca02c"),
    ("loss", "loss", "#9467bd"),
    ("validation_loss", "validation loss", "#8c564b"),
)


def save_loss_curves_png(
    records: Sequence[Mapping[str, Any]], path: str | Path, *, title: str | None = None, dpi: int = 110
) -> None:
    """Plot a training run's per-epoch losses and metrics and write them as a PNG file.

    Parameters
    ----------
    records : one dict per epoch with ``epoch`` and the losses of :data:`LOSS_LINES` it logs, and optionally
        ``metrics`` (of generated music) and ``train_metrics`` (of the training data, the target). Metrics are
        ``{name: value}`` or per track ``{role: {name: value}}``; each metric name gets a panel with one solid
        line per role for generated music and a dashed line of the same colour for the training data.
    path : the ``.png`` file to write.
    title : title above the losses.

    Raises
    ------
    MuseforgeError
        The folder does not exist or the file cannot be written.
    """
    generated = [_flat_metrics(r.get("metrics")) for r in records]
    reference = [_flat_metrics(r.get("train_metrics")) for r in records]
    names = _unique(key for metrics in generated + reference for key in metrics)
    all_roles = list(dict.fromkeys(role for _, roles in names for role in roles))
    role_colors = {role: PALETTE[k % len(PALETTE)] for k, role in enumerate(all_roles)}
    n_rows = 1 + math.ceil(len(names) / 3)
    figure = Figure(figsize=(11.0, 3.4 + 2.6 * (n_rows - 1)), layout="constrained")
    grid = figure.add_gridspec(n_rows, 3, height_ratios=[1.3] + [1.0] * (n_rows - 1))
    epochs = np.array([_number(r.get("epoch", i + 1)) for i, r in enumerate(records)], dtype=np.float64)

    losses = figure.add_subplot(grid[0, :])
    for key, label, color in LOSS_LINES:
        values = np.array([_number(r.get(key)) for r in records], dtype=np.float64)
        if not np.isfinite(values).any():
            continue  # a line the run does not log (a GAN has no single loss, the AR-CNN no critic)
        losses.plot(epochs, values, label=label, color=color, lw=1.6, marker="o" if len(records) <= 30 else None)
    losses.set_xlabel("epoch")
    losses.set_ylabel("loss")
    losses.grid(alpha=0.3)
    if records:
        losses.legend(frameon=False)
    else:
        losses.text(0.5, 0.5, "no epochs logged yet", ha="center", va="center", transform=losses.transAxes)
        losses.set_xticks([])
        losses.set_yticks([])
    losses.set_title(title or "training losses", fontsize=11, loc="left")
    if records:
        losses.xaxis.set_major_locator(MaxNLocator(integer=True))

    for index, (metric, roles) in enumerate(names):
        ax = figure.add_subplot(grid[1 + index // 3, index % 3])
        for role in roles:
            color = role_colors[role]
            cell = (role, metric)
            mine = np.array([m.get(cell, np.nan) for m in generated], dtype=np.float64)
            target = np.array([m.get(cell, np.nan) for m in reference], dtype=np.float64)
            if np.isfinite(mine).any():
                ax.plot(epochs, mine, color=color, lw=1.4, marker="o" if len(records) <= 30 else None, ms=3)
            if np.isfinite(target).any():
                ax.plot(epochs, _hold(target), color=color, lw=1.0, ls="--")
        ax.set_title(metric.replace("_", " "), fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if index == 0:  # roles keep their colour in every panel: one legend is enough
            handles = [Line2D([], [], color=role_colors[r], lw=1.4, label=r or "generated") for r in all_roles]
            handles.append(Line2D([], [], color="#555555", lw=1.0, ls="--", label="training data"))
            ax.legend(handles=handles, frameon=False, fontsize=7)
    save_png(figure, path, dpi)


def _flat_metrics(metrics: Any) -> dict[tuple[str, str], float]:
    """``{(role, name): value}`` from ``{name: value}`` (role "") or ``{role: {name: value}}``."""
    if not isinstance(metrics, Mapping):
        return {}
    flat: dict[tuple[str, str], float] = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            flat.update(((str(key), str(name)), _number(v)) for name, v in value.items())
        else:
            flat[("", str(key))] = _number(value)
    return flat


def _unique(keys: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Metric names in first-seen order, each with its roles in first-seen order."""
    roles: dict[str, list[str]] = {}
    for role, name in keys:
        seen = roles.setdefault(name, [])
        if role not in seen:
            seen.append(role)
    return list(roles.items())


def _number(value: Any) -> float:
    """``value`` as a float, NaN when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _hold(values: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward over NaNs (training-data metrics logged only once)."""
    out = values.copy()
    last = np.nan
    for i, value in enumerate(out):
        if np.isfinite(value):
            last = value
        else:
            out[i] = last
    return out
