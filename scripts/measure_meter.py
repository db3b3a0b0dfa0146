"""How the shipped models keep a melody's meter: drum and bass onsets on the beats of real 3/4, 6/8, 9/8 and
12/8 pieces, against the real pieces' own drums and bass (museforge.metrics.meter).

    python scripts/measure_meter.py --source ../shared/datasets [--genres rock jazz symphony] [--files 40]

Each piece of the genre's source data in one of those meters is read (its melody track picked as compose picks
it), composed under by the genre's model with seed 0, and both accompaniments are measured on the same bars.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from museforge.errors import MuseforgeError
from museforge.metrics.meter import meter_fit
from museforge.music.form import bar_spans
from museforge.music.inputs import pick_melody_track
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.pipelines.compose import compose

METERS = ((3, 4), (6, 8), (9, 8), (12, 8))
FOLDERS = {"rock": "rock/beatles_lmd_midi_ground_truth", "jazz": "jazz", "symphony": "symphony"}


def rhythm_onsets(music: Multitrack, skip: int | None = None) -> np.ndarray:
    """(K, S) bool: the onsets of the drum and bass tracks (any pitch), leaving out track ``skip``."""
    keep = [i for i in range(music.n_tracks) if i != skip and (music.is_drum[i] or music.roles[i] == "bass")]
    if not keep:
        return np.zeros((0, music.n_steps), dtype=bool)
    return music.onsets[keep].any(axis=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--genres", nargs="+", default=list(FOLDERS))
    parser.add_argument("--files", type=int, default=40, help="most pieces per genre and meter")
    args = parser.parse_args()
    for genre in args.genres:
        rows: dict[str, dict[str, list[float]]] = {}
        for path in sorted((args.source / FOLDERS[genre]).rglob("*.mid")):
            try:
                music = read_midi(path, resolution=4)
            except MuseforgeError:
                continue
            if tuple(music.meter) not in METERS:
                continue
            key = "/".join(map(str, music.meter))
            if len(rows.get(key, {}).get("real_beat", [])) >= args.files:
                continue
            try:
                melody = pick_melody_track(music)
                made = compose(music, genre, melody_track=melody, seed=0).multitrack
            except MuseforgeError:
                continue
            spans = bar_spans(music.n_steps, music.downbeats)
            numerator, denominator = music.meter
            real = meter_fit(rhythm_onsets(music, melody), spans, numerator, denominator, 4)
            mine = meter_fit(rhythm_onsets(made, 0), spans, numerator, denominator, 4)
            if real["beat_onset_share"] is None:
                continue
            row = rows.setdefault(key, {})
            for name, value in (
                ("real_beat", real["beat_onset_share"]),
                ("generated_beat", mine["beat_onset_share"]),
                ("real_downbeat", real["downbeat_rate"]),
                ("generated_downbeat", mine["downbeat_rate"]),
            ):
                if value is not None:
                    row.setdefault(name, []).append(value)
        for key, row in rows.items():
            means = {name: round(float(np.mean(values)), 3) for name, values in row.items()}
            print(json.dumps({"genre": genre, "meter": key, "pieces": len(row["real_beat"]), **means}))


if __name__ == "__main__":
    main()
