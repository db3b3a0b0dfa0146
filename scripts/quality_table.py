"""Measure shipped-model recipes against each other on the figures of the shipping bar (docs/quality.md).

    python scripts/quality_table.py --label "common key" [--models DIR] [--hold 1.0] [--genres jazz bach]

Evaluates the models in ``--models`` (a folder of ``<genre>.safetensors`` + ``<genre>.json``, default the shipped
ones) on 1,000 windows of the test split, seed 0, with the decoding hold ``--hold`` (0 = the plain threshold and the
earlier single-line rule), and prints one JSON line per genre with the headline figures and the shipping bar's
failures. The datasets must be built (``museforge datasets build GENRE --source DIR --resolution 4``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import museforge.pretrained as pretrained
import museforge.sampling.notes as sampling
from museforge.evaluate import evaluate_model

HEADLINE = ("key_fit", "consonance", "one_step_note_rate", "melody_in_scale_rate", "out_of_range_rate")
DRUMS = ("drum_repetition", "backbeat_rate")


def summarize(result: dict) -> dict:
    rows = {}
    for role, row in result["tracks"].items():
        names = DRUMS if "drum_repetition" in row else ("crowded_window_rate",) if role == "ensemble" else HEADLINE
        rows[role] = {m: [row[m]["generated"], row[m]["real"]] for m in names if m in row}
    clf = result.get("classifier") or {}
    bar = result["shipping_bar"]
    return {
        "tracks": rows,
        "classifier": clf.get("accuracy"),
        "seed_overlap": result.get("seed_overlap"),
        "bar_passed": bar["passed"],
        "bar_failures": len(bar["failures"]),
        "failures": bar["failures"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--models", type=Path, default=pretrained.PRETRAINED_DIR)
    parser.add_argument("--hold", type=float, default=sampling.DEFAULT_HOLD)
    parser.add_argument("--genres", nargs="*", default=["bach", "pop", "rock", "jazz", "symphony"])
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    pretrained.PRETRAINED_DIR = args.models.resolve()
    sampling.DEFAULT_HOLD = args.hold
    if args.hold == 0:
        sampling.MONOPHONIC_MAX_POLYPHONY = 0.02  # the single-line rule before holds were introduced
    for genre in args.genres:
        result = evaluate_model(genre, samples=args.samples, split="test", seed=0)
        print(json.dumps({"label": args.label, "genre": genre, "hold": args.hold, **summarize(result)}), flush=True)


if __name__ == "__main__":
    main()
