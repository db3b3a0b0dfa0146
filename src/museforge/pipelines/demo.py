"""The demo: accompaniment for a sample melody with every shipped genre model, as MIDI, WAV and PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.pipelines.compose import compose
from museforge.pretrained import list_pretrained

#: The sample melody each genre accompanies in the demo.
DEMO_MELODIES = {
    "bach": "ode_to_joy",
    "pop": "twinkle",
    "rock": "deck_the_halls",
    "jazz": "frere_jacques",
    "symphony": "new_world",
}


def run_demo(out_dir: Path, *, seed: int = 1, audio: bool = True) -> list[dict[str, Any]]:
    """Compose with every shipped model into ``out_dir`` (created if missing); one summary per composition.

    Files are ``<genre>_<melody>.mid`` / ``.wav`` / ``.png``. The same seed gives the same files.
    """
    models = [card["genre"] for card in list_pretrained()]
    if not models:
        raise MuseforgeError("no shipped models found in museforge/pretrained")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for genre in models:
        melody = DEMO_MELODIES.get(genre, "twinkle")
        stem = out_dir / f"{genre}_{melody}"
        result = compose(
            melody,
            genre,
            out_midi=stem.with_suffix(".mid"),
            wav=stem.with_suffix(".wav") if audio else None,
            png=stem.with_suffix(".png"),
            seed=seed,
        )
        rows.append({"genre": genre, "melody": melody, **result.summary})
    return rows
