"""Jazz: OpenBook real-book lead sheets (melody, block chords, walking bass) with Groove MIDI jazz drums.

Roles come from the track names, not the programs: "Melody:Voice" is the melody, "Chords:" the piano, "Walking
Bass (auto)" the bass; a lead sheet without a melody track (Cheek to Cheek) is skipped. Tunes of every
meter are used (2/2 bars are four beats long, so 4/4).

The MIDI files put their time signature at time 0 even when the tune opens with a pickup, while the walking bass
(written by a program from the chords) starts on the first full bar: bar lines are therefore placed every bar
from the first bass note (when it falls on a beat), and the pickup before it is not a bar.

The lead sheets have no drums. So that the model learns a whole band, every lead-sheet window is paired with a
drum part: the Groove MIDI Dataset's jazz *beat* performances (human drummers, 4/4 and two in 3/4; fills are
left out) are cut into all their window-long segments starting on a bar line (a beat shorter than that is looped)
with drums in every bar, and each window draws one segment of its own meter at random (seeded, so builds repeat)
from the drums of its own split or, where that split has none of its meter, of any split; a window of a meter no
Groove beat plays (6/8) is left out. The drums are split in time, not by performance (:func:`bar_splits`): a beat
at least ten windows long gives its first 80 % of bars to the training split, the next 10 % to the validation
split and the last 10 % to the test split, so that every split hears the same drummers and styles in the same
proportions. Split by performance (Groove's own split), the test split's four jazz beats were half funk and fusion
(snare on 2 and 4 in 65 % of bars against 27 % in training), and the test figures measured the pairing instead of
the model. A shorter beat is wholly the training split's. The drums are independent of the tune they are paired
with, which the manifest notes say. Without the Groove folder the dataset has no drums track. The Groove drummers
played a Roland kit, whose hi-hat edges, third tom's rim and crash edges are keys General MIDI plays as other
instruments (or not at all): they are moved onto their own instrument's key
(:data:`museforge.music.drums.ROLAND_TD11_TO_GM`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums, source_dirs
from museforge.datasets.cache import SplitData
from museforge.datasets.windows import BEATS_PER_BAR, SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.drums import ROLAND_TD11_TO_GM, roland_to_general_midi
from museforge.music.meter import bar_steps
from museforge.music.midi import read_midi
from museforge.music.pianoroll import N_PITCHES, Multitrack

DEFAULT_RESOLUTION = 12
DEFAULT_HOP_BARS = 1
TRACKS = [TrackSpec("melody", "Melody"), TrackSpec("piano", "Piano"), TrackSpec("bass", "Bass")]
DRUMS = {"role": "drums", "name": "Drums", "program": 0, "is_drum": True}
#: Seed of the random pairing of lead-sheet windows with drum segments.
DRUM_SEED = 1234
#: A Groove beat at least this many windows long is split in time among our splits (:func:`bar_splits`).
SPLIT_IN_TIME_WINDOWS = 10
#: The share of such a beat's bars that goes to each of the validation and test splits.
HELD_OUT_SHARE = 0.1


def plan(source_root: Path | None) -> SourcePlan:
    """The lead sheets under ``jazz/openbook_realbook_with_bass`` (and the Groove drums folder, if present)."""
    if source_root is None:
        raise MuseforgeError("jazz needs a source folder (--source DIR)")
    folders = source_dirs("jazz", source_root)
    folder = folders.get("openbook_realbook_with_bass")
    if folder is None:
        raise MuseforgeError(f"no jazz/openbook_realbook_with_bass folder under {source_root}")
    refs = [SongRef(p.stem, p.stem, None, str(p)) for p in sorted((folder / "midis_with_bass").glob("*.mid"))]
    groove = folders.get("groove_midi_drums_gmd")
    return SourcePlan(
        root=str(source_root),
        refs=refs,
        checksums=checksums(folders),
        tracks=TRACKS,
        notes=[
            "Roles by track name (Melody:Voice, Chords:, Walking Bass (auto)); tunes of every meter (2/2 as 4/4); "
            "bar lines from the first walking-bass note, so a pickup is not a bar; split by a hash of the tune "
            "(80/10/10)."
        ],
        context={"groove": groove},
    )


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One lead sheet as melody, piano (the chords) and bass, bar lines from the walking bass."""
    multitrack = read_midi(ref.payload, resolution)
    names = [n.strip().lower() for n in multitrack.names]
    melody = [i for i, n in enumerate(names) if n.startswith("melody")]
    chords = [i for i, n in enumerate(names) if n.startswith("chords")]
    bass = [i for i, n in enumerate(names) if "bass" in n]
    if not melody:
        raise SkipSong("no melody")
    layout = [("melody", "Melody", melody, False), ("piano", "Piano", chords, False), ("bass", "Bass", bass, False)]
    merged = merge_tracks(multitrack, layout)
    merged.downbeats = _bar_lines(merged)
    return merged


def _bar_lines(multitrack: Multitrack) -> np.ndarray:
    """Downbeats every bar from the first bass note (if it is on a beat and the tune has one meter)."""
    downbeats = np.asarray(multitrack.downbeats)
    if len(multitrack.time_signatures) != 1:
        return downbeats
    _, num, den = multitrack.time_signatures[0]
    bar = round(num * 4 * multitrack.resolution / den)
    onsets = np.flatnonzero(multitrack.onsets[2].any(axis=1))
    if not len(onsets) or onsets[0] % multitrack.resolution:
        return downbeats
    return np.arange(int(onsets[0]) % bar, multitrack.n_steps, bar, dtype=np.int64)


def finalize(
    splits: dict[str, SplitData], plan: SourcePlan, tracks: list[dict], resolution: int, n_bars: int
) -> list[dict]:
    """Add a drums track to every window, drawn from the Groove jazz beats of the same meter and split (of any
    split when its own has none); windows of a meter no Groove beat plays are left out."""
    groove: Path | None = plan.context.get("groove")
    pools = drum_segments(groove, resolution, n_bars) if groove is not None else {}
    if not any("4/4" in by_meter for by_meter in pools.values()):
        plan.notes.append("No Groove MIDI jazz drums found: the dataset has no drums track.")
        plan.checksums.pop("groove_midi_drums_gmd", None)
        return tracks
    rng = np.random.default_rng(DRUM_SEED)
    unpaired: dict[str, int] = {}
    for split, data in splits.items():
        meters = [f"{int(n)}/{int(d)}" for n, d in data.meters]
        keep = np.asarray([any(m in by_meter for by_meter in pools.values()) for m in meters], dtype=bool)
        for meter in {m for m, k in zip(meters, keep, strict=True) if not k}:
            unpaired[meter] = unpaired.get(meter, 0) + meters.count(meter)
        data.keep(keep)
        meters = [m for m, k in zip(meters, keep, strict=True) if k]
        drums = np.zeros((len(meters), n_bars * BEATS_PER_BAR * resolution, N_PITCHES), dtype=bool)
        for meter in sorted(set(meters)):
            rows = [i for i, m in enumerate(meters) if m == meter]
            pool = pools.get(split, {}).get(meter)
            if pool is None:
                pool = np.concatenate([by_meter[meter] for by_meter in pools.values() if meter in by_meter])
            drums[rows] = pool[rng.integers(len(pool), size=len(rows))]
        data.packed = np.concatenate([data.packed, np.packbits(drums, axis=-1)[:, None]], axis=1)
    counts = "; ".join(
        f"{meter}: " + ", ".join(f"{s} {len(pools.get(s, {}).get(meter, []))}" for s in ("train", "valid", "test"))
        for meter in sorted({m for by_meter in pools.values() for m in by_meter})
    )
    plan.notes.append(
        f"Drums: Groove MIDI jazz beats (fills left out) cut into {n_bars * BEATS_PER_BAR}-beat segments starting "
        f"on a bar line with drums in every bar ({counts} segments), each lead-sheet window paired with one of "
        f"its own meter at random (seed {DRUM_SEED}) from its own split where it has one; a beat of at least "
        f"{SPLIT_IN_TIME_WINDOWS} windows is split in time (first {1 - 2 * HELD_OUT_SHARE:.0%} of its bars train, "
        f"next {HELD_OUT_SHARE:.0%} valid, last {HELD_OUT_SHARE:.0%} test), a shorter one is the training split's; "
        "the drums are not played with the tune they are paired with. Roland TD-11 keys moved to their General "
        "MIDI instrument: "
        + ", ".join(f"{a} -> {b}" for a, b in ROLAND_TD11_TO_GM.items())
        + "."
        + (
            " Windows left out for want of drums in their meter: "
            + ", ".join(f"{m} ({n})" for m, n in sorted(unpaired.items()))
            + "."
            if unpaired
            else ""
        )
    )
    return [*tracks, dict(DRUMS)]


def drum_segments(groove: Path, resolution: int, n_bars: int) -> dict[str, dict[str, np.ndarray]]:
    """The drum segments of the Groove jazz beats, by our split name and meter.

    A segment is ``n_bars * 4 * resolution`` steps starting on one of the beat's bar lines (a beat shorter than
    that is looped), with drums in every bar it covers, all of whose bars lie in one split's stretch of the beat
    (:func:`bar_splits`). Returns ``{split: {"3/4": bool array (segments, steps,
    84)}}``.
    """
    try:
        rows = json.loads((groove / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MuseforgeError(f"cannot read {groove / 'info.json'}: {error}") from None
    steps = n_bars * BEATS_PER_BAR * resolution
    pools: dict[str, dict[str, list[np.ndarray]]] = {}
    for row in rows:
        signature = str(row.get("time_signature", ""))
        if row.get("beat_type") != "beat" or not signature.replace("-", "").isdigit() or "-" not in signature:
            continue
        numerator, denominator = (int(part) for part in signature.split("-", 1))
        if numerator < 1 or denominator < 1:
            continue
        try:
            multitrack = roland_to_general_midi(read_midi(groove / row["midi_filename"], resolution))
        except MuseforgeError:
            continue
        drums = [i for i in range(multitrack.n_tracks) if multitrack.is_drum[i]]
        if not drums:
            continue
        size = bar_steps(numerator, denominator, resolution)
        roll = np.any(multitrack.binarized()[drums], axis=0)  # (T, 84)
        n_full = -(-len(roll) // size)
        roll = np.concatenate([roll, np.zeros((n_full * size - len(roll), roll.shape[1]), bool)])
        covering = -(-steps // size)  # bars a segment touches
        if n_full < covering:
            roll = np.concatenate([roll] * (-(-covering // n_full)))
            n_full = len(roll) // size
        sounding = np.asarray(roll.reshape(n_full, size, -1).any(axis=(1, 2)), dtype=bool)
        for split, first, end in bar_splits(n_full, covering):
            for bar in range(first, end - covering + 1):
                if sounding[bar : bar + covering].all():
                    pools.setdefault(split, {}).setdefault(f"{numerator}/{denominator}", []).append(
                        roll[bar * size : bar * size + steps]
                    )
    return {split: {m: np.stack(v) for m, v in by_meter.items()} for split, by_meter in pools.items()}


def bar_splits(n_full: int, covering: int) -> list[tuple[str, int, int]]:
    """How one Groove beat of ``n_full`` bars is shared among our splits: ``(split, first bar, end bar)`` stretches.

    A beat at least :data:`SPLIT_IN_TIME_WINDOWS` windows (of ``covering`` bars) long is cut in time: the last
    :data:`HELD_OUT_SHARE` of its bars (at least one window) is the test split's, as many before them the
    validation split's, the rest the training split's; no segment crosses from one stretch into another. A
    shorter beat is wholly the training split's: held out whole, one short beat was a split's whole style (a
    37-bar funk beat with a snare on 2 and 4 in 79 % of bars).
    """
    if n_full < SPLIT_IN_TIME_WINDOWS * covering:
        return [("train", 0, n_full)]
    held = max(covering, round(HELD_OUT_SHARE * n_full))
    test_from = n_full - held
    valid_from = test_from - held
    return [("train", 0, valid_from), ("valid", valid_from, test_from), ("test", test_from, n_full)]
