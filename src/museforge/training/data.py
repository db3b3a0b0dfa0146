"""Training batches from a built dataset: the windows go to the device once, batches are gathered there.

The training windows stay on the device as packed bits (8 pitches per byte, 8x less memory than bool: pop at
12 steps per beat: 135 MB instead of 1.03 GB); a batch is gathered and unpacked there.

The dataset cache (:func:`museforge.datasets.cache.load_dataset`) holds windows ``(N, tracks, T, 84)`` of
``n_bars`` bars. A model may work on shorter windows (the U-Net on 2 bars): each window is then cut into
``dataset bars / model bars`` consecutive pieces. Tracks are reordered once so that the melody is track 0
and the accompaniment (what the generator writes) follows, in the dataset's order.

Batches are drawn without replacement in an order that depends only on ``(seed, epoch)``, so a run resumed
in the middle of an epoch sees the same batches as one that never stopped. Augmentation transposes each
window by a random number of semitones (melody and pitched tracks together, drums never), on the device,
with the trainer's random generator.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.datasets.cache import load_dataset, unpack
from museforge.errors import MuseforgeError
from museforge.music.drums import kit_pitches
from museforge.music.instruments import playable_share
from museforge.music.keys import onset_counts, transpose_rolls
from museforge.music.meter import window_grid
from museforge.music.ranges import line_range
from museforge.music.rhythm import change_counts, change_grid
from museforge.sampling.generation import window_shifts
from museforge.training.facts import DataFacts, track_spec

#: Model-config keys the data decide.
DATA_KEYS: tuple[str, ...] = ("n_tracks", "steps_per_bar", "n_pitches", "lowest_pitch")


def split_windows(windows: np.ndarray, pieces: int) -> np.ndarray:
    """Cut each window into ``pieces`` consecutive shorter ones.

    Parameters
    ----------
    windows : np.ndarray
        ``(N, tracks, T, P)``.
    pieces : int
        Divides ``T``.

    Returns
    -------
    np.ndarray
        ``(N * pieces, tracks, T // pieces, P)``; pieces of one window are adjacent, in time order.
    """
    if pieces == 1:
        return windows
    n, tracks, steps, pitches = windows.shape
    cut = windows.reshape(n, tracks, pieces, steps // pieces, pitches).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(cut).reshape(n * pieces, tracks, steps // pieces, pitches)


def epoch_permutation(n: int, seed: int, epoch: int) -> Tensor:
    """The order of the ``n`` training windows in ``epoch``: a function of ``(seed, epoch)`` only."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1))
    return torch.randperm(n, generator=g)


class TrainingData:
    """A genre's windows, ready for training: train split on the device, evaluation windows on the host.

    Parameters
    ----------
    genre : str
        A built dataset.
    n_bars : int
        Bars per model window; must divide the dataset's window length.
    device : torch.device
        Where the training windows live.
    augment : bool
        Transpose batches randomly within the dataset's augmentation range (never with ``common_key``).
    common_key : bool
        Move each training window so that its melody's scale is C major / A minor (see
        :func:`museforge.sampling.generation.window_shifts`); evaluation windows stay in their own key.
    all_meters : bool
        Train on the windows of every meter (for a network that reads the metric grid); else on the 4/4 windows
        only. The validation windows (the logs' metrics) hold every meter either way, as `museforge evaluate`'s do.

    Attributes
    ----------
    facts : DataFacts
        Grid, tracks and sizes (for the model card).
    packed : Tensor
        ``(N, 1 + K, T, ceil(P / 8))`` uint8 on ``device``: the training windows with their pitch axis packed
        into bits (``np.packbits`` order, pitch 0 in the highest bit); track 0 is the melody.
    """

    def __init__(
        self,
        genre: str,
        n_bars: int,
        device: torch.device,
        augment: bool = True,
        common_key: bool = False,
        all_meters: bool = False,
    ) -> None:

        dataset = load_dataset(genre)
        m = dataset.manifest
        data_bars = int(m["n_bars"])
        if n_bars < 1 or data_bars % n_bars:
            raise MuseforgeError(
                f"the model works on {n_bars}-bar windows, which do not divide the {data_bars}-bar windows "
                f"of dataset {genre!r}"
            )
        tracks = [track_spec(t) for t in m["tracks"]]
        melody = int(m.get("melody_track", 0))
        accompaniment = [int(i) for i in m.get("accompaniment_tracks", [i for i in range(len(tracks)) if i != melody])]
        if not accompaniment:
            raise MuseforgeError(f"dataset {genre!r} has no accompaniment tracks to learn")
        self.order = [melody, *accompaniment]
        self.pieces = data_bars // n_bars
        steps_per_bar = int(m["steps_per_bar"])
        lo, hi = (int(v) for v in m.get("augmentation", (0, 0)))
        splits: dict[str, np.ndarray] = {}
        grids: dict[str, np.ndarray] = {}
        used: Counter = Counter()
        split_meters: dict[str, np.ndarray] = {}
        n_test = 0
        for split in ("train", "valid", "test"):
            meters = np.asarray(dataset.meters(split))
            kept = np.ones(len(meters), dtype=bool) if all_meters else (meters == (4, 4)).all(axis=1)
            used.update(f"{int(a)}/{int(b)}" for a, b in meters[kept])
            # a 4-beat model trains on the 4/4 windows and is measured on every meter, as `museforge evaluate` does
            if split == "test":
                n_test = len(meters)
                continue
            rows = kept if split == "train" else np.ones(len(meters), dtype=bool)
            windows = np.asarray(dataset.windows(split), dtype=bool)
            identity = self.order == list(range(windows.shape[1]))
            splits[split] = (windows if identity else windows[:, self.order])[rows]
            grids[split] = window_grid(meters[rows], int(m["resolution"]), windows.shape[2]).astype(bool)
            split_meters[split] = np.repeat(meters[rows], self.pieces, axis=0)
        sample_split, sample_rows = _continuous_run(dataset, data_bars)
        sample_windows = np.asarray(unpack(dataset.packed(sample_split)[sample_rows]), dtype=bool)
        self._sample_source = sample_windows[:, self.order]
        self._sample_grid = split_grids(
            window_grid(dataset.meters(sample_split)[sample_rows], int(m["resolution"]), sample_windows.shape[2]),
            self.pieces,
        ).astype(bool)
        splits = {k: split_windows(v, self.pieces) for k, v in splits.items()}
        grids = {k: split_grids(v, self.pieces) for k, v in grids.items()}
        train_counts = {k: onset_counts(splits["train"][:, k]) for k in range(1, len(self.order))}
        #: How many times each meter's training windows are used per epoch (:func:`meter_repeats`).
        self.meter_repeats: dict[str, int] = {}
        if all_meters:
            rows, self.meter_repeats = meter_repeats(split_meters["train"])
            splits["train"], grids["train"] = splits["train"][rows], grids["train"][rows]
            split_meters["train"] = split_meters["train"][rows]
        is_drum = [tracks[i]["is_drum"] for i in self.order]
        if common_key:
            train = splits["train"]
            shifts = window_shifts(train[:, 0], int(m["lowest_pitch"]))
            splits["train"] = transpose_rolls(train, shifts, is_drum)
            lo = hi = 0
        if len(splits["train"]) == 0:
            raise MuseforgeError(f"dataset {genre!r} has no training windows: rebuild it with more songs")
        self.facts = DataFacts(
            genre=genre,
            resolution=int(m["resolution"]),
            beats_per_bar=int(m.get("beats_per_bar", 4)),
            steps_per_bar=steps_per_bar,
            n_bars=n_bars,
            lowest_pitch=int(m["lowest_pitch"]),
            n_pitches=int(m["n_pitches"]),
            melody=tracks[melody],
            tracks=[tracks[i] for i in accompaniment],
            augmentation=(lo, hi),
            windows={
                "train": len(splits["train"]),
                "valid": len(splits["valid"]),
                "test": n_test * self.pieces,
            },
            common_key=common_key,
            meters=dict(used.most_common()),
            meter_repeats=self.meter_repeats,
        )
        roles = ["melody", *self.facts.roles]
        low = self.facts.lowest_pitch
        drum = {k for k in train_counts if tracks[self.order[k]]["is_drum"]}
        kit = {roles[k]: kit_pitches(counts, low) for k, counts in train_counts.items() if k in drum}
        ranges = {roles[k]: line_range(counts, low) for k, counts in train_counts.items() if k not in drum}
        pitched = [k for k in train_counts if k not in drum]
        res = self.facts.resolution
        moves = {roles[k]: change_grid(change_counts(splits["train"][:, k], res)) for k in pitched}
        self.facts = dataclasses.replace(
            self.facts,
            drum_kit=kit,
            line_range={role: span for role, span in ranges.items() if span is not None},
            change_grid={role: grid for role, grid in moves.items() if grid is not None},
            instrument_fit={
                roles[k]: round(playable_share(train_counts[k], low, spec["program"], spec["role"]), 4)
                for k in pitched
                for spec in [tracks[self.order[k]]]
            },
        )
        self.device = device
        self.augment = augment and hi > lo
        self._packed_host = np.packbits(splits["train"], axis=-1)
        packed = torch.from_numpy(self._packed_host)
        if device.type == "cuda":  # pinned: one fast copy
            packed = packed.pin_memory()
        self.packed = packed.to(device, non_blocking=True)
        self.valid = splits["valid"] if len(splits["valid"]) else splits["train"]
        self.valid_grid = grids["valid"] if len(splits["valid"]) else grids["train"]
        self.valid_meters = split_meters["valid"] if len(splits["valid"]) else split_meters["train"]
        self._grid_host = grids["train"]
        self._meters_host = split_meters["train"]
        #: ``(N, T, 2)`` bool on the device: each training window's metric grid (:mod:`museforge.music.meter`).
        self.grid = torch.from_numpy(grids["train"]).to(device)
        self._bits = torch.arange(7, -1, -1, dtype=torch.uint8, device=device)
        self._pitched = torch.tensor([not d for d in is_drum], device=device).view(1, -1, 1, 1)
        self._columns = torch.arange(self.facts.n_pitches, device=device)

    @property
    def n_train(self) -> int:
        """Training windows (after cutting to the model's length)."""
        return int(self.packed.shape[0])

    def unpack(self, packed: Tensor) -> Tensor:
        """``(..., ceil(P / 8))`` uint8 packed rows -> ``(..., P)`` bool, on their device."""
        bits = (packed.unsqueeze(-1) >> self._bits) & 1
        return bits.flatten(-2)[..., : self.facts.n_pitches].bool()

    def model_overrides(self, model_config: dict[str, Any]) -> dict[str, Any]:
        """The model config: the user's overrides plus what the data decide (a conflict is an error)."""
        decided = {
            "n_tracks": len(self.facts.tracks),
            "steps_per_bar": self.facts.steps_per_bar,
            "n_pitches": self.facts.n_pitches,
            "lowest_pitch": self.facts.lowest_pitch,
            "n_bars": self.facts.n_bars,
        }
        for key, value in decided.items():
            if key in model_config and model_config[key] != value:
                raise MuseforgeError(
                    f"model_config {key}={model_config[key]!r} does not fit dataset {self.facts.genre!r} "
                    f"(which needs {value})"
                )
        return {**model_config, **decided}

    def batch(self, indices: Tensor, rng: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
        """Gather (and maybe transpose) a batch on the device.

        Parameters
        ----------
        indices : Tensor
            ``(B,)`` int64 window indices on the device.
        rng : torch.Generator, optional
            Draws the transpositions (on the device); ignored without augmentation.

        Returns
        -------
        melody : Tensor
            ``(B, T, P)`` float32 in ``{0, 1}``.
        accompaniment : Tensor
            ``(B, K, T, P)`` float32 in ``{0, 1}``.
        meter : Tensor
            ``(B, T, 2)`` float32: the windows' metric grids (downbeats, beats).
        """
        x = self.unpack(self.packed.index_select(0, indices)).float()
        if self.augment:
            x = self._transpose(x, rng)
        return x[:, 0].contiguous(), x[:, 1:].contiguous(), self.grid.index_select(0, indices).float()

    def _transpose(self, x: Tensor, rng: torch.Generator | None) -> Tensor:
        """Shift the pitched tracks of each window by its own random number of semitones (drums stay)."""
        lo, hi = self.facts.augmentation
        shift = torch.randint(lo, hi + 1, (x.shape[0],), generator=rng, device=x.device)
        source = self._columns.view(1, -1) - shift.view(-1, 1)  # (B, P): output column p reads p - shift
        inside = (source >= 0) & (source < x.shape[-1])
        gathered = x.gather(-1, source.clamp(0, x.shape[-1] - 1).view(-1, 1, 1, x.shape[-1]).expand_as(x))
        shifted = gathered * inside.view(-1, 1, 1, x.shape[-1])
        return torch.where(self._pitched, shifted, x)

    def evaluation_windows(self, n: int, split: str = "valid") -> np.ndarray:
        """``n`` fixed windows, evenly spread over a split (``valid``, falling back to train if empty).

        Returns
        -------
        np.ndarray
            ``(min(n, N), 1 + K, T, P)`` bool; track 0 is the melody.
        """
        pool = self.valid if split == "valid" else self._packed_host
        picks = _spread(n, len(pool))
        if split == "valid":
            return pool[picks]
        return np.unpackbits(pool[picks], axis=-1, count=self.facts.n_pitches).astype(bool)

    def evaluation_grids(self, n: int, split: str = "valid") -> tuple[np.ndarray, np.ndarray]:
        """The metric grids ``(min(n, N), T, 2)`` bool and meters ``(min(n, N), 2)`` of :meth:`evaluation_windows`
        ``(n, split)`` (a piece of a longer dataset window keeps its window's meter)."""
        grids, meters = (
            (self.valid_grid, self.valid_meters) if split == "valid" else (self._grid_host, self._meters_host)
        )
        picks = _spread(n, len(grids))
        return grids[picks], meters[picks]

    def consecutive_windows(self, n: int) -> np.ndarray:
        """Up to ``n`` model windows that follow each other in one validation song: ``(n, 1 + K, T, P)``.

        Laid end to end they are a continuous excerpt (the dataset's windows may overlap; these do not).
        """
        return split_windows(self._sample_source, self.pieces)[:n]

    def consecutive_grids(self, n: int) -> np.ndarray:
        """The metric grids ``(n, T, 2)`` bool of :meth:`consecutive_windows` ``(n)``."""
        return self._sample_grid[:n]


#: A meter other than 4/4 is repeated in a meter-aware model's training windows until it has at least this share of
#: the 4/4 windows (a few hundred 3/4 windows among ten thousand 4/4 ones teach a waltz too rarely) ...
METER_MIN_SHARE = 0.15
#: ... but each window at most this many times per epoch (the same few songs over and over teach those songs).
METER_MAX_REPEATS = 4


def meter_repeats(meters: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """The training windows of an epoch with the rarer meters repeated: ``(rows (M,) int64 into meters,
    {meter: times each of its windows is used})``.

    ``meters`` (N, 2) are the windows' meters. Each meter other than 4/4 is used ``min(METER_MAX_REPEATS,
    ceil(METER_MIN_SHARE * n_4/4 / n_meter))`` times (at least once); 4/4 once. Without 4/4 windows nothing repeats.
    """
    meters = np.asarray(meters).reshape(-1, 2)
    names = np.asarray([f"{int(a)}/{int(b)}" for a, b in meters])
    common = int((names == "4/4").sum())
    rows = [np.arange(len(meters), dtype=np.int64)]
    repeats: dict[str, int] = {}
    for name in sorted(set(names.tolist())):
        count = int((names == name).sum())
        times = (
            1
            if name == "4/4" or not common
            else min(METER_MAX_REPEATS, max(1, -(-int(METER_MIN_SHARE * common) // count)))
        )
        repeats[name] = times
        if times > 1:
            rows.append(np.repeat(np.flatnonzero(names == name), times - 1))
    return np.concatenate(rows), repeats


def _spread(n: int, size: int) -> np.ndarray:
    """``min(n, size)`` indices evenly spread over ``range(size)``."""
    return np.linspace(0, size - 1, num=min(n, size)).round().astype(int)


def split_grids(grids: np.ndarray, pieces: int) -> np.ndarray:
    """Cut each window's metric grid ``(N, T, G)`` into ``pieces`` consecutive ones: ``(N * pieces, T // pieces, G)``,
    in the order of :func:`split_windows`."""
    n, steps, channels = grids.shape
    return np.ascontiguousarray(grids).reshape(n * pieces, steps // pieces, channels)


def _continuous_run(dataset: Any, data_bars: int) -> tuple[str, np.ndarray]:
    """The longest run of back-to-back windows of the first validation song (train if none).

    Parameters
    ----------
    dataset : museforge.datasets.cache.Dataset
        Gives each window's song and first bar.
    data_bars : int
        Bars per dataset window.

    Returns
    -------
    split : str
    rows : np.ndarray
        ``(n,)`` int indices of the split's windows, window ``i + 1`` starting where window ``i`` ends.
    """
    for split in ("valid", "train"):
        songs = np.asarray(dataset.song_index(split))
        if len(songs) == 0:
            continue
        bars = np.asarray(dataset.bars(split))
        rows = np.flatnonzero(songs == songs[0])
        by_bar = {int(bars[r]): int(r) for r in rows}
        best: list[int] = []
        for start in sorted(by_bar)[:data_bars]:
            run = []
            bar = start
            while bar in by_bar:
                run.append(by_bar[bar])
                bar += data_bars
            if len(run) > len(best):
                best = run
        return split, np.asarray(best, dtype=np.int64)
    raise MuseforgeError("the dataset has no windows")
