"""``docs/results.md``: where every shipped model stands, written by a command so that it can be regenerated.

:func:`write_results_markdown` evaluates each shipped model (:func:`museforge.evaluate.evaluate_model`, fixed
seed, melodies of the ``test`` split, which no model was trained or selected on) and the training data of its
genre (:func:`museforge.evaluate.evaluate_data`), and writes one Markdown page: a summary (classifier accuracy,
the metric with the largest gap, the shipping bar, per genre), then per genre the metric tables, the tonal
distances, Bach's voice-leading checks, a picture, and for rock and pop MuseGAN's published numbers beside ours.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from museforge.errors import MuseforgeError, NotFoundError
from museforge.evaluate import (
    MAX_CLASSIFIER_ACCURACY,
    MAX_OUT_OF_RANGE,
    RELATIVE_TOLERANCE,
    evaluate_data,
    evaluate_model,
    evaluate_samples,
    save_evaluation_png,
)
from museforge.evaluate.jam_report import jam_section
from museforge.evaluate.markdown import fmt, gap, name, table
from museforge.evaluate.techniques_report import techniques_section
from museforge.files import atomic_write
from museforge.pretrained import list_pretrained

__all__ = ["MUSEGAN_TABLE1", "MUSEGAN_TRACKS", "REGENERATE", "write_results_markdown"]

#: The command that writes the page (the CLI wires ``museforge evaluate --results PATH``).
REGENERATE = "museforge evaluate --results docs/results.md"

#: MuseGAN's track letters and the roles of our tracks they correspond to.
MUSEGAN_TRACKS: dict[str, str] = {"B": "bass", "D": "drums", "G": "guitar", "P": "piano", "S": "strings"}

#: MuseGAN (Dong, Hsiao, Yang & Yang, AAAI 2018), Table 1: metrics of its training data (LPD-5 cleansed, 4-bar
#: phrases of rock songs at 24 steps per beat). Rates in percent. ``best models`` is the range of qualified-note
#: rates its generators reached (the other metrics of its models are per model in the paper).
MUSEGAN_TABLE1: dict[str, dict[str, float]] = {
    "empty_bar_rate": {"B": 8.06, "D": 8.06, "G": 19.4, "P": 24.8, "S": 10.1},
    "used_pitch_classes": {"B": 1.71, "G": 3.08, "P": 3.28, "S": 3.38},
    "qualified_note_rate": {"B": 90.0, "G": 81.9, "P": 88.4, "S": 89.6},
    "drum_pattern_rate": {"D": 88.6},
}
MUSEGAN_BEST_QN = "44-72 %"
#: Metrics given in percent in MuseGAN's table (ours are fractions).
_PERCENT = ("empty_bar_rate", "qualified_note_rate", "drum_pattern_rate")
_MUSEGAN_GENRES = ("rock", "pop")


def machine() -> str:
    """The machine the numbers were measured on: CPU, cores, OS, Python and torch versions."""

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads), {platform.system()} "
        f"{platform.release()}, Python {sys.version.split()[0]}, torch {torch.__version__}"
    )


def _training_facts(card: dict[str, Any]) -> str:
    """One sentence on how the shipped model was trained, from what its card records."""
    hyper = card.get("hyperparameters") or {}
    parts = [f"{card.get('architecture')} generator"]
    params = (card.get("parameters") or {}).get("generator")
    if params:
        parts[0] += f" of {params / 1e6:.2f} M parameters"
    if card.get("epochs_done") is not None:
        parts.append(f"{card['epochs_done']} epochs ({card.get('step', '?')} generator updates)")
    if hyper:
        parts.append(
            f"batch {hyper.get('batch_size')}, {hyper.get('loss')} loss, learning rate {hyper.get('learning_rate')}"
        )
    history = card["history"] if isinstance(card.get("history"), list) else []
    seconds = sum(float(r.get("train_time") or 0.0) for r in history if isinstance(r, dict))
    if seconds:
        parts.append(f"{seconds / 60:.0f} min of training on {card.get('device', '?')}")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------ sections
def _summary_sentence(genre: str, result: dict[str, Any]) -> str:
    top = result.get("largest_gap")
    clf = result.get("classifier") or {}
    bar = result.get("shipping_bar") or {}
    parts = []
    if top is not None:
        parts.append(
            f"furthest from the real music on the {top['track']} track's {name(top['metric'])} "
            f"({fmt(top['generated'])} against {fmt(top['real'])}, {gap(top)})"
        )
    if clf.get("accuracy") is not None:
        acc = clf["accuracy"]
        verdict = (
            "hardly tells them apart"
            if acc < 0.6
            else "often tells them apart"
            if acc < 0.8
            else "tells them apart almost always"
            if acc >= 0.95
            else "mostly tells them apart"
        )
        parts.append(f"a classifier {verdict} from real windows ({100 * acc:.0f} % accuracy)")
    if bar:
        failed = bar.get("failures") or []
        parts.append(
            "it passes the shipping bar"
            if bar.get("passed")
            else f"it misses the shipping bar on {len(failed)} checks: {'; '.join(failed)}"
        )
    return f"**{genre}**: " + "; ".join(parts) + "."


def _model_section(
    genre: str,
    result: dict[str, Any],
    data: dict[str, Any] | None,
    card: dict[str, Any],
    image: str | None,
    samples: dict[str, Any] | None = None,
) -> list[str]:
    w = result["windows"]
    overlap = result.get("seed_overlap")
    lines = [
        f"## {genre}",
        "",
        f"Shipped model: {_training_facts(card)}. Evaluated on {result['samples']} windows of {w['bars']} bars, "
        f"conditioned on the melodies of {w['melodies']} windows of the {result['split']} split "
        f"({w['available']} available), seed {result['seed']}; it took {result['timing']['total']:.0f} s."
        + (
            f" Another seed keeps {100 * overlap:.0f} % of the sounding cells (seed diversity)."
            if overlap is not None
            else ""
        ),
        "",
    ]
    for label, bar in (
        ("test-split melodies", result.get("shipping_bar")),
        ("built-in samples", (samples or {}).get("shipping_bar")),
    ):
        if not bar:
            continue
        verdict = "**passed**" if bar["passed"] else f"**missed** {len(bar['failures'])} checks"
        lines.append(f"- Shipping bar on the {label}: {verdict}" + ("" if bar["passed"] else ":"))
        lines += [f"  - {failure}" for failure in bar["failures"]]
    lines.append("")
    if image:
        lines += [f"![{genre}: real against generated, and the training losses]({image})", ""]
    reference = (data or {}).get("tracks", {})
    rows = []
    for role, row in result["tracks"].items():
        for k, (metric, cell) in enumerate(row.items()):
            rows.append(
                [
                    f"{role}" if k == 0 else "",
                    name(metric),
                    fmt(cell["generated"]),
                    fmt(cell["real"]),
                    gap(cell),
                    fmt(reference.get(role, {}).get(metric)),
                ]
            )
    lines += [
        "### Metrics per track",
        "",
        *table(["track", "metric", "generated", f"real ({result['split']})", "gap", "training data"], rows),
        "",
    ]
    if result.get("tonal_distances"):
        ref = (data or {}).get("tonal_distances", {})
        rows = [
            [pair, fmt(c["generated"]), fmt(c["real"]), gap(c), fmt(ref.get(pair))]
            for pair, c in result["tonal_distances"].items()
        ]
        lines += [
            "### Tonal distance between tracks (lower is more harmonious)",
            "",
            *table(["tracks", "generated", "real", "gap", "training data"], rows, right_from=1),
            "",
        ]
    if result.get("voice_leading"):
        ref = (data or {}).get("voice_leading") or {}
        rows = [
            [name(check), fmt(c["generated"]), fmt(c["real"]), gap(c), fmt(ref.get(check))]
            for check, c in result["voice_leading"].items()
        ]
        lines += [
            "### Voice leading (soprano = the given melody; alto, tenor, bass generated)",
            "",
            *table(["check", "generated", "real", "gap", "training data"], rows, right_from=1),
            "",
            "Range violations: share of sounding voice-steps outside the textbook SATB ranges; crossings: share of "
            "steps where a voice sounds above the next higher one; parallel rate: consecutive fifths and octaves "
            "per voice-pair motion in which both voices move.",
            "",
        ]
    form = result.get("form")
    if form:
        rows = [
            [name(metric), fmt(form[metric]["generated"]), fmt(form[metric]["real"]), gap(form[metric])]
            for metric in ("repeat_overlap", "repeat_identical")
        ]
        lines += [
            f"### Form: where the melody repeats a bar ({form['songs']} stretches of {result['split']} songs, "
            f"variation {form['variation']:g})",
            "",
            *table(["measure", "generated", "real", "gap"], rows, right_from=1),
            "",
        ]
    meters = result.get("meter") or {}
    if meters:
        rows = [
            [
                meter,
                str(row["windows"]),
                *(f"{fmt(row[m]['generated'])} / {fmt(row[m]['real'])}" for m in ("beat_onset_share", "downbeat_rate")),
            ]
            for meter, row in meters.items()
        ]
        lines += [
            f"### Meter: drum and bass onsets on the beats, per meter ({result['split']} windows)",
            "",
            *table(
                ["meter", "windows", "on the beats (generated / real)", "downbeats marked (generated / real)"],
                rows,
                right_from=1,
            ),
            "",
        ]
    clf = result.get("classifier") or {}
    if clf.get("accuracy") is not None:
        lines += [
            f"**Real-vs-generated classifier**: accuracy {100 * clf['accuracy']:.1f} % ± {100 * clf['stderr']:.1f} on "
            f"{clf['n_test']} held-out windows ({clf['n_train']} for training, {clf['features']} features); "
            "50 % means the generated windows cannot be told from real ones.",
            "",
        ]
    second = result.get("classifier_second") or {}
    if second.get("accuracy") is not None:
        lines += [
            f"**Second classifier** (another learner on the same halves: {second['method']}): accuracy "
            f"{100 * second['accuracy']:.1f} % ± {100 * second['stderr']:.1f}.",
            "",
        ]
    if genre in _MUSEGAN_GENRES:
        lines += _musegan_section(result, data)
    return lines


def _musegan_section(result: dict[str, Any], data: dict[str, Any] | None) -> list[str]:
    reference = (data or {}).get("tracks", {})
    rows = []
    for metric, by_track in MUSEGAN_TABLE1.items():
        percent = metric in _PERCENT
        for letter, value in by_track.items():
            role = MUSEGAN_TRACKS[letter]
            cell = result["tracks"].get(role, {}).get(metric, {})
            ours_real = reference.get(role, {}).get(metric)
            rows.append(
                [
                    name(metric),
                    f"{letter} ({role})",
                    f"{value:.2f}" if not percent and value < 10 else f"{value:g}{' %' if percent else ''}",
                    MUSEGAN_BEST_QN if metric == "qualified_note_rate" else "",
                    fmt(ours_real, percent) if role in reference else "no such track",
                    fmt(cell.get("real"), percent) if cell else "–",
                    fmt(cell.get("generated"), percent) if cell else "–",
                ]
            )
    return [
        "### Beside MuseGAN (Dong et al., AAAI 2018, Table 1)",
        "",
        *table(
            [
                "metric",
                "track",
                "MuseGAN training data",
                "MuseGAN models",
                "our training data",
                f"our real ({result['split']})",
                "our generated",
            ],
            rows,
        ),
        "",
        "The numbers are not strictly comparable: MuseGAN's data are 4-bar phrases of the Lakh Pianoroll Dataset "
        "(LPD-5 cleansed) at 24 steps per beat, where a qualified note lasts at least 3 steps (a 32nd); ours are "
        "this genre's windows at its own resolution, with the same musical minimum length (see "
        "`museforge.metrics`). MuseGAN's published code folds pitches into classes by neighbouring columns rather "
        "than by `pitch % 12`, which changes its used-pitch-class counts; ours fold by `pitch % 12`. Pop here is "
        "POP909 (melody, bridge, piano), so only the piano row has a counterpart.",
        "",
    ]


# ------------------------------------------------------------------------------------------------ the page
def _percent(share: float | None) -> str:
    return f"{100 * share:.1f} %" if share is not None else "–"


def write_results_markdown(
    path: Path,
    models: Sequence[str] | None = None,
    *,
    samples: int = 1000,
    split: str = "test",
    seed: int = 0,
    plots: bool = True,
) -> list[dict[str, Any]]:
    """Evaluate every shipped model (or ``models``) and write the results page.

    Parameters
    ----------
    path : Path
        The Markdown file to write (``docs/results.md``); its folder must exist.
    models : sequence of str, optional
        Genres of shipped models to include; default every shipped model.
    samples, split, seed : int, str, int
        Passed to :func:`museforge.evaluate.evaluate_model` (the seed makes the page reproducible).
    plots : bool
        Also write one PNG per genre to ``<path folder>/results/<genre>.png`` and show it on the page.

    Returns
    -------
    list of dict
        The evaluation of each model, in the page's order.

    Raises
    ------
    MuseforgeError
        No shipped model, a dataset not built, or the page cannot be written.
    """

    path = Path(path)
    if not path.parent.is_dir():
        raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")
    cards = {card["genre"]: card for card in list_pretrained()}
    shipped = list(cards)
    genres = list(models) if models is not None else shipped
    for genre in genres:
        if genre not in shipped:
            raise NotFoundError(f"no shipped model for {genre!r} (shipped: {', '.join(shipped) or 'none'})")
    if not genres:
        raise MuseforgeError("no shipped model to evaluate (src/museforge/pretrained/ has none)")
    image_dir = path.parent / "results"
    if plots:
        image_dir.mkdir(exist_ok=True)

    results, sections, summary = [], [], []
    for genre in genres:
        result = evaluate_model(genre, samples=samples, split=split, seed=seed, classifier=True)
        on_samples = evaluate_samples(genre, split=split)
        result["samples_shipping_bar"] = on_samples["shipping_bar"]
        data = evaluate_data(genre, split="train")
        card = cards[genre]
        image = None
        if plots:
            history = card["history"] if isinstance(card.get("history"), list) else []
            save_evaluation_png(result, image_dir / f"{genre}.png", history=history)
            image = f"{image_dir.name}/{genre}.png"
        results.append(result)
        summary.append(_summary_sentence(genre, result))
        sections += _model_section(genre, result, data, card, image, on_samples)

    summary_rows = []
    for genre, result in zip(genres, results, strict=True):
        top = result.get("largest_gap")
        clf = result.get("classifier") or {}
        bars = [result["shipping_bar"], result["samples_shipping_bar"]]
        summary_rows.append(
            [
                genre,
                str(result.get("architecture")),
                f"{100 * clf['accuracy']:.1f} %" if clf.get("accuracy") is not None else "–",
                _percent((result.get("classifier_second") or {}).get("accuracy")),
                f"{top['track']} {name(top['metric'])} ({gap(top)})" if top else "–",
                *("passed" if bar["passed"] else f"missed ({len(bar['failures'])} checks)" for bar in bars),
            ]
        )
    today = datetime.now(UTC).date().isoformat()
    lines = [
        "# Results: the shipped models against real music",
        "",
        f"Generated on {today} by `{REGENERATE}` (do not edit by hand: run it again). Machine: {machine()}.",
        "",
        f"Each shipped model wrote accompaniment for {samples} windows, each conditioned on the melody of a real "
        f"window of the **{split}** split of its genre (songs no model was trained or selected on), with fixed "
        f"noise (seed {seed}); its probabilities became notes as `museforge compose` makes them (the model's note "
        "policy, `museforge.sampling.notes`, and its common key, `museforge.sampling.generation`). The same metrics "
        "(`museforge.metrics`) were computed on the real accompaniment of the very same windows; the drums' "
        "bar-to-bar repetition and backbeat in each window's own bars, read from its metric grid (a waltz's in "
        "3-beat bars, a tune's from its first bar line; the backbeat only in 4-beat bars), the other figures per bar "
        "4 beats at a time in every meter. *gap* is "
        "(generated − real) / |real|; it is undefined where the real value is 0. *training data* is the train "
        "split's own value (`museforge evaluate --data GENRE`). The classifier is an L2-penalised logistic "
        "regression on per-window features, trained on half of the real and generated windows and tested on the "
        "other half (split by song); 50 % means the two cannot be told apart. A second classifier of another kind "
        "(AdaBoost over decision stumps, `museforge.evaluate.classifier`: thresholds on single features, which a "
        "linear model cannot draw) is trained and tested on the same halves and reported beside it; the shipping bar "
        "uses the first. The shipping bar "
        "(`museforge.evaluate.shipping_bar`) asks every metric of every accompaniment track, the ensemble, every "
        f"tonal distance and (Bach) every voice-leading check to lie within {100 * RELATIVE_TOLERANCE:.0f} % of "
        "the real value on the same windows (with a small absolute floor for values near 0), at least "
        f"{100 * (1 - MAX_OUT_OF_RANGE):.0f} % of each track's notes in its instrument's range, and the classifier "
        f"at {100 * MAX_CLASSIFIER_ACCURACY:.0f} % or less. It is checked on the test split's melodies and on the "
        "built-in sample melodies (`museforge evaluate GENRE --melodies samples`: each composed with 5 seeds as "
        "`museforge compose` does, against the test split's real music).",
        "",
        "## Where each model stands",
        "",
        *table(
            [
                "genre",
                "model",
                "classifier accuracy",
                "second classifier",
                "largest gap",
                "bar: test split",
                "bar: built-in samples",
            ],
            summary_rows,
            right_from=7,
        ),
        "",
        *[f"- {sentence}" for sentence in summary],
        "",
        *sections,
        *jam_section(genres, split=split, seed=seed),
        *techniques_section(),
    ]
    text = "\n".join(lines).rstrip() + "\n"
    atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return results
