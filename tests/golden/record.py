"""Record the golden files: every shipped model's output on two built-in melodies with fixed seeds.

``python -m tests.golden.record`` writes ``tests/golden/*.mid``; ``tests/test_golden.py`` composes the same pieces
and compares their notes with these files. Record again only when a change is meant to change the music (say so
in the commit), never to make the test pass after a restructuring.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from museforge.pipelines.compose import compose
from museforge.pipelines.enhance import enhance
from museforge.pipelines.extend import extend
from museforge.pipelines.regenerate import regenerate

GOLDEN = Path(__file__).resolve().parent
#: A 4/4 tune and a 3/4 one (the built-in samples people start from).
MELODIES = ("ode_to_joy", "amazing_grace")
GENRES = ("bach", "jazz", "pop", "rock", "symphony")
SEED = 3


def cases() -> dict[str, Callable[[Path], object]]:
    """``file name -> function writing that file``: compose x genres x melodies, compose with a rewrite pass,
    regenerate (tracks, then bars), enhance and extend, each with a fixed seed."""
    out: dict[str, Callable[[Path], object]] = {}
    for melody in MELODIES:
        for genre in GENRES:
            out[f"compose_{genre}_{melody}.mid"] = lambda p, m=melody, g=genre: compose(m, g, seed=SEED, out_midi=p)
        out[f"enhance_bach_{melody}.mid"] = lambda p, m=melody: enhance(m, "bach", seed=SEED, iterations=8, out_midi=p)
        out[f"extend_melody_{melody}.mid"] = lambda p, m=melody: extend(m, "melody", bars=4, seed=SEED, out_midi=p)
    out["compose_rewrite_bach_ode_to_joy.mid"] = lambda p: compose(
        "ode_to_joy", "bach", seed=SEED, rewrite=4, out_midi=p
    )
    out["regenerate_tracks_jazz_ode_to_joy.mid"] = lambda p: regenerate(
        GOLDEN / "compose_jazz_ode_to_joy.mid", "jazz", tracks=["drums"], previous_seed=SEED, seed=SEED + 1, out_midi=p
    )
    out["regenerate_bars_rock_amazing_grace.mid"] = lambda p: regenerate(
        GOLDEN / "compose_rock_amazing_grace.mid", "rock", bars=(2, 3), previous_seed=SEED, seed=SEED + 1, out_midi=p
    )
    return out


def main() -> None:
    for name, make in cases().items():
        make(GOLDEN / name)
        print("wrote", name, file=sys.stderr)


if __name__ == "__main__":
    main()
