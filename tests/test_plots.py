"""Piano-roll and training-curve pictures: valid PNGs, every track visible in its colour, the melody outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread

from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.render.curves import save_loss_curves_png
from museforge.render.plots import (
    NOTE_ALPHA,
    plot_pianoroll,
    save_pianoroll_png,
    track_colors,
)

BEATLES = "rock/beatles_lmd_midi_ground_truth/mid/02_-_With_the_Beatles/03_-_All_My_Loving.v4.mid"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bars(multitrack: Multitrack, first: int, last: int) -> Multitrack:
    """Bars ``first``..``last - 1`` (0-based) of ``multitrack`` as a new multitrack starting at step 0."""
    start, stop = int(multitrack.downbeats[first]), int(multitrack.downbeats[last])
    return Multitrack(
        rolls=multitrack.rolls[:, start:stop],
        onsets=multitrack.onsets[:, start:stop],
        names=multitrack.names,
        roles=multitrack.roles,
        programs=multitrack.programs,
        is_drum=multitrack.is_drum,
        resolution=multitrack.resolution,
        tempos=[(0, multitrack.tempo)],
        time_signatures=[(0, *multitrack.time_signatures[0][1:])],
    )


@pytest.fixture(scope="module")
def song(shared_datasets: Path) -> Multitrack:
    return bars(read_midi(shared_datasets / BEATLES), 8, 16)  # 8 bars with melody, bass, nylon guitar and drums


def near(image: np.ndarray, color: str, alpha: float = 1.0, tolerance: float = 14.0) -> np.ndarray:
    """Mask of pixels within ``tolerance`` (0-255 units) of ``color`` drawn with ``alpha`` over white."""
    expected = (alpha * np.array(to_rgb(color)) + (1 - alpha)) * 255
    return np.abs(image[..., :3].astype(np.float64) - expected).max(axis=-1) <= tolerance


def render(multitrack: Multitrack, **kwargs) -> tuple[np.ndarray, tuple[slice, slice], Figure]:
    """Draw with :func:`plot_pianoroll` on an Agg canvas: RGB pixels, the axes' pixel region, the figure."""
    figure = Figure(figsize=(11, 6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    ax = plot_pianoroll(multitrack, figure.add_subplot(), **kwargs)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3]
    x0, y0, x1, y1 = ax.bbox.extents  # pixels from the bottom left
    height = image.shape[0]
    inside = (slice(int(height - y1) + 2, int(height - y0) - 2), slice(int(x0) + 2, int(x1) - 2))
    return image, inside, figure


def test_real_song_png_is_written_with_every_track_colour(song, tmp_path):
    path = tmp_path / "roll.png"
    save_pianoroll_png(song, path, title="All My Loving, bars 9-16")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    height, width = image.shape[:2]
    assert 800 <= width <= 3000 and 300 <= height <= 1400
    pixels = (image[..., :3] * 255).round()
    for track, color in enumerate(track_colors(song)):
        if song.rolls[track].any():
            alpha = 1.0 if track == 0 or song.is_drum[track] else NOTE_ALPHA
            assert near(pixels, color, alpha).sum() > 500, song.names[track]  # a legend patch alone is ~120
    assert [p.name for p in tmp_path.iterdir()] == ["roll.png"]


def test_notes_land_in_the_axes_in_their_track_colour(song):
    image, inside, _ = render(song, melody_track=0)
    plot_area = image[inside]
    colors = track_colors(song)
    assert colors[0] != colors[1] and len(set(colors)) == song.n_tracks
    for track in range(song.n_tracks):
        alpha = 1.0 if track == 0 or song.is_drum[track] else NOTE_ALPHA
        count = near(plot_area, colors[track], alpha).sum()
        if song.rolls[track].any():
            assert count > 30, song.names[track]
        else:  # a track silent in these bars leaves no trace among the notes (only in the legend)
            assert count == 0, song.names[track]


def test_drums_sit_in_a_lane_below_the_pitched_notes(song):
    image, inside, _ = render(song)
    plot_area = image[inside]
    colors = track_colors(song)
    pitched_rows = [np.flatnonzero(near(plot_area, colors[t], NOTE_ALPHA).any(axis=1)) for t in (1, 2)]
    lowest_note_row = max(rows.max() for rows in pitched_rows)  # image rows grow downwards
    for track in range(song.n_tracks):
        if song.is_drum[track] and song.rolls[track].any():
            drum_rows = np.flatnonzero(near(plot_area, colors[track]).any(axis=1))
            assert drum_rows.min() > lowest_note_row, song.names[track]


def test_the_melody_is_outlined_only_when_highlighted(song):
    outlined, inside, _ = render(song, melody_track=0)
    plain, _, _ = render(song, melody_track=None)
    dark = "#1a1a1a"
    assert near(outlined[inside], dark, tolerance=30).sum() > 100
    assert near(plain[inside], dark, tolerance=30).sum() == 0


def test_many_tracks_and_notes(tmp_path):
    rng = np.random.default_rng(0)
    tracks = []
    for index in range(20):
        starts = np.sort(rng.integers(0, 8000, 2000))
        lengths = rng.integers(1, 8, 2000)
        pitches = rng.integers(36, 48, 2000) if index == 19 else rng.integers(30, 90, 2000)
        notes = [(int(p), int(s), int(s + n), 100) for p, s, n in zip(pitches, starts, lengths, strict=True)]
        tracks.append(TrackNotes(f"Track {index}", "other", index * 6, index == 19, notes))
    music = Multitrack.from_notes(tracks, resolution=4)
    assert len(set(track_colors(music))) == 20
    save_pianoroll_png(music, tmp_path / "big.png")
    image = imread(tmp_path / "big.png")
    assert image.shape[1] <= 3000  # the width is capped however long the piece


@pytest.mark.parametrize("n_steps", [0, 32])
def test_a_multitrack_without_notes_still_draws(tmp_path, n_steps):
    empty = Multitrack.from_notes([TrackNotes("Melody", "melody", 0, False, [])], resolution=4, n_steps=n_steps)
    save_pianoroll_png(empty, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:8] == PNG_MAGIC


def test_drums_only_and_other_meters_draw(tmp_path):
    hits = [(36, s, s + 1, 100) for s in range(0, 72, 6)] + [(42, s, s + 1, 80) for s in range(0, 72, 3)]
    drums = Multitrack.from_notes([TrackNotes("Kit", "drums", 0, True, hits)], resolution=4, time_signature=(6, 8))
    assert list(drums.downbeats) == [0, 12, 24, 36, 48, 60]
    image, inside, _ = render(drums)
    assert near(image[inside], track_colors(drums)[0]).sum() > 50


def test_bad_arguments_give_one_line_errors(song, tmp_path):
    with pytest.raises(MuseforgeError, match="melody track 12"):
        save_pianoroll_png(song, tmp_path / "a.png", melody_track=12)
    with pytest.raises(MuseforgeError, match="does not exist"):
        save_pianoroll_png(song, tmp_path / "missing" / "a.png")
    with pytest.raises(MuseforgeError, match="does not exist"):
        save_loss_curves_png([], tmp_path / "missing" / "a.png")
    assert not list(tmp_path.iterdir())


def loss_records(n_epochs: int, with_metrics: bool) -> list[dict]:
    records = []
    for epoch in range(1, n_epochs + 1):
        record = {"epoch": epoch, "generator_loss": 2.0 / epoch, "discriminator_loss": 0.5 + 0.01 * epoch}
        if with_metrics:
            record["metrics"] = {
                "bass": {"empty_bar_rate": 0.5 / epoch, "in_scale_rate": 0.7 + 0.02 * epoch},
                "drums": {"empty_bar_rate": 0.3 / epoch, "in_scale_rate": float("nan"), "drum_pattern_rate": 0.8},
            }
            if epoch == 1:
                record["train_metrics"] = {"bass": {"empty_bar_rate": 0.1, "in_scale_rate": 0.95}}
        records.append(record)
    return records


def test_loss_curves_png(tmp_path):
    losses_only, with_metrics = tmp_path / "losses.png", tmp_path / "metrics.png"
    save_loss_curves_png(loss_records(12, with_metrics=False), losses_only)
    save_loss_curves_png(loss_records(12, with_metrics=True), with_metrics)
    for path in (losses_only, with_metrics):
        assert path.read_bytes()[:8] == PNG_MAGIC
    plain, full = imread(losses_only), imread(with_metrics)
    assert full.shape[0] > plain.shape[0] * 1.5  # a row of metric panels under the losses
    pixels = (full[..., :3] * 255).round()
    for color in ("#1f77b4", "#ff7f0e"):  # generator and discriminator lines (and the first two roles)
        assert near(pixels, color).sum() > 200


def test_loss_curves_with_no_epochs(tmp_path):
    save_loss_curves_png([], tmp_path / "none.png")
    assert (tmp_path / "none.png").read_bytes()[:8] == PNG_MAGIC
