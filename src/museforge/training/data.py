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

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.datasets.cache import load_dataset
from museforge.errors import MuseforgeError
from museforge.music.keys import transpose_rolls
from museforge.music.tracks import unique_roles
from museforge.sampling.generation import window_shifts

#: Model-config keys the data decide.
DATA_KEYS: tuple[str, ...] = ("n_tracks", "steps_per_bar", "n_pitches", "lowest_pitch")


@dataclass(frozen=True)
class DataFacts:
    """What a model must know about its data to be trained and to compose (stored in the model card).

    Attributes
    ----------
    genre : str
        Dataset genre.
    resolution, beats_per_bar, steps_per_bar : int
        Grid: steps per beat, beats per bar, steps per bar.
    n_bars : int
        Bars per model window (``T = n_bars * steps_per_bar``).
    lowest_pitch, n_pitches : int
        Pitch window: column 0 is MIDI ``lowest_pitch``.
    melody : dict
        The melody track: ``role``, ``name``, ``program``, ``is_drum``.
    tracks : list of dict
        The accompaniment tracks the generator writes, in output order, same keys.
    augmentation : tuple of int
        Transposition range ``(lo, hi)`` in semitones used for pitched tracks.
    windows : dict
        Model windows per split.
    common_key : bool
        Training windows were moved so that their melody's scale is C major / A minor
        (:mod:`museforge.music.keys`); whoever composes moves the melody there and the accompaniment back.
    """

    genre: str
    resolution: int
    beats_per_bar: int
    steps_per_bar: int
    n_bars: int
    lowest_pitch: int
    n_pitches: int
    melody: dict[str, Any]
    tracks: list[dict[str, Any]]
    augmentation: tuple[int, int]
    windows: dict[str, int]
    common_key: bool = False

    @property
    def roles(self) -> list[str]:
        """Unique role names of the accompaniment tracks (a repeated role gets ``_2``, ``_3``, ...)."""
        return unique_roles([t["role"] for t in self.tracks])

    @property
    def drum_roles(self) -> list[str]:
        """Roles (as in :attr:`roles`) of the drum tracks."""
        return [r for r, t in zip(self.roles, self.tracks, strict=True) if t["is_drum"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the model card."""
        return {
            "genre": self.genre,
            "resolution": self.resolution,
            "beats_per_bar": self.beats_per_bar,
            "steps_per_bar": self.steps_per_bar,
            "n_bars": self.n_bars,
            "lowest_pitch": self.lowest_pitch,
            "n_pitches": self.n_pitches,
            "melody": self.melody,
            "tracks": self.tracks,
            "augmentation": list(self.augmentation),
            "windows": self.windows,
            "common_key": self.common_key,
        }


def _track(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": str(info.get("role", "")),
        "name": str(info.get("name", info.get("role", ""))),
        "program": int(info.get("program", 0)),
        "is_drum": bool(info.get("is_drum", False)),
    }


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

    Attributes
    ----------
    facts : DataFacts
        Grid, tracks and sizes (for the model card).
    packed : Tensor
        ``(N, 1 + K, T, ceil(P / 8))`` uint8 on ``device``: the training windows with their pitch axis packed
        into bits (``np.packbits`` order, pitch 0 in the highest bit); track 0 is the melody.
    """

    def __init__(
        self, genre: str, n_bars: int, device: torch.device, augment: bool = True, common_key: bool = False
    ) -> None:

        dataset = load_dataset(genre)
        m = dataset.manifest
        data_bars = int(m["n_bars"])
        if n_bars < 1 or data_bars % n_bars:
            raise MuseforgeError(
                f"the model works on {n_bars}-bar windows, which do not divide the {data_bars}-bar windows "
                f"of dataset {genre!r}"
            )
        tracks = [_track(t) for t in m["tracks"]]
        melody = int(m.get("melody_track", 0))
        accompaniment = [int(i) for i in m.get("accompaniment_tracks", [i for i in range(len(tracks)) if i != melody])]
        if not accompaniment:
            raise MuseforgeError(f"dataset {genre!r} has no accompaniment tracks to learn")
        self.order = [melody, *accompaniment]
        self.pieces = data_bars // n_bars
        steps_per_bar = int(m["steps_per_bar"])
        lo, hi = (int(v) for v in m.get("augmentation", (0, 0)))
        splits: dict[str, np.ndarray] = {}
        for split in ("train", "valid"):
            windows = np.asarray(dataset.windows(split), dtype=bool)
            identity = self.order == list(range(windows.shape[1]))
            splits[split] = windows if identity else windows[:, self.order]
        self._sample_source = _continuous_run(dataset, data_bars, splits)
        splits = {k: split_windows(v, self.pieces) for k, v in splits.items()}
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
                "test": int(m.get("splits", {}).get("test", {}).get("windows", 0)) * self.pieces,
            },
            common_key=common_key,
        )
        self.device = device
        self.augment = augment and hi > lo
        self._packed_host = np.packbits(splits["train"], axis=-1)
        packed = torch.from_numpy(self._packed_host)
        if device.type == "cuda":  # pinned: one fast copy
            packed = packed.pin_memory()
        self.packed = packed.to(device, non_blocking=True)
        self.valid = splits["valid"] if len(splits["valid"]) else splits["train"]
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

    def batch(self, indices: Tensor, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
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
        """
        x = self.unpack(self.packed.index_select(0, indices)).float()
        if self.augment:
            x = self._transpose(x, rng)
        return x[:, 0].contiguous(), x[:, 1:].contiguous()

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
        picks = np.linspace(0, len(pool) - 1, num=min(n, len(pool))).round().astype(int)
        if split == "valid":
            return pool[picks]
        return np.unpackbits(pool[picks], axis=-1, count=self.facts.n_pitches).astype(bool)

    def consecutive_windows(self, n: int) -> np.ndarray:
        """Up to ``n`` model windows that follow each other in one validation song: ``(n, 1 + K, T, P)``.

        Laid end to end they are a continuous excerpt (the dataset's windows may overlap; these do not).
        """
        return split_windows(self._sample_source, self.pieces)[:n]


def _continuous_run(dataset: Any, data_bars: int, splits: dict[str, np.ndarray]) -> np.ndarray:
    """The longest run of back-to-back windows of the first validation song (train if none).

    Parameters
    ----------
    dataset : museforge.datasets.cache.Dataset
        Gives each window's song and first bar.
    data_bars : int
        Bars per dataset window.
    splits : dict
        ``{split: (N, 1 + K, T, P)}`` windows, tracks already in model order.

    Returns
    -------
    np.ndarray
        ``(n, 1 + K, T, P)`` bool dataset windows, window ``i + 1`` starting where window ``i`` ends.
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
        return splits[split][best]
    raise MuseforgeError("the dataset has no windows")
