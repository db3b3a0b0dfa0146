"""What made a piece travels in its MIDI file (technique, model, seed, settings), and regenerate reads it back:
the stored model and seed by default, another model refused; a file that does not say works as before."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi, read_midi_metadata, write_midi
from museforge.music.smf import MAX_METADATA_BYTES, METADATA_PREFIX, parse_smf
from museforge.music.smf_writer import TrackEvents, encode_smf, text_meta
from museforge.pipelines.compose import compose
from museforge.pipelines.enhance import enhance
from museforge.pipelines.extend import extend
from museforge.pipelines.regenerate import regenerate
from tests.cli.test_musician_cli import one_line_error, run_cli


def _all_notes(music) -> list[list[tuple[int, int, int, int]]]:
    return [music.notes(i) for i in range(music.n_tracks)]


def test_every_technique_writes_what_made_the_piece(tmp_path: Path) -> None:
    compose("twinkle", "jazz", seed=7, tempo=100, transpose=2, variation=0.5, out_midi=tmp_path / "c.mid")
    made = read_midi(tmp_path / "c.mid", resolution=4).metadata
    assert made is not None and made == read_midi_metadata(tmp_path / "c.mid")
    assert {k: made[k] for k in ("technique", "model", "genre", "seed", "tempo", "transpose", "variation")} == {
        "technique": "compose", "model": "jazz", "genre": "jazz", "seed": 7, "tempo": 100, "transpose": 2,
        "variation": 0.5,
    }  # fmt: skip
    assert made["tracks"] == ["piano", "bass", "drums"] and made["sampling"] == "threshold"
    enhance("twinkle", "bach", seed=3, iterations=2, out_midi=tmp_path / "e.mid")
    enhanced = read_midi_metadata(tmp_path / "e.mid")
    assert enhanced is not None and enhanced["technique"] == "enhance" and enhanced["iterations"] == 2
    extend("twinkle", "melody", bars=2, seed=4, out_midi=tmp_path / "x.mid")
    extended = read_midi_metadata(tmp_path / "x.mid")
    assert extended is not None and (extended["technique"], extended["seed"], extended["bars_added"]) == (
        "extend", 4, 2,
    )  # fmt: skip


def test_regenerate_takes_the_stored_model_and_seed_and_refuses_another_model(tmp_path: Path) -> None:
    compose("ode_to_joy", "jazz", seed=7, out_midi=tmp_path / "prev.mid")
    stored = regenerate(tmp_path / "prev.mid", tracks=["drums"], seed=8, out_midi=tmp_path / "a.mid")
    explicit = regenerate(tmp_path / "prev.mid", "jazz", tracks=["drums"], previous_seed=7, seed=8)
    assert stored.summary["model"] == "jazz" and stored.summary["previous_seed"] == 7
    assert stored.summary["kept_shared_noise"] and _all_notes(stored.multitrack) == _all_notes(explicit.multitrack)
    again = read_midi_metadata(tmp_path / "a.mid")
    assert again is not None and (again["technique"], again["model"], again["seed"]) == ("regenerate", "jazz", 8)
    with pytest.raises(MuseforgeError, match="composed by the model 'jazz', not 'rock'") as error:
        regenerate(tmp_path / "prev.mid", "rock", tracks=["drums"], seed=8)
    assert "\n" not in str(error.value)


def test_a_file_without_metadata_regenerates_as_before(tmp_path: Path) -> None:
    previous = compose("twinkle", "pop", seed=5)
    plain = dataclasses.replace(previous.multitrack, metadata=None)
    write_midi(plain, tmp_path / "plain.mid")
    assert read_midi(tmp_path / "plain.mid", resolution=4).metadata is None
    new = regenerate(tmp_path / "plain.mid", "rock", tracks=["drums"], seed=6)  # any model: the file does not say
    assert new.summary["model"] == "rock" and not new.summary["kept_shared_noise"]
    with pytest.raises(MuseforgeError, match="does not say which model composed it"):
        regenerate(tmp_path / "plain.mid", tracks=["drums"], seed=6)


def _file_with_text(body: bytes) -> bytes:
    conductor = TrackEvents(metas=[text_meta(0, body)])
    notes = TrackEvents(notes=np.array([[60, 0, 480, 90]]))
    return encode_smf(480, [conductor, notes])


@pytest.mark.parametrize(
    "body",
    [
        METADATA_PREFIX + b'{"model": "' + b"x" * MAX_METADATA_BYTES + b'"}',  # too long: ignored, not read
        METADATA_PREFIX + b'{"model": "jaz',  # cut short
        METADATA_PREFIX + b"[1, 2, 3]",  # not an object
        METADATA_PREFIX + b"[" * 4000 + b"]" * 4000,  # nested past the JSON reader's depth
        METADATA_PREFIX + b"\xff\xfe",  # not UTF-8
        b'{"model": "jazz"}',  # someone else's text event
    ],
)
def test_odd_metadata_is_ignored_not_a_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "odd.mid"
    path.write_bytes(_file_with_text(body))
    music = read_midi(path, resolution=4)
    assert music.metadata is None and music.notes(0) == [(60, 0, 4, 90)]


def test_the_first_metadata_is_kept_and_held_to_its_bound() -> None:
    first = METADATA_PREFIX + json.dumps({"model": "jazz"}).encode()
    conductor = TrackEvents(metas=[text_meta(0, first), text_meta(0, METADATA_PREFIX + b'{"model": "rock"}')])
    parsed = parse_smf(encode_smf(480, [conductor]))
    assert parsed.metadata == first[len(METADATA_PREFIX) :]
    exact = METADATA_PREFIX + b'"' + b"x" * (MAX_METADATA_BYTES - 2) + b'"'
    assert parse_smf(encode_smf(480, [TrackEvents(metas=[text_meta(0, exact)])])).metadata is not None


@pytest.mark.slow
def test_cli_regenerate_without_a_model_or_seed_uses_the_stored_ones(museforge_home: Path, tmp_path: Path) -> None:
    first = tmp_path / "piece.mid"
    done = run_cli("compose", "--melody", "ode_to_joy", "--genre", "rock", "--seed", "5", "--out", str(first),
                   home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stored, explicit = tmp_path / "stored.mid", tmp_path / "explicit.mid"
    done = run_cli("regenerate", str(first), "--tracks", "drums", "--seed", "9", "--out", str(stored),
                   home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "keeping its shared noise" in done.stdout
    done = run_cli("regenerate", str(first), "--genre", "rock", "--previous-seed", "5", "--tracks", "drums",
                   "--seed", "9", "--out", str(explicit), home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _all_notes(read_midi(stored, resolution=4)) == _all_notes(read_midi(explicit, resolution=4))
    other = run_cli("regenerate", str(first), "--genre", "jazz", "--tracks", "drums", "--out", str(tmp_path / "x.mid"),
                    home=museforge_home)  # fmt: skip
    one_line_error(other, "composed by the model 'rock', not 'jazz'")
    assert not (tmp_path / "x.mid").exists()
