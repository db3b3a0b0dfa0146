"""Melody token streams for the Extend Transformer, from built genre datasets.

Each song's melody is put back together from the dataset's (overlapping) windows, reduced to its top line,
moved to the common key (its scale to C major / A minor, when the run uses it) and tokenised
(:mod:`museforge.music.tokens`); a split's songs are joined into one stream, each song after a ``BOS`` token. The
training items are the stream's consecutive blocks of ``block_size + 1`` tokens (inputs and next-token targets),
in an order fixed by ``(seed, epoch)`` like every museforge run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.datasets.cache import load_dataset
from museforge.errors import MuseforgeError
from museforge.music.keys import pitch_key_shift
from museforge.music.tokens import BOS, MelodyTokenizer, Note, top_line


@dataclass(frozen=True)
class MelodyFacts:
    """What the card records about a Transformer's data (``to_dict``)."""

    genre: str
    resolution: int
    beats_per_bar: int
    steps_per_bar: int
    lowest_pitch: int
    n_pitches: int
    common_key: bool
    songs: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "genre": self.genre,
            "resolution": self.resolution,
            "beats_per_bar": self.beats_per_bar,
            "steps_per_bar": self.steps_per_bar,
            "lowest_pitch": self.lowest_pitch,
            "n_pitches": self.n_pitches,
            "common_key": self.common_key,
            "songs": self.songs,
            "tokens": self.tokens,
            "melody": {"role": "melody", "name": "Melody", "program": 0, "is_drum": False},
            "tracks": [],
        }


def song_melodies(genre: str, split: str) -> tuple[list[list[Note]], list[int], dict[str, Any]]:
    """Each song's melody line in ``split`` of a built dataset (its 4/4 windows): notes ``(MIDI pitch, start, end)``,
    bars, manifest."""

    dataset = load_dataset(genre)
    m = dataset.manifest
    steps_per_bar, lowest = int(m["steps_per_bar"]), int(m["lowest_pitch"])
    melody_track = int(m.get("melody_track", 0))
    # the windows in 4/4: the token grammar counts 4-beat bars, and windows of other meters do not fall on them
    four = (np.asarray(dataset.meters(split)) == (4, 4)).all(axis=1)
    windows = np.asarray(dataset.windows(split))[four][:, melody_track]  # (N, T, P)
    songs = np.asarray(dataset.song_index(split))[four]
    bars = np.asarray(dataset.bars(split))[four]
    window_bars = int(m["n_bars"])
    out: list[list[Note]] = []
    lengths: list[int] = []
    for song in np.unique(songs):
        rows = np.flatnonzero(songs == song)
        n_bars = int(bars[rows].max()) + window_bars
        roll = np.zeros((n_bars * steps_per_bar, windows.shape[-1]), dtype=bool)
        for r in rows:
            start = int(bars[r]) * steps_per_bar
            roll[start : start + windows.shape[1]] |= windows[r]
        out.append([(p + lowest, s, e) for p, s, e in top_line(roll)])
        lengths.append(n_bars)
    return out, lengths, m


def to_common_key(notes: list[Note], lowest: int, n_pitches: int) -> list[Note]:
    """The notes moved so that their scale is C major / A minor (notes pushed out of the window are dropped)."""
    shift = pitch_key_shift(p for p, _, _ in notes)
    return [(p + shift, s, e) for p, s, e in notes if lowest <= p + shift < lowest + n_pitches]


class MelodyData:
    """Token streams of one or more genres' melodies (genres joined by ``+``), ready for training.

    Attributes
    ----------
    facts : MelodyFacts
    train, valid : np.ndarray
        int64 token streams.
    """

    def __init__(self, genre: str, block_size: int, device: torch.device, common_key: bool = True) -> None:
        self.block_size = block_size
        self.device = device
        streams: dict[str, list[int]] = {"train": [], "valid": []}
        songs = {"train": 0, "valid": 0}
        grid: tuple[int, int, int, int, int] | None = None
        self.valid_songs: list[tuple[list[Note], int]] = []
        for part in genre.split("+"):
            for split in ("train", "valid"):
                melodies, lengths, m = song_melodies(part, split)
                this = (
                    int(m["resolution"]),
                    int(m.get("beats_per_bar", 4)),
                    int(m["steps_per_bar"]),
                    int(m["lowest_pitch"]),
                    int(m["n_pitches"]),
                )
                if grid is not None and this != grid:
                    raise MuseforgeError(
                        f"dataset {part!r} has another grid than the others (resolution {this[0]}): build every "
                        "dataset at the same resolution"
                    )
                grid = this
                tokenizer = MelodyTokenizer(this[2])
                for notes, n_bars in zip(melodies, lengths, strict=True):
                    if not notes:
                        continue
                    if common_key:
                        notes = to_common_key(notes, this[3], this[4])
                    streams[split] += [BOS, *tokenizer.encode(notes, n_bars)]
                    songs[split] += 1
                    if split == "valid":
                        self.valid_songs.append((notes, n_bars))
        assert grid is not None
        self.train = np.asarray(streams["train"], dtype=np.int64)
        self.valid = np.asarray(streams["valid"], dtype=np.int64)
        if len(self.valid) < block_size + 1:
            self.valid = self.train[-(block_size + 1) * 4 :]
        self.facts = MelodyFacts(
            genre=genre,
            resolution=grid[0],
            beats_per_bar=grid[1],
            steps_per_bar=grid[2],
            lowest_pitch=grid[3],
            n_pitches=grid[4],
            common_key=common_key,
            songs=songs,
            tokens={"train": len(self.train), "valid": len(self.valid)},
        )
        self._train = torch.from_numpy(self.train).to(device)

    @property
    def n_train(self) -> int:
        """Training blocks per epoch."""
        return max(0, (len(self.train) - 1) // self.block_size)

    def model_overrides(self, model_config: dict[str, Any]) -> dict[str, Any]:
        """The model config: the user's overrides plus the grid of the data (a conflict is an error)."""
        decided = {
            "steps_per_bar": self.facts.steps_per_bar,
            "lowest_pitch": self.facts.lowest_pitch,
            "n_pitches": self.facts.n_pitches,
        }
        for key, value in decided.items():
            if key in model_config and model_config[key] != value:
                raise MuseforgeError(f"model_config {key}={model_config[key]!r} does not fit the data (needs {value})")
        return {**model_config, **decided}

    def batch(self, indices: Tensor, rng: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Blocks ``indices (B,)``: inputs and targets ``(B, block_size)`` int64 on the device."""
        offsets = indices.view(-1, 1) * self.block_size + torch.arange(self.block_size + 1, device=indices.device)
        blocks = self._train[offsets]
        return blocks[:, :-1], blocks[:, 1:]

    def valid_blocks(self, n: int) -> np.ndarray:
        """Up to ``n`` consecutive validation blocks ``(n, block_size + 1)``."""
        count = min(n, (len(self.valid) - 1) // self.block_size)
        return np.stack(
            [self.valid[i * self.block_size : i * self.block_size + self.block_size + 1] for i in range(count)]
        )


#: Weight of the bigram counts against the unigram in the bigram baseline (interpolated smoothing).
BIGRAM_WEIGHT = 0.8


def ngram_losses(train: np.ndarray, valid: np.ndarray, vocab: int) -> dict[str, float]:
    """Per-token cross-entropy (nats) on ``valid`` of a unigram and a bigram model counted on ``train``: the
    baselines the Transformer's validation loss is measured against.

    The unigram is add-one smoothed; the bigram interpolates its counts with the unigram
    (``BIGRAM_WEIGHT * count(a, b) / count(a) + (1 - BIGRAM_WEIGHT) * unigram(b)``), so an unseen pair costs what
    the unigram says, not a flat floor.
    """
    unigram = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    unigram /= unigram.sum()
    pairs = np.zeros((vocab, vocab))
    np.add.at(pairs, (train[:-1], train[1:]), 1.0)
    totals = pairs.sum(axis=1, keepdims=True)
    conditional = np.divide(pairs, totals, out=np.zeros_like(pairs), where=totals > 0)
    weight = np.where(totals > 0, BIGRAM_WEIGHT, 0.0)
    bigram = weight * conditional + (1.0 - weight) * unigram[None, :]
    return {
        "unigram_loss": float(-np.log(unigram[valid[1:]]).mean()),
        "bigram_loss": float(-np.log(bigram[valid[:-1], valid[1:]]).mean()),
    }
