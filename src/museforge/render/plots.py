"""Pictures for people: a multitrack as one piano roll (a training run's curves are :mod:`museforge.render.curves`).

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state, safe in threads);
:func:`save_png` writes every PNG of the project atomically, so a reader never sees half a picture.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, MultipleLocator

from museforge.errors import MuseforgeError
from museforge.files import atomic_write
from museforge.music.keys import pitch_name
from museforge.music.meter import beat_steps
from museforge.music.pianoroll import Multitrack
from museforge.music.sections import performed_instrument

#: The melody's colour; other tracks take :data:`PALETTE` in order, then evenly spread hues.
MELODY_COLOR = "#d62728"
PALETTE = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#17becf",  # cyan
    "#bcbd22",  # olive
    "#393b79",  # indigo
    "#aec7e8",  # light blue
    "#ffbb78",  # light orange
    "#98df8a",  # light green
    "#c5b0d5",  # light purple
    "#c49c94",  # light brown
    "#f7b6d2",  # light pink
    "#9edae5",  # light cyan
    "#dbdb8d",  # light olive
    "#637939",  # moss
)
NOTE_ALPHA = 0.9
_BLACK_KEYS = {1, 3, 6, 8, 10}
_MIN_BAR_SPACING_PX = 14.0
_MIN_BEAT_SPACING_PX = 6.0
_DRUM_LANE_GAP = 1.5  # semitone rows between the lowest pitch and the first drum row
_DRUM_ROW = 1.8  # height of one drum row, in semitone rows


# ----------------------------------------------------------------------------------------------- piano roll
def track_colors(multitrack: Multitrack, melody_track: int | None = 0) -> list[str]:
    """One distinct hex colour per track: :data:`MELODY_COLOR` for the melody, the palette for the others."""
    melody = _melody_index(multitrack, melody_track)
    others = iter(_palette(multitrack.n_tracks))
    return [MELODY_COLOR if index == melody else next(others) for index in range(multitrack.n_tracks)]


def plot_pianoroll(
    multitrack: Multitrack,
    ax: Axes | None = None,
    *,
    melody_track: int | None = 0,
    title: str | None = None,
) -> Axes:
    """Draw every track of ``multitrack`` as one piano roll on ``ax`` (a new figure's axes when None).

    Time runs left to right in bars (bar 1 starts at x = 1; bar lines from ``multitrack.downbeats``, beat
    lines lighter), pitch bottom to top over the pitches in use, with note names at the Cs. Each track has
    its own colour, named with its instrument in a legend right of the axes. The melody (track
    ``melody_track``, None for no highlight) is drawn last, with a dark outline. Drum tracks go to a lane
    under the pitches: one row per drum sound, a marker per hit.

    Parameters
    ----------
    multitrack : rolls of shape (tracks, time, 128).
    ax : axes to draw on.
    melody_track : index of the melody track.
    title : title above the axes.

    Returns
    -------
    The axes drawn on.
    """
    if ax is None:
        ax = Figure(figsize=_figure_size(multitrack)).add_subplot()
    melody = _melody_index(multitrack, melody_track)
    colors = track_colors(multitrack, melody_track)
    to_bars, n_bars = _bar_axis(multitrack)
    notes = [np.asarray(multitrack.notes(t), dtype=np.float64).reshape(-1, 4) for t in range(multitrack.n_tracks)]
    pitched = [t for t in range(multitrack.n_tracks) if not multitrack.is_drum[t]]
    drummed = [t for t in range(multitrack.n_tracks) if multitrack.is_drum[t]]
    low, high = _pitch_range([notes[t] for t in pitched])
    drum_rows = _drum_rows([notes[t] for t in drummed], low)
    bottom = min(drum_rows.values()) - 0.6 * _DRUM_ROW if drum_rows else low - 0.5
    x_min, x_max = min(1.0, float(to_bars(np.array([0]))[0])), 1.0 + n_bars

    ax.set_xlim(x_min, x_max)
    only_drums = bool(drum_rows) and not any(len(notes[t]) for t in pitched)
    ax.set_ylim(bottom, low - 1.0 if only_drums else high + 0.5)  # drums alone: just the drum lane
    ax.set_facecolor("white")
    _draw_keyboard_stripes(ax, low, high)
    if drum_rows:
        ax.axhspan(bottom, low - 1.0, color="#f3f1ea", zorder=0, lw=0)
        ax.axhline(low - 1.0, color="#888888", lw=0.8, zorder=1)
    _draw_grid(ax, multitrack, to_bars)

    order = [t for t in pitched if t != melody] + ([melody] if melody in pitched else [])
    marker_size = _drum_marker_size(ax, multitrack)
    outline = _melody_outline_width(ax, n_bars)
    for track in order + drummed:
        table = notes[track]
        if not len(table):
            continue
        if multitrack.is_drum[track]:
            rows = np.array([drum_rows[int(p)] for p in table[:, 0]])
            ax.scatter(to_bars(table[:, 1]), rows, s=marker_size, marker="D", color=colors[track], lw=0, zorder=3)
            continue
        is_melody = track == melody
        ax.add_collection(
            PolyCollection(
                list(_note_boxes(table, to_bars, multitrack.resolution)),
                facecolors=colors[track],
                edgecolors="#1a1a1a" if is_melody else "none",
                linewidths=outline if is_melody else 0.0,
                alpha=1.0 if is_melody else NOTE_ALPHA,
                zorder=4 if is_melody else 2,
            ),
            autolim=False,
        )

    if not any(len(table) for table in notes):
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center", color="#888888")
    _label_axes(ax, low, low - 1 if only_drums else high, drum_rows)
    tick_every = _bar_line_every(ax, n_bars)
    while n_bars / tick_every > 24:
        tick_every *= 2
    ax.xaxis.set_major_locator(MultipleLocator(tick_every, offset=1.0))  # bar numbers 1, 1 + k, 1 + 2k, ...
    ax.set_xlabel("bar")
    ax.set_ylabel("drums" if only_drums else "pitch")
    ax.legend(
        handles=_legend_handles(multitrack, colors, melody),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize=8,
        ncol=2 if multitrack.n_tracks > 18 else 1,
        handlelength=1.4,
    )
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    return ax


def save_pianoroll_png(
    multitrack: Multitrack,
    path: str | Path,
    *,
    melody_track: int | None = 0,
    title: str | None = None,
    dpi: int = 110,
) -> None:
    """Draw ``multitrack`` with :func:`plot_pianoroll` and write it as a PNG file (via a temporary name).

    The figure widens with the number of bars and grows with the pitch range.

    Raises
    ------
    MuseforgeError
        The folder does not exist, the file cannot be written, or ``melody_track`` is not a track.
    """
    figure = Figure(figsize=_figure_size(multitrack))
    plot_pianoroll(multitrack, figure.add_subplot(), melody_track=melody_track, title=title)
    save_png(figure, path, dpi)


# --------------------------------------------------------------------------------------------- helpers
def _melody_index(multitrack: Multitrack, melody_track: int | None) -> int | None:
    """The melody track to highlight, None when there is none or it is a drum track."""
    if melody_track is None or multitrack.n_tracks == 0:
        return None
    if not -multitrack.n_tracks <= melody_track < multitrack.n_tracks:
        raise MuseforgeError(f"melody track {melody_track} does not exist ({multitrack.n_tracks} tracks)")
    index = melody_track % multitrack.n_tracks
    return None if multitrack.is_drum[index] else index


def _palette(n: int) -> list[str]:
    """At least ``n`` distinct colours: the palette, then hues spread by the golden ratio."""
    colors = list(PALETTE)
    hue = 0.11
    while len(colors) < n:
        hue = (hue + 0.618034) % 1.0
        lightness = 0.42 if len(colors) % 2 else 0.6
        colors.append(to_hex(colorsys.hls_to_rgb(hue, lightness, 0.75)))
    return colors


def _figure_size(multitrack: Multitrack) -> tuple[float, float]:
    """Width and height in inches: wider for more bars, taller for a wider pitch range."""
    _, n_bars = _bar_axis(multitrack)
    rows = 1
    pitched = multitrack.rolls[[not d for d in multitrack.is_drum]]
    if pitched.size and pitched.any():
        used = np.flatnonzero(pitched.any(axis=(0, 1)))
        rows = int(used[-1] - used[0]) + 5
    drums = multitrack.rolls[list(multitrack.is_drum)]
    if drums.size:
        rows += round(_DRUM_ROW * int(drums.any(axis=(0, 1)).sum())) + 2
    return float(np.clip(3.0 + 1.1 * n_bars, 9.0, 22.0)), float(np.clip(1.8 + 0.085 * rows, 3.6, 9.0))


def _bar_axis(multitrack: Multitrack) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """A function from steps (array) to x positions in bars (bar 1 at 1.0), and the number of bars shown."""
    starts = np.unique(np.asarray(multitrack.downbeats, dtype=np.float64))
    default = _bar_steps(multitrack, 0)
    if not len(starts):
        starts = np.array([0.0])
    first = starts[1] - starts[0] if len(starts) > 1 else default
    last = starts[-1] - starts[-2] if len(starts) > 1 else _bar_steps(multitrack, int(starts[-1]))
    knots = np.append(starts, starts[-1] + last)
    positions = np.arange(len(knots), dtype=np.float64)
    end = knots[-1]

    def to_bars(steps: np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.float64)
        inside = np.interp(steps, knots, positions)
        before = (steps - knots[0]) / first
        after = positions[-1] + (steps - end) / last
        return 1.0 + np.where(steps < knots[0], before, np.where(steps > end, after, inside))

    n_bars = math.ceil(float(to_bars(np.array([multitrack.n_steps]))[0]) - 1.0 - 1e-6)
    return to_bars, float(max(n_bars, 1))


def _bar_steps(multitrack: Multitrack, step: int) -> float:
    """Steps per bar under the time signature in force at ``step``."""
    _, num, den = _signature_at(multitrack, step)
    return max(1.0, num * 4.0 * multitrack.resolution / den)


def _signature_at(multitrack: Multitrack, step: int) -> tuple[int, int, int]:
    """The ``(step, numerator, denominator)`` time signature in force at ``step``."""
    changes = sorted(multitrack.time_signatures or [(0, 4, 4)])
    current = changes[0]
    for change in changes:
        if change[0] <= step:
            current = change
    return current


def _beat_steps(multitrack: Multitrack, step: int) -> float:
    """Steps per beat at ``step`` (:func:`museforge.music.meter.beat_steps`)."""
    _, num, den = _signature_at(multitrack, step)
    return beat_steps(num, den, multitrack.resolution)


def _pitch_range(tables: list[np.ndarray]) -> tuple[int, int]:
    """Lowest and highest pitch row shown: the used range padded by 2, at least an octave and a half."""
    pitches = np.concatenate([t[:, 0] for t in tables]) if tables else np.empty(0)
    if not len(pitches):
        return 48, 72
    low, high = int(pitches.min()) - 2, int(pitches.max()) + 2
    if high - low < 18:
        middle = (low + high) // 2
        low, high = middle - 9, middle + 9
    return max(0, low), min(127, high)


def _drum_rows(tables: list[np.ndarray], low: int) -> dict[int, float]:
    """The y position of every drum sound in use: rows under the pitch range, the highest sound on top."""
    used = sorted({int(p) for t in tables for p in t[:, 0]}, reverse=True)
    return {pitch: low - _DRUM_LANE_GAP - _DRUM_ROW * (k + 0.5) for k, pitch in enumerate(used)}


def _draw_keyboard_stripes(ax: Axes, low: int, high: int) -> None:
    """Shade the black-key rows lightly and draw a faint line under each C, across the whole axes."""
    rows = [p for p in range(low, high + 1) if p % 12 in _BLACK_KEYS]
    boxes = [[(0, p - 0.5), (1, p - 0.5), (1, p + 0.5), (0, p + 0.5)] for p in rows]
    ax.add_collection(
        PolyCollection(boxes, facecolors="#f2f2f2", edgecolors="none", transform=ax.get_yaxis_transform(), zorder=0),
        autolim=False,
    )
    for pitch in range(low, high + 1):
        if pitch % 12 == 0:
            ax.axhline(pitch - 0.5, color="#d0d0d0", lw=0.6, zorder=0.5)


def _draw_grid(ax: Axes, multitrack: Multitrack, to_bars: Callable[[np.ndarray], np.ndarray]) -> None:
    """Bar lines at the downbeats (every 2nd, 4th, ... bar when bars are narrow) and lighter beat lines."""
    starts = np.unique(np.asarray(multitrack.downbeats, dtype=np.int64))
    if not len(starts):
        return
    every = _bar_line_every(ax, len(starts))
    bars = to_bars(starts[::every])
    ax.vlines(bars, 0, 1, transform=ax.get_xaxis_transform(), colors="#7a7a7a", lw=0.9, zorder=1)
    ends = np.append(starts[1:], max(multitrack.n_steps, starts[-1] + 1))
    beats: list[float] = []
    for start, end in zip(starts, ends, strict=True):
        beats.extend(np.arange(start, end - 1e-6, _beat_steps(multitrack, int(start)))[1:])
    if beats and ax.bbox.width / (len(beats) + len(starts)) >= _MIN_BEAT_SPACING_PX:  # skipped when crowded
        ax.vlines(to_bars(np.array(beats)), 0, 1, transform=ax.get_xaxis_transform(), colors="#dddddd", lw=0.6)


def _bar_line_every(ax: Axes, n_bars: float) -> int:
    """Draw every bar line, or every 2nd, 4th, 8th ... so that lines stay a few pixels apart."""
    bar_px = ax.bbox.width / max(n_bars, 1.0)
    every = 1
    while every * bar_px < _MIN_BAR_SPACING_PX and every < n_bars:
        every *= 2
    return every


def _note_boxes(table: np.ndarray, to_bars: Callable[[np.ndarray], np.ndarray], resolution: int) -> np.ndarray:
    """Rectangles (notes, 4 corners, xy) for notes ``(pitch, start, end, velocity)``, a hair short at the end."""
    starts, ends = table[:, 1], table[:, 2]
    gap = np.minimum(0.2 * (ends - starts), resolution / 24.0)
    x0, x1 = to_bars(starts), to_bars(ends - gap)
    y0, y1 = table[:, 0] - 0.42, table[:, 0] + 0.42
    return np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)


def _drum_marker_size(ax: Axes, multitrack: Multitrack) -> float:
    """Scatter marker area (points²) for drum hits: about an eighth note wide, 2 to 6 points across."""
    _, n_bars = _bar_axis(multitrack)
    width_pt = ax.bbox.width * 72.0 / ax.figure.dpi
    steps = max(n_bars * _bar_steps(multitrack, 0), 1.0)
    diameter = np.clip(width_pt / steps * multitrack.resolution / 2 * 0.8, 2.0, 6.0)
    return float(diameter**2)


def _melody_outline_width(ax: Axes, n_bars: float) -> float:
    """Line width (points) of the melody's outline: 1.1 when a bar is wide, down to 0.4 for long pieces."""
    bar_pt = ax.bbox.width * 72.0 / ax.figure.dpi / max(n_bars, 1.0)
    return float(np.clip(bar_pt / 60.0, 0.4, 1.1))


def _label_axes(ax: Axes, low: int, high: int, drum_rows: dict[int, float]) -> None:
    """Note names at the Cs (and E, G on narrow ranges) and drum names at the drum rows."""
    step_names = (0, 4, 7) if high - low <= 24 else (0,)
    pitches = [p for p in range(low, high + 1) if p % 12 in step_names]
    labels = [pitch_name(p) for p in pitches]
    ticks: list[float] = list(pitches)
    for pitch, row in drum_rows.items():
        ticks.append(row)
        labels.append(_drum_name(pitch))
    order = np.argsort(ticks)
    ax.yaxis.set_major_locator(FixedLocator([ticks[i] for i in order]))
    ax.set_yticklabels([labels[i] for i in order], fontsize=7)
    ax.tick_params(axis="y", length=2)


def _legend_handles(multitrack: Multitrack, colors: list[str], melody: int | None) -> list[Any]:
    """A patch (pitched) or marker (drums) per track, labelled ``name: instrument``."""
    handles: list[Any] = []
    for track in range(multitrack.n_tracks):
        name = multitrack.names[track].strip() or f"Track {track + 1}"
        if multitrack.is_drum[track]:
            label = f"{name}: drum kit"
            handles.append(Line2D([], [], marker="D", ls="none", color=colors[track], markersize=5, label=label))
            continue
        label = f"{name}: {performed_instrument(multitrack.programs[track], multitrack.roles[track])}"
        if track == melody:
            handles.append(Patch(facecolor=colors[track], edgecolor="#1a1a1a", lw=1.1, label=f"{label} (melody)"))
        else:
            handles.append(Patch(facecolor=colors[track], alpha=NOTE_ALPHA, label=label))
    return handles


def _drum_name(pitch: int) -> str:
    import pretty_midi

    name = pretty_midi.note_number_to_drum_name(pitch)
    return name or f"drum {pitch}"


def save_png(figure: Figure, path: str | Path, dpi: int, *, tight: bool = True) -> None:
    """Write ``figure`` as a PNG file atomically (:func:`museforge.files.atomic_write`: a reader never sees half a
    picture); ``tight`` trims the white margin. MuseforgeError when the folder is missing or the disk is full."""
    bbox = "tight" if tight else None
    atomic_write(
        Path(path),
        lambda temporary: figure.savefig(temporary, format="png", dpi=dpi, bbox_inches=bbox, facecolor="white"),
    )
