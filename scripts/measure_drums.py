"""Which kit pieces a shipped model's drums play, against its genre's real drums (museforge.music.drums).

    python scripts/measure_drums.py [--genres rock jazz] [--seeds 5] [--melodies-from symphony --source DIR]

Every built-in melody (and with ``--melodies-from G`` the melodies of genre G's source pieces, tunes the model
never saw) is composed under by the genre's model with seeds 0..N-1. Printed per genre, as JSON: the share of the
drum hits outside the kit the genre's data play (the card's ``data.drum_kit``, else computed from the dataset's
training windows as a training run records it), outside the General MIDI percussion map, the most hit keys, and on
4/4 melodies the snare on beats 2 and 4 (``backbeat_rate``) and bar-to-bar repetition (``drum_repetition``), with
the same figures of the genre's real test windows.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from museforge.datasets.cache import load_dataset
from museforge.errors import MuseforgeError
from museforge.metrics.texture import backbeat_rate, drum_repetition
from museforge.models.loading import find_model
from museforge.music.drums import GM_PERCUSSION, kit_pitches
from museforge.music.inputs import pick_melody_track
from museforge.music.keys import onset_counts
from museforge.music.melodies import list_melodies, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.pipelines.compose import compose
from museforge.sampling.notes import drum_kits

FOLDERS = {
    "symphony": "symphony",
    "rock": "rock/beatles_lmd_midi_ground_truth",
    "jazz": "jazz/openbook_realbook_with_bass",
}


def melodies(source: Path | None, genre: str | None, files: int) -> list[tuple[str, Multitrack]]:
    """The built-in melodies, then up to ``files`` melodies of ``genre``'s source pieces."""
    out = [(m.name, melody_to_multitrack(m, resolution=4)) for m in list_melodies()]
    if genre is None or source is None:
        return out
    for path in sorted((source / FOLDERS[genre]).rglob("*.mid"))[: files * 3]:
        try:
            music = read_midi(path, resolution=4)
            index = pick_melody_track(music)
        except MuseforgeError:
            continue
        out.append((path.stem, music.select([index])))
        if len(out) >= len(list_melodies()) + files:
            break
    return out


def shares(counts: Counter, kit: list[int]) -> dict:
    """Hit shares of a key counter: outside the kit, outside General MIDI, the top keys."""
    total = sum(counts.values()) or 1
    return {
        "hits": sum(counts.values()),
        "outside_kit": round(sum(n for k, n in counts.items() if k not in kit) / total, 4),
        "outside_general_midi": round(sum(n for k, n in counts.items() if k not in GM_PERCUSSION) / total, 4),
        "top_keys": [(int(k), round(n / total, 3)) for k, n in counts.most_common(8)],
    }


def measure(genre: str, pieces: list[tuple[str, Multitrack]], seeds: int) -> dict:
    card = find_model(genre).card
    drum = card.is_drum.index(True)
    dataset = load_dataset(genre)
    column = dataset.is_drum.index(True)
    test = np.asarray(dataset.windows("test"), dtype=bool)[:, column]
    train_counts = onset_counts(np.asarray(dataset.windows("train"), dtype=bool)[:, column])
    kit = drum_kits(card)[drum] or kit_pitches(train_counts, card.lowest_pitch)
    real = Counter({int(k) + card.lowest_pitch: int(n) for k, n in enumerate(onset_counts(test)) if n})
    generated: Counter = Counter()
    backbeat, repetition = [], []
    steps_per_bar = 4 * dataset.resolution
    for _name, melody in pieces:
        for seed in range(seeds):
            music = compose(melody, genre, seed=seed).multitrack
            track = music.roles.index(card.roles[drum])
            keys = np.nonzero(music.onsets[track])[1]
            generated.update(int(k) for k in keys)
            if music.meter == (4, 4):
                roll = music.binarized()[track]
                backbeat.append(float(backbeat_rate(roll, music.resolution)))
                repetition.append(float(drum_repetition(roll, 4 * music.resolution)))
    return {
        "genre": genre,
        "kit": kit,
        "compositions": len(pieces) * seeds,
        "generated": {
            **shares(generated, kit),
            "backbeat_rate": round(float(np.nanmean(backbeat)), 3),
            "drum_repetition": round(float(np.nanmean(repetition)), 3),
        },
        "real_test_windows": {
            **shares(real, kit),
            "backbeat_rate": round(float(np.nanmean(backbeat_rate(test, dataset.resolution))), 3),
            "drum_repetition": round(float(np.nanmean(drum_repetition(test, steps_per_bar))), 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="*", default=["rock", "jazz"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--melodies-from", default=None, choices=sorted(FOLDERS))
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    pieces = melodies(args.source, args.melodies_from, args.files)
    for genre in args.genres:
        print(json.dumps(measure(genre, pieces, args.seeds)), flush=True)


if __name__ == "__main__":
    main()
