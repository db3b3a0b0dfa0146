"""The source registry and the committed checksum manifests, checked against the real local copy."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from museforge.datasets import make_manifest
from museforge.datasets.derived import (
    beat_rows_digest,
    beat_rows_from_txt,
    derived_part_digests,
    gmd_row_digest,
    gmd_rows_from_csv,
    serialise_derived,
)
from museforge.datasets.sources import (
    GENRES,
    describe_sources,
    file_sha256,
    get_genre,
    get_source,
    iter_source_files,
    load_manifest,
    local_source_dir,
    source_checksum,
)
from museforge.errors import MuseforgeError, NotFoundError

# The commits named in ../shared/datasets/README.md, copied by hand (an independent check of the registry).
README_COMMITS = {
    ("bach", "jsb_chorales_czhuang"): ("czhuang/JSB-Chorales-dataset", "9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d"),
    ("pop", "pop909"): ("music-x-lab/POP909-Dataset", "d83e6edba6872a704f5d3b8b32f5cb540088dae6"),
    ("rock", "beatles_lmd_midi_ground_truth"): (
        "craffel/midi-ground-truth",
        "f24927e95f8e2d2921477581240ae732933c5654",
    ),
    ("rock", "groove_midi_drums_gmd"): ("zharry29/drums-with-llm", "476adbc938a600eaca26bbb02648e6127b5eca64"),
    ("jazz", "openbook_realbook_with_bass"): (
        "noamshamir/jazz-accompaniment-generation",
        "0650960867526f3ba559bc4899f19499174ecc93",
    ),
    ("jazz", "groove_midi_drums_gmd"): ("zharry29/drums-with-llm", "476adbc938a600eaca26bbb02648e6127b5eca64"),
    ("symphony", "openscore_orchestra_hauptstimme"): (
        "MarkGotham/Hauptstimme",
        "8f677853c45b74ca0afcd79677e5379c06c82354",
    ),
}


def test_every_genre_has_sources_with_pinned_commits(shared_datasets: Path) -> None:
    seen = set()
    for genre in GENRES:
        spec = get_genre(genre)
        assert spec.name == genre
        assert spec.architecture == ("unet" if genre == "bach" else "musegan")
        assert spec.sources, genre
        for source in spec.sources:
            seen.add((genre, source.id))
            assert re.fullmatch(r"[0-9a-f]{40}", source.commit)
            assert (source.repository, source.commit) == README_COMMITS[(genre, source.id)]
            assert source.url == f"https://github.com/{source.repository}"
            assert source.subdirectory.startswith(f"{genre}/")
            assert source.local_dir(shared_datasets).is_dir(), source.subdirectory
            assert source.licence and source.citation and source.download_note
    assert seen == set(README_COMMITS)


def test_only_symphony_is_not_downloadable() -> None:
    assert [g for g in GENRES if not get_genre(g).downloadable] == ["symphony"]
    note = get_genre("symphony").sources[0].download_note
    assert "8f677853c45b74ca0afcd79677e5379c06c82354" in note and "--source" in note


def test_get_genre_is_case_insensitive_and_unknown_names_list_the_valid_ones() -> None:
    assert get_genre(" Jazz ").name == "jazz"
    with pytest.raises(NotFoundError) as info:
        get_genre("metal")
    message = str(info.value)
    assert "metal" in message and all(g in message for g in GENRES) and "\n" not in message
    with pytest.raises(NotFoundError, match="groove_midi_drums_gmd"):
        get_source("rock", "nope")


def test_upstream_paths_follow_the_readme() -> None:
    beatles = get_source("rock", "beatles_lmd_midi_ground_truth")
    assert beatles.upstream_path("mid/05_-_Help!/01_-_Help!.v3.mid") == "data/mid/05_-_Help!/01_-_Help!.mid3"
    assert beatles.upstream_path("README.md") == "README.md"
    groove = get_source("jazz", "groove_midi_drums_gmd")
    rel = "drummer1/session1/10_jazz-funk_116_fill_4-4.mid"
    assert groove.upstream_path(rel) == "groove/" + rel
    assert groove.upstream_path("info.csv") == "groove/info.csv"
    pop = get_source("pop", "pop909")
    assert pop.upstream_path("POP909/001/001.mid") == "POP909/001/001.mid"
    jazz = get_source("jazz", "openbook_realbook_with_bass")
    assert jazz.upstream_path("midis_with_bass/Giant_Steps.mid") == "data/realbook/midis_with_bass/Giant_Steps.mid"


def test_committed_manifest_matches_every_local_file(shared_datasets: Path) -> None:
    total = 0
    for genre in GENRES:
        manifest = load_manifest(genre)
        spec = get_genre(genre)
        assert set(manifest) == {s.id for s in spec.sources if s.downloadable}
        for source in spec.sources:
            if not source.downloadable:
                continue
            entry = manifest[source.id]
            assert (entry.repository, entry.commit) == (source.repository, source.commit)
            folder = source.local_dir(shared_datasets)
            for rel, sha in entry.files.items():
                assert file_sha256(folder / rel) == sha, rel
                total += 1
            # no derived file slipped into the verbatim list
            assert not any(rel.startswith("midi_derived_satb/") or rel == "index.json" for rel in entry.files)
    assert total == 7 + 911 + 537 + 400 + 156 + 102


def test_manifests_are_up_to_date_with_the_local_copy(shared_datasets: Path) -> None:
    for genre in GENRES:
        built = make_manifest.build_manifest(genre, shared_datasets)
        path = make_manifest.MANIFEST_DIR / f"{genre}.json"
        if built is None:
            assert not path.exists()
            continue
        assert make_manifest.manifest_text(built) == path.read_text(encoding="utf-8"), genre


def test_every_local_file_is_verbatim_derived_or_explained(shared_datasets: Path) -> None:
    for genre in GENRES:
        for source in get_genre(genre).sources:
            if not source.downloadable:
                continue
            kinds = {make_manifest.classify(source, r) for r in iter_source_files(source.local_dir(shared_datasets))}
            assert "unknown" not in kinds, source.subdirectory
    bach = get_source("bach", "jsb_chorales_czhuang")
    assert make_manifest.classify(bach, "midi_derived_satb/train/jsb_train_000.mid") == "not_fetched"
    assert make_manifest.classify(bach, "Jsb16thSeparated.npz") == "verbatim"


@pytest.mark.slow
def test_derived_files_reserialise_byte_for_byte_and_match_their_parts(shared_datasets: Path) -> None:
    cases = [("pop", "pop909", "beat_midi.json", 909), ("rock", "groove_midi_drums_gmd", "info.json", 399)]
    cases.append(("jazz", "groove_midi_drums_gmd", "info.json", 101))
    for genre, source_id, name, n_parts in cases:
        source = get_source(genre, source_id)
        data = (source.local_dir(shared_datasets) / name).read_bytes()
        (derived,) = load_manifest(genre)[source_id].derived
        assert derived.name == name and len(derived.parts) == n_parts
        assert serialise_derived(derived.kind, data) == data
        assert derived_part_digests(derived.kind, data) == dict(derived.parts)


def test_beat_digest_matches_upstream_text_format(shared_datasets: Path) -> None:
    # The first lines of POP909/001/beat_midi.txt as published upstream (full floats, flags as 1.0/0.0).
    upstream = "0.05533319499999998 1.0 1.0\n0.7219981950000001 0.0 0.0\n1.3886631950000003 1.0 0.0\n"
    rows = beat_rows_from_txt(upstream)
    beats = json.loads((shared_datasets / "pop/pop909/beat_midi.json").read_text())
    assert rows == beats["001"][:3]
    assert beat_rows_digest(rows) == beat_rows_digest(beats["001"][:3])
    flipped = upstream.replace("1.0 0.0\n", "1.0 1.0\n")
    assert beat_rows_digest(beat_rows_from_txt(flipped)) != beat_rows_digest(rows)
    with pytest.raises(ValueError):
        beat_rows_from_txt("0.5 1.5 0.0\n")


def test_gmd_rows_from_csv_drop_audio_and_match_local_rows(shared_datasets: Path) -> None:
    local = json.loads((shared_datasets / "rock/groove_midi_drums_gmd/info.json").read_text())
    row = local[0]
    header = [*list(row)[:8], "audio_filename", *list(row)[8:]]
    line = ",".join(row.get(k, row["midi_filename"].replace(".mid", ".wav")) for k in header)
    parsed = gmd_rows_from_csv(",".join(header) + "\n" + line + "\n")
    assert parsed == {row["midi_filename"]: row}
    assert (
        gmd_row_digest(parsed[row["midi_filename"]])
        == load_manifest("rock")["groove_midi_drums_gmd"].derived[0].parts[row["midi_filename"]]
    )


def test_source_checksum_is_stable_and_sees_every_change(shared_datasets: Path, tmp_path: Path) -> None:
    original = shared_datasets / "jazz/openbook_realbook_with_bass"
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    first = source_checksum(original)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert source_checksum(copy) == first
    (copy / ".hidden.part").write_bytes(b"temp")  # hidden files (download temp files, markers) do not count
    assert source_checksum(copy) == first
    target = copy / "midis_with_bass/Giant_Steps.mid"
    target.write_bytes(target.read_bytes() + b"\0")
    appended = source_checksum(copy)
    target.unlink()
    removed = source_checksum(copy)
    (copy / "midis_with_bass/Blue_Monk.mid").rename(copy / "midis_with_bass/Blue_Monk2.mid")
    renamed = source_checksum(copy)
    assert len({first, appended, removed, renamed}) == 4
    with pytest.raises(NotFoundError):
        source_checksum(tmp_path / "missing")


def test_local_source_dir_finds_the_genre_folder(shared_datasets: Path, tmp_path: Path) -> None:
    assert local_source_dir("rock", shared_datasets) == shared_datasets / "rock"
    assert local_source_dir("rock", shared_datasets / "rock") == shared_datasets / "rock"
    with pytest.raises(NotFoundError, match="museforge datasets download pop"):
        local_source_dir("pop", tmp_path)
    with pytest.raises(NotFoundError, match="--source"):
        local_source_dir("symphony", tmp_path)


def test_describe_sources_lists_every_source() -> None:
    rows = describe_sources()
    assert {(r["genre"], r["source"]) for r in rows} == set(README_COMMITS)
    by_key = {(r["genre"], r["source"]): r for r in rows}
    assert by_key[("pop", "pop909")]["files"] == 911
    assert by_key[("pop", "pop909")]["licence"] == "MIT"
    assert by_key[("symphony", "openscore_orchestra_hauptstimme")]["downloadable"] is False
    for row in rows:
        assert {"genre", "source", "title", "repository", "commit", "licence", "downloadable"} <= set(row)


def test_registry_rejects_a_made_up_commit() -> None:
    source = get_source("pop", "pop909")
    with pytest.raises(ValueError, match="40"):
        dataclasses.replace(source, commit="main")
    with pytest.raises(MuseforgeError):
        make_manifest.source_entry(source, Path("/nonexistent"))
