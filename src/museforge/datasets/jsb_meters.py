"""The meters of the JSB chorales, recovered from the chorales bundled with music21.

The JSB JSON (``Jsb16thSeparated.json``) holds each chorale's four voices on a 16th-note grid and nothing else: no
time signature, no bar lines. The same chorales are in music21's corpus with their scores' time signatures. Each
JSB chorale is matched to the corpus chorale whose four voices move most alike: the mean over the voices of the
Jaccard overlap of their sets of 5-interval runs (pitches with repeats merged, so a transposition or a tie does not
matter). A chorale whose best match overlaps more than :data:`MATCH_THRESHOLD` takes that score's first time
signature; the others (a corpus without the chorale, or a version too far apart) stay 4/4, as before.

The result is a table committed beside this module (``jsb_meters.json``): which chorales of which split are not in
4/4, for the one JSON file it was computed from (its sha256). Regenerate it with::

    python -m museforge.datasets.jsb_meters --source ../shared/datasets

The bar lines are still placed so that each chorale ends on a bar line (:func:`museforge.datasets.bach.
chorale_from_array`): where the JSB and corpus versions have the same length (77 chorales, the 3/4 ones among
them) that agrees with the score's own bar lines in 97 % of the chorales (every 3/4 one); the others repeat a
strain, which the corpus writes once.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from museforge.datasets.build import source_dirs
from museforge.datasets.sources import file_sha256
from museforge.errors import MuseforgeError

TABLE = Path(__file__).resolve().parent / "jsb_meters.json"
JSON_NAME = "Jsb16thSeparated.json"
SPLITS = ("train", "valid", "test")
#: Runs of this many melodic intervals make a voice's fingerprint.
GRAM = 5
#: The least mean Jaccard overlap of the voices' fingerprints that counts as the same chorale.
MATCH_THRESHOLD = 0.5


def jsb_json(source_root: Path) -> Path:
    """The JSB chorales JSON under a source root laid out like ``../shared/datasets``."""
    folder = source_dirs("bach", source_root).get("jsb_chorales_czhuang")
    path = folder / JSON_NAME if folder else None
    if path is None or not path.is_file():
        raise MuseforgeError(f"no {JSON_NAME} under {source_root}/bach/jsb_chorales_czhuang")
    return path


def fingerprint(pitches: list[int]) -> set[tuple[int, ...]]:
    """The set of runs of :data:`GRAM` intervals of a voice (rests dropped, repeated pitches merged)."""
    merged: list[int] = []
    for p in pitches:
        if p >= 0 and (not merged or merged[-1] != p):
            merged.append(int(p))
    steps = tuple(np.diff(merged).tolist()) if len(merged) > 1 else ()
    return {steps[i : i + GRAM] for i in range(len(steps) - GRAM + 1)}


def overlap(a: list[set[tuple[int, ...]]], b: list[set[tuple[int, ...]]]) -> float:
    """Mean Jaccard overlap of two chorales' voice fingerprints (voice by voice)."""
    return float(np.mean([len(x & y) / max(1, len(x | y)) for x, y in zip(a, b, strict=True)]))


def corpus_chorales() -> list[tuple[str, str, list[set[tuple[int, ...]]]]]:
    """``(name, meter "n/d", four voice fingerprints)`` of each four-part chorale bundled with music21."""
    from music21 import corpus, meter

    found = []
    for name in corpus.chorales.Iterator(returnType="filename"):
        score = corpus.parse(name)
        if len(score.parts) < 4:
            continue
        voices = [
            [(n.pitches[-1].midi if n.isChord else n.pitch.midi) for n in part.flatten().notes]
            for part in score.parts[:4]
        ]
        signatures = score.recurse().getElementsByClass(meter.TimeSignature)
        found.append((str(name), signatures[0].ratioString if signatures else "4/4", [fingerprint(v) for v in voices]))
    return found


def match_meters(jsb: dict[str, list[Any]]) -> dict[str, Any]:
    """The table for a JSB JSON's contents ``{split: [chorale (16ths, 4) pitches, ...]}``: every chorale not in
    4/4 (``meters``: ``"split/index" -> "n/d"``) and the counts of matched chorales per meter."""
    chorales = corpus_chorales()
    meters: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for split in SPLITS:
        for index, chorale in enumerate(jsb[split]):
            voices = np.nan_to_num(np.asarray(chorale, dtype=np.float64), nan=-1.0).astype(int)
            prints = [fingerprint(voices[:, v].tolist()) for v in range(4)]
            score, meter = max((overlap(prints, other), m) for _, m, other in chorales)
            if score <= MATCH_THRESHOLD:
                counts["unmatched (read as 4/4)"] += 1
                continue
            counts[meter] += 1
            if meter != "4/4":
                meters[f"{split}/{index}"] = meter
    return {"matched": dict(counts.most_common()), "meters": meters}


def chorale_meters(path: Path) -> dict[str, tuple[int, int]]:
    """``"split/index" -> (numerator, denominator)`` of the chorales of the JSB JSON at ``path`` not in 4/4; empty
    when the table was computed from another file."""
    table = json.loads(TABLE.read_text())
    if table["sha256"] != file_sha256(path):
        return {}
    return {key: (int(m.split("/")[0]), int(m.split("/")[1])) for key, m in table["meters"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Recompute the JSB chorales' meters from music21's corpus.")
    parser.add_argument("--source", type=Path, required=True, help="folder laid out like ../shared/datasets")
    args = parser.parse_args()
    path = jsb_json(args.source)
    table = {"file": path.name, "sha256": file_sha256(path), **match_meters(json.loads(path.read_text()))}
    TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(json.dumps(table["matched"]))


if __name__ == "__main__":
    main()
