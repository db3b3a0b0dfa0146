"""The shipping bar: whether a model's music is close enough to the real music on the same windows to ship it."""

from __future__ import annotations

from typing import Any

from museforge.errors import MuseforgeError
from museforge.evaluate.compare import fmt

#: The metrics of the shipping bar, per pitched accompaniment track (and the melody's fit among them).
SHIPPING_METRICS: tuple[str, ...] = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "one_step_note_rate",
    "key_fit",
    "melody_in_scale_rate",
    "consonance",
    "melody_doubling",
    "polyphonic_rate",
    "semitone_cluster_rate",
)
#: ... per drum track.
SHIPPING_DRUM_METRICS: tuple[str, ...] = ("empty_bar_rate", "drum_pattern_rate", "drum_repetition", "backbeat_rate")
#: ... for the ensemble.
SHIPPING_ENSEMBLE_METRICS: tuple[str, ...] = ("crowded_window_rate",)
#: A generated metric passes when it is within this fraction of the real value on the same windows ...
RELATIVE_TOLERANCE = 0.15
#: ... or within this absolute distance of it, whichever is larger. Without a floor a real value near 0 would
#: allow no difference at all (Bach's empty-bar rate is exactly 0; jazz has no one-step notes). Rates in [0, 1]
#: get 0.03 (3 windows, notes or steps in 100); pitch classes per bar, counts, get a quarter of a pitch class;
#: tonal distances, about 0 to 2.5, get 0.05; parallel fifths and octaves per window a quarter of one.
ABSOLUTE_FLOOR: dict[str, float] = {
    "used_pitch_classes": 0.25,
    "tonal_distance": 0.05,
    "parallels_per_window": 0.25,
}
#: The floor of every rate not named in :data:`ABSOLUTE_FLOOR`.
RATE_FLOOR = 0.03
#: Notes outside the instrument's (or voice's) range: at most this share, whatever the real music does.
MAX_OUT_OF_RANGE = 0.02
#: The real-vs-generated classifier may tell at most this share of held-out windows apart (the goal is 0.70).
MAX_CLASSIFIER_ACCURACY = 0.80
#: Where the melody repeats a bar, the share of identical accompaniment repeats must be at least this part of the
#: real share (the overlap is held within :data:`RELATIVE_TOLERANCE` like every other metric).
MIN_IDENTICAL_SHARE = 0.5
#: Under each meter, the share of drum and bass onsets on its beats must be at least this part of the real share.
MIN_METER_SHARE = 0.8


# ------------------------------------------------------------------------------------------------ shipping bar
#: Metrics whose generated value is 0 where it is undefined: a track that never plays a chord has no clusters.
_ZERO_WHEN_UNDEFINED = ("semitone_cluster_rate",)


def _check(metric: str, cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """One metric against the real value: within 15 % of it or its absolute floor. None if real has no value."""
    if cell is None or cell.get("real") is None:
        return None
    real, mine = float(cell["real"]), cell.get("generated")
    if mine is None and metric in _ZERO_WHEN_UNDEFINED:
        mine = 0.0
    tolerance = max(RELATIVE_TOLERANCE * abs(real), ABSOLUTE_FLOOR.get(metric, RATE_FLOOR))
    difference = None if mine is None else float(mine) - real
    return {
        "generated": mine,
        "real": real,
        "difference": difference,
        "tolerance": tolerance,
        "passed": difference is not None and abs(difference) <= tolerance + 1e-12,
    }


def _range_check(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """Notes outside the instrument's range: at most :data:`MAX_OUT_OF_RANGE`, whatever the real value."""
    if cell is None or cell.get("generated") is None:
        return None
    mine = float(cell["generated"])
    return {
        "generated": mine,
        "real": cell.get("real"),
        "difference": None,
        "tolerance": MAX_OUT_OF_RANGE,
        "passed": mine <= MAX_OUT_OF_RANGE + 1e-12,
    }


def _at_least_check(cell: dict[str, Any] | None, part: float) -> dict[str, Any] | None:
    """A share that must reach at least ``part`` of the real share (a real share of 0 asks none): identical
    repeats (:data:`MIN_IDENTICAL_SHARE`), drum and bass onsets on the beats (:data:`MIN_METER_SHARE`)."""
    if cell is None or cell.get("real") is None:
        return None
    real, mine = float(cell["real"]), cell.get("generated")
    need = part * real
    return {
        "generated": mine,
        "real": real,
        "difference": None if mine is None else float(mine) - real,
        "tolerance": need,
        "passed": mine is not None and float(mine) >= need - 1e-12,
    }


def _section(checks: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    kept = {k: v for k, v in checks.items() if v is not None}
    return {"passed": all(c["passed"] for c in kept.values()), "metrics": kept}


def shipping_bar(result: dict[str, Any]) -> dict[str, Any]:
    """Whether a model's music is close enough to the real music on the same windows to ship the model.

    Every metric counts, not a chosen few:

    - per pitched accompaniment track, each of :data:`SHIPPING_METRICS` (empty bars, pitch classes, qualified and
      one-step notes, key fit, in-scale against the melody's key, consonance and doubling with the melody,
      polyphony, semitone clusters); per drum track :data:`SHIPPING_DRUM_METRICS` (empty bars, pattern,
      repetition, backbeat); for the ensemble :data:`SHIPPING_ENSEMBLE_METRICS`; every tonal distance; and for
      Bach every voice-leading check. Each passes when ``|generated - real| <= max(RELATIVE_TOLERANCE * |real|,
      floor)`` (15 %, floors in :data:`ABSOLUTE_FLOOR` and :data:`RATE_FLOOR`). A metric the real music does not
      define is skipped; one it defines but the generated music does not (a silent track) fails.
    - per pitched track, at most :data:`MAX_OUT_OF_RANGE` of the notes outside the instrument's range;
    - the melody's form, on whole songs (:mod:`museforge.evaluate.form`): the accompaniment's overlap where the
      melody repeats a bar within 15 % of the real overlap, and its share of identical repeats at least
      :data:`MIN_IDENTICAL_SHARE` of the real share;
    - the meter, per meter with enough held-out windows (:mod:`museforge.evaluate.meter`): the share of drum and
      bass onsets on the meter's beats at least :data:`MIN_METER_SHARE` of the real share;
    - the real-vs-generated classifier at most :data:`MAX_CLASSIFIER_ACCURACY` (when it ran).

    Parameters
    ----------
    result : dict
        A result of :func:`evaluate_model` (or :func:`evaluate_samples`).

    Returns
    -------
    dict
        ``passed``, ``split``, ``relative_tolerance``, ``absolute_floor``, ``rate_floor``, ``failures`` (one line
        per failed check), ``tracks`` (``{role: {passed, metrics: {metric: {generated, real, difference,
        tolerance, passed}}}}``, ``ensemble`` among them), ``tonal_distances``, ``voice_leading``, ``form``,
        ``meter`` and ``classifier`` (each ``{passed, metrics}``, empty where not measured).
    """
    if result.get("kind") not in ("model", "samples"):
        raise MuseforgeError("the shipping bar compares a model's music with the real music: evaluate a model")
    tracks: dict[str, Any] = {}
    for role, row in result["tracks"].items():
        if role == "ensemble":
            names: tuple[str, ...] = SHIPPING_ENSEMBLE_METRICS
        elif "drum_pattern_rate" in row:
            names = SHIPPING_DRUM_METRICS
        else:
            names = SHIPPING_METRICS
        checks = {metric: _check(metric, row.get(metric)) for metric in names}
        if "out_of_range_rate" in row:
            checks["out_of_range_rate"] = _range_check(row.get("out_of_range_rate"))
        tracks[role] = _section(checks)
    sections = {
        "tonal_distances": _section(
            {pair: _check("tonal_distance", cell) for pair, cell in (result.get("tonal_distances") or {}).items()}
        ),
        "voice_leading": _section(
            {check: _check(check, cell) for check, cell in (result.get("voice_leading") or {}).items()}
        ),
    }
    form = result.get("form") or {}
    sections["form"] = _section(
        {
            "repeat_overlap": _check("repeat_overlap", form.get("repeat_overlap")),
            "repeat_identical": _at_least_check(form.get("repeat_identical"), MIN_IDENTICAL_SHARE),
        }
    )
    sections["meter"] = _section(
        {
            f"beat_onset_share {meter}": _at_least_check(row.get("beat_onset_share"), MIN_METER_SHARE)
            for meter, row in (result.get("meter") or {}).items()
        }
    )
    clf = result.get("classifier") or {}
    if clf.get("accuracy") is not None:
        accuracy = float(clf["accuracy"])
        sections["classifier"] = _section(
            {
                "accuracy": {
                    "generated": accuracy,
                    "real": 0.5,
                    "difference": accuracy - 0.5,
                    "tolerance": MAX_CLASSIFIER_ACCURACY,
                    "passed": accuracy <= MAX_CLASSIFIER_ACCURACY,
                }
            }
        )
    else:
        sections["classifier"] = _section({})
    failures = [
        _failure(where, metric, check)
        for where, section in [*tracks.items(), *sections.items()]
        for metric, check in section["metrics"].items()
        if not check["passed"]
    ]
    return {
        "passed": bool(tracks) and not failures,
        "split": result.get("split"),
        "relative_tolerance": RELATIVE_TOLERANCE,
        "absolute_floor": dict(ABSOLUTE_FLOOR),
        "rate_floor": RATE_FLOOR,
        "failures": failures,
        "tracks": tracks,
        **sections,
    }


def _failure(where: str, metric: str, check: dict[str, Any]) -> str:
    if metric == "out_of_range_rate":
        return f"{where} notes outside the instrument's range {fmt(check['generated'])} (at most {MAX_OUT_OF_RANGE})"
    if metric == "repeat_identical":
        return f"form repeat_identical {fmt(check['generated'])} (at least {fmt(check['tolerance'])})"
    if where == "meter":
        return f"meter {metric} {fmt(check['generated'])} (at least {fmt(check['tolerance'])})"
    if where == "classifier":
        return f"classifier accuracy {fmt(check['generated'])} (at most {MAX_CLASSIFIER_ACCURACY})"
    return f"{where} {metric} {fmt(check['generated'])} vs {fmt(check['real'])} (allowed ±{fmt(check['tolerance'])})"


def format_shipping_bar(bar: dict[str, Any]) -> str:
    """One line: passed, or every check that missed."""
    head = (
        f"Shipping bar (every metric within {100 * RELATIVE_TOLERANCE:.0f} % of real, notes in range >= "
        f"{100 * (1 - MAX_OUT_OF_RANGE):.0f} %, classifier <= {MAX_CLASSIFIER_ACCURACY})"
    )
    if bar["passed"]:
        return f"{head}: passed"
    return f"{head}: FAILED {len(bar['failures'])} checks: " + "; ".join(bar["failures"])
