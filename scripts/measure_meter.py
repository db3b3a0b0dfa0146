"""How the shipped models keep a melody's meter: drum and bass onsets on the beats of real 3/4, 6/8, 9/8 and
12/8 pieces, against the real pieces' own drums and bass (museforge.metrics.meter).

    python scripts/measure_meter.py --source ../shared/datasets [--genres rock jazz] [--files 40]
        [--melodies-from symphony] [--samples]

Each piece of the genre's source data in one of those meters is read (its melody track picked as compose picks
it), composed under by the genre's model with seed 0, and both accompaniments are measured on the same bars.
``--melodies-from G`` composes under the melodies of genre G's pieces instead (tunes the model never saw) and
``--samples`` under the built-in samples in those meters; the real figure is then the genre's own pieces'.
``--bass-only`` measures the bass alone (the jazz lead sheets have a walking bass and no drums).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from museforge.errors import MuseforgeError
from museforge.metrics.meter import meter_fit
from museforge.music.form import bar_spans
from museforge.music.inputs import pick_melody_track
from museforge.music.melodies import get_melody, list_melodies, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.pipelines.compose import compose

METERS = ((3, 4), (6, 8), (9, 8), (12, 8))
FOLDERS = {
    "rock": "rock/beatles_lmd_midi_ground_truth",
    "jazz": "jazz/openbook_realbook_with_bass",
    "symphony": "symphony",
}


def rhythm_onsets(music: Multitrack, skip: int | None = None, drums: bool = True) -> np.ndarray:
    """(K, S) bool: the onsets of the drum (unless not ``drums``) and bass tracks (any pitch), leaving out track
    ``skip``."""
    keep = [
        i for i in range(music.n_tracks) if i != skip and ((drums and music.is_drum[i]) or music.roles[i] == "bass")
    ]
    if not keep:
        return np.zeros((0, music.n_steps), dtype=bool)
    return music.onsets[keep].any(axis=2)


def pieces(source: Path, genre: str, files: int) -> Iterator[tuple[str, Multitrack]]:
    """Up to ``files`` pieces per meter of ``genre``'s source folder, as ``(meter, music)``."""
    counts: dict[tuple[int, int], int] = {}
    for path in sorted((source / FOLDERS[genre]).rglob("*.mid")):
        try:
            music = read_midi(path, resolution=4)
        except MuseforgeError:
            continue
        meter = tuple(music.meter)
        if meter not in METERS or counts.get(meter, 0) >= files:  # type: ignore[comparison-overlap]
            continue
        counts[meter] = counts.get(meter, 0) + 1  # type: ignore[index]
        yield "/".join(map(str, meter)), music


def fit(music: Multitrack, onsets: np.ndarray) -> dict[str, float | None]:
    """Meter fit of ``onsets`` over the bars of ``music``."""
    numerator, denominator = music.meter
    return meter_fit(onsets, bar_spans(music.n_steps, music.downbeats), numerator, denominator, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--genres", nargs="+", default=["rock", "jazz"])
    parser.add_argument("--files", type=int, default=40, help="most pieces per genre and meter")
    parser.add_argument("--melodies-from", choices=sorted(FOLDERS), help="compose under this genre's melodies")
    parser.add_argument("--samples", action="store_true", help="compose under the built-in samples")
    parser.add_argument(
        "--bass-only", action="store_true", help="measure the bass alone (the jazz lead sheets have no drums)"
    )
    args = parser.parse_args()
    for genre in args.genres:
        rows: dict[str, dict[str, list[float]]] = {}
        for meter, music in pieces(args.source, genre, args.files):
            try:
                real = fit(music, rhythm_onsets(music, pick_melody_track(music), not args.bass_only))
            except MuseforgeError:  # a drums-only file (the Groove beats beside the jazz lead sheets)
                continue
            for name in ("beat_onset_share", "downbeat_rate"):
                if real[name] is not None:
                    rows.setdefault(meter, {}).setdefault(f"real_{name}", []).append(float(real[name]))  # type: ignore[arg-type]
        if args.samples:
            tunes = [
                melody_to_multitrack(get_melody(info.name), resolution=4)
                for info in list_melodies()
                if tuple(get_melody(info.name).time_signature) in METERS
            ]
            melodies = [("/".join(map(str, t.meter)), t) for t in tunes]
        else:
            melodies = list(pieces(args.source, args.melodies_from or genre, args.files))
        for meter, music in melodies:
            try:
                melody = pick_melody_track(music)
                made = compose(music, genre, melody_track=melody, seed=0).multitrack
            except MuseforgeError:
                continue
            mine = fit(music, rhythm_onsets(made, 0, not args.bass_only))
            for name in ("beat_onset_share", "downbeat_rate"):
                if mine[name] is not None:
                    rows.setdefault(meter, {}).setdefault(f"generated_{name}", []).append(float(mine[name]))  # type: ignore[arg-type]
        for meter, row in sorted(rows.items()):
            means = {name: round(float(np.mean(values)), 3) for name, values in sorted(row.items())}
            counts = {f"n_{name.split('_')[0]}": len(values) for name, values in row.items() if "beat_onset" in name}
            source = "samples" if args.samples else (args.melodies_from or genre)
            print(json.dumps({"genre": genre, "melodies": source, "meter": meter, **counts, **means}), flush=True)


if __name__ == "__main__":
    main()
