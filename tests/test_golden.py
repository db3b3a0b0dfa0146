"""The music is what it was: every shipped model composes, enhances, extends and regenerates the same notes as the
files recorded in ``tests/golden`` (``python -m tests.golden.record``) before the code was restructured.

The files are compared event for event as the MIDI parser reads them (each track's name, programs and notes with
their ticks, pitches, velocities and channels; the tempo map and meters), so a restructuring that changes one note,
one program or one tempo fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from museforge.music.smf import Smf, read_smf
from tests.golden.record import GOLDEN, cases

CASES = cases()


def _events(smf: Smf) -> list[tuple[object, ...]]:
    """Everything a listener hears in a parsed file, track by track."""
    return [
        (track.name, sorted(track.programs.items()), sorted(track.notes), track.tempos, track.signatures)
        for track in smf.tracks
    ]


def test_every_shipped_model_and_technique_is_covered() -> None:
    from museforge.pretrained import list_pretrained

    composed = {name.split("_")[1] for name in CASES if name.startswith("compose_")}
    assert {card["genre"] for card in list_pretrained()} <= composed
    assert {"enhance", "extend", "regenerate", "compose"} == {name.split("_")[0] for name in CASES}
    assert all((GOLDEN / name).is_file() for name in CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_output_has_the_recorded_notes(name: str, tmp_path: Path) -> None:
    written = tmp_path / name
    CASES[name](written)
    recorded, now = read_smf(GOLDEN / name), read_smf(written)
    assert now.ticks_per_beat == recorded.ticks_per_beat
    assert _events(now) == _events(recorded)
    assert sum(len(track.notes) for track in now.tracks) > 0
