"""Objective music metrics over piano rolls: pure NumPy, used in training logs, ``museforge evaluate`` and the
shipping bar for pretrained models.

- :mod:`museforge.metrics.tracks`: per-track metrics after MuseGAN and muspy (empty bars, pitch classes, qualified
  notes, in-scale, polyphony, range, drum pattern); :mod:`museforge.metrics.harmony`: tonal distance between tracks;
- :mod:`museforge.metrics.voices`: the four-voice chorale checks (ranges, crossings, parallel fifths and octaves);
- :mod:`museforge.metrics.melody`: how a track fits the melody (key fit, consonance, doubling, in-scale against
  the melody's key);
- :mod:`museforge.metrics.texture`: flicker, drum repetition and backbeat, semitone clusters, notes outside the
  instrument's range, ensemble crowding, and the overlap of two renderings (seed diversity);
- :mod:`museforge.metrics.form`: repeat fidelity (the accompaniment where the melody repeats a bar);
- :mod:`museforge.metrics.meter`: meter fit (drum and bass onsets on the meter's beats and downbeats);
- :mod:`museforge.metrics.bars`: each window's own bars, read from its metric grid (the drums' patterns are
  measured in them);
- :mod:`museforge.metrics.report`: all of them as one table per window set (:func:`music_metrics`).
"""

from museforge.metrics.form import repeat_fidelity
from museforge.metrics.harmony import tonal_distance, tonal_distances
from museforge.metrics.melody import (
    CONSONANT_INTERVALS,
    consonance,
    key_fit,
    melody_doubling,
    melody_in_scale_rate,
    melody_scales,
)
from museforge.metrics.meter import meter_fit, windows_meter_fit
from museforge.metrics.report import DRUM_METRICS, ENSEMBLE_METRICS, PITCHED_METRICS, music_metrics
from museforge.metrics.texture import (
    backbeat_rate,
    cell_overlap,
    crowded,
    drum_repetition,
    ensemble_notes,
    one_step_note_rate,
    out_of_range_rate,
    semitone_cluster_rate,
)
from museforge.metrics.tracks import (
    drum_pattern_rate,
    empty_bar_rate,
    in_scale_rate,
    pitch_range,
    polyphonic_rate,
    qualified_note_rate,
    relative_gap,
    track_metrics,
    used_pitch_classes,
)
from museforge.metrics.voices import (
    SATB_RANGES,
    ParallelMotion,
    parallel_fifths_octaves,
    voice_crossings,
    voice_range_violations,
    voices_from_rolls,
)

__all__ = [
    "CONSONANT_INTERVALS",
    "DRUM_METRICS",
    "ENSEMBLE_METRICS",
    "PITCHED_METRICS",
    "SATB_RANGES",
    "ParallelMotion",
    "backbeat_rate",
    "cell_overlap",
    "consonance",
    "crowded",
    "drum_pattern_rate",
    "drum_repetition",
    "empty_bar_rate",
    "ensemble_notes",
    "in_scale_rate",
    "key_fit",
    "melody_doubling",
    "melody_in_scale_rate",
    "melody_scales",
    "meter_fit",
    "music_metrics",
    "one_step_note_rate",
    "out_of_range_rate",
    "parallel_fifths_octaves",
    "pitch_range",
    "polyphonic_rate",
    "qualified_note_rate",
    "relative_gap",
    "repeat_fidelity",
    "semitone_cluster_rate",
    "tonal_distance",
    "tonal_distances",
    "track_metrics",
    "used_pitch_classes",
    "voice_crossings",
    "voice_range_violations",
    "voices_from_rolls",
    "windows_meter_fit",
]
