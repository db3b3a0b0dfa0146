"""Downloads against a real HTTP server on 127.0.0.1 serving real files laid out like raw.githubusercontent."""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import json
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from museforge.datasets.download import download_genre, download_source
from museforge.datasets.fetch import BASE_URL_ENV
from museforge.datasets.sources import (
    ArchiveSpec,
    Source,
    SourceManifest,
    get_source,
    load_manifest,
    local_source_dir,
    source_checksum,
)
from museforge.errors import MuseforgeError, NotFoundError

BEATLES = "rock/beatles_lmd_midi_ground_truth"
GROOVE_ROCK = "rock/groove_midi_drums_gmd"
HELP = "mid/05_-_Help!/01_-_Help!.v3.mid"
HARD_DAY = "mid/03_-_A_Hard_Day's_Night/01_-_A_Hard_Day's_Night.v0.mid"
DRIVE = "mid/06_-_Rubber_Soul/01_-_Drive_My_Car.v1.mid"
GROOVE_FILES = (
    "drummer1/eval_session/8_rock-groove8_65_beat_4-4.mid",
    "drummer1/session1/220_rock-halftime_140_fill_4-4.mid",
)
# Upstream paths written out by hand (not computed by the code under test).
UPSTREAM = {
    HELP: "craffel/midi-ground-truth/f24927e95f8e2d2921477581240ae732933c5654/data/mid/05_-_Help!/01_-_Help!.mid3",
    HARD_DAY: (
        "craffel/midi-ground-truth/f24927e95f8e2d2921477581240ae732933c5654/"
        "data/mid/03_-_A_Hard_Day's_Night/01_-_A_Hard_Day's_Night.mid0"
    ),
    DRIVE: (
        "craffel/midi-ground-truth/f24927e95f8e2d2921477581240ae732933c5654/"
        "data/mid/06_-_Rubber_Soul/01_-_Drive_My_Car.mid1"
    ),
    "README.md": "craffel/midi-ground-truth/f24927e95f8e2d2921477581240ae732933c5654/README.md",
}
GMD_BASE = "zharry29/drums-with-llm/476adbc938a600eaca26bbb02648e6127b5eca64/groove"
POP_BASE = "music-x-lab/POP909-Dataset/d83e6edba6872a704f5d3b8b32f5cb540088dae6"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclasses.dataclass
class Mirror:
    root: Path
    url: str

    def put(self, path: str, data: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    root = tmp_path / "mirror"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Mirror(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def gmd_info_csv(shared: Path) -> bytes:
    """An info.csv in the upstream layout (audio column included) holding every local row plus a foreign one."""
    rows = json.loads((shared / GROOVE_ROCK / "info.json").read_text())
    header = [*list(rows[0])[:8], "audio_filename", *list(rows[0])[8:]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    foreign = dict(rows[0], midi_filename="drummer9/session9/1_funk_80_beat_4-4.mid", style="funk")
    for row in [foreign, *rows]:
        writer.writerow({**row, "audio_filename": row["midi_filename"].replace(".mid", ".wav")})
    return out.getvalue().encode()


def upstream_beat_txt(rows: list[list[float]]) -> bytes:
    """beat_midi.txt as upstream writes it: unrounded float times, flags as 1.0 / 0.0."""
    return "".join(f"{t + 3e-9!r} {float(b)!r} {float(d)!r}\n" for t, b, d in rows).encode()


def serve_rock_subset(mirror: Mirror, shared: Path, beatles: tuple[str, ...]) -> None:
    for rel in beatles:
        mirror.put(UPSTREAM[rel], (shared / BEATLES / rel).read_bytes())
    for rel in GROOVE_FILES:
        mirror.put(f"{GMD_BASE}/{rel}", (shared / GROOVE_ROCK / rel).read_bytes())
    mirror.put(f"{GMD_BASE}/info.csv", gmd_info_csv(shared))


# -------------------------------------------------------------------------------------------------- archives


def make_archive(kind: str, members: dict[str, bytes], path: Path) -> str:
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def archive_source(url: str, sha256: str) -> Source:
    base = get_source("jazz", "openbook_realbook_with_bass")
    spec = ArchiveSpec(url=url, sha256=sha256, strip_prefix="pkg/")
    return dataclasses.replace(base, id="openbook_archive", subdirectory="jazz/openbook_archive", archive=spec)


JAZZ_TUNES = ("midis_with_bass/Giant_Steps.mid", "midis_with_bass/Blue_Monk.mid", "midis_with_bass/Misty.mid")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archive_is_verified_and_extracted(kind: str, mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    originals = {rel: (shared_datasets / "jazz/openbook_realbook_with_bass" / rel).read_bytes() for rel in JAZZ_TUNES}
    sha = make_archive(kind, {f"pkg/{rel}": data for rel, data in originals.items()}, tmp_path / f"a.{kind}")
    mirror.put(f"archives/openbook.{kind}", (tmp_path / f"a.{kind}").read_bytes())
    source = archive_source(f"{mirror.url}/archives/openbook.{kind}", sha)
    dest = tmp_path / "dest"

    folder = download_source(source, dest)

    assert folder == dest / "jazz/openbook_archive"
    assert files_under(folder) == sorted([*JAZZ_TUNES, ".museforge-archive.json"])
    for rel, data in originals.items():
        assert (folder / rel).read_bytes() == data
    reference = tmp_path / "reference"
    for rel, data in originals.items():
        (reference / rel).parent.mkdir(parents=True, exist_ok=True)
        (reference / rel).write_bytes(data)
    assert source_checksum(folder) == source_checksum(reference)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folders left
    messages: list[str] = []
    (mirror.root / f"archives/openbook.{kind}").unlink()  # a second run needs no network
    download_source(source, dest, progress=lambda done, total, msg: messages.append(msg))
    assert messages == ["jazz/openbook_archive (already present)"]


def test_archive_with_wrong_checksum_leaves_nothing(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    data = {
        f"pkg/{rel}": (shared_datasets / "jazz/openbook_realbook_with_bass" / rel).read_bytes() for rel in JAZZ_TUNES
    }
    real = make_archive("zip", data, tmp_path / "a.zip")
    mirror.put("archives/openbook.zip", (tmp_path / "a.zip").read_bytes())
    wrong = hashlib.sha256(b"something else").hexdigest()
    dest = tmp_path / "dest"

    with pytest.raises(MuseforgeError) as info:
        download_source(archive_source(f"{mirror.url}/archives/openbook.zip", wrong), dest)

    message = str(info.value)
    assert message.startswith("checksum mismatch for jazz/openbook_archive")
    assert f"expected {wrong}, got {real}" in message and "\n" not in message
    assert not dest.exists() or files_under(dest) == []
    assert not (dest / "jazz").exists()


def test_archive_with_unsafe_member_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    sha = make_archive("zip", {"pkg/ok.mid": b"MThd", "pkg/../../evil.mid": b"x"}, tmp_path / "a.zip")
    mirror.put("archives/evil.zip", (tmp_path / "a.zip").read_bytes())
    dest = tmp_path / "dest"
    with pytest.raises(MuseforgeError, match="unsafe path"):
        download_source(archive_source(f"{mirror.url}/archives/evil.zip", sha), dest)
    assert not (tmp_path / "evil.mid").exists() and not (dest / "evil.mid").exists()
    assert not dest.exists() or files_under(dest) == []


# ------------------------------------------------------------------------------------------ raw-file mirror


def test_rock_subset_is_verified_placed_and_resumable(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    serve_rock_subset(mirror, shared_datasets, (HELP, HARD_DAY, "README.md"))
    only = [f"{BEATLES}/{HELP}", f"{BEATLES}/{HARD_DAY}", f"{BEATLES}/README.md", f"{GROOVE_ROCK}/LICENSE"]
    only += [f"{GROOVE_ROCK}/{rel}" for rel in GROOVE_FILES]
    dest = tmp_path / "downloads"
    messages: list[str] = []

    root = download_genre(
        "rock", base_url_override=mirror.url, dest=dest, only=only, progress=lambda d, t, m: messages.append(m)
    )

    assert root == dest
    assert local_source_dir("rock", root) == dest / "rock"
    expected = [f"{BEATLES}/{r}" for r in (HELP, HARD_DAY, "README.md")] + [f"{GROOVE_ROCK}/{r}" for r in GROOVE_FILES]
    for rel in expected:
        assert (dest / rel).read_bytes() == (shared_datasets / rel).read_bytes(), rel
    # info.json is rebuilt from the upstream info.csv, for the chosen files only, in the local copy's order
    local_rows = json.loads((shared_datasets / GROOVE_ROCK / "info.json").read_text())
    rebuilt = json.loads((dest / GROOVE_ROCK / "info.json").read_text())
    assert rebuilt == [r for r in local_rows if r["midi_filename"] in GROOVE_FILES]
    assert sorted(files_under(dest)) == sorted([*expected, f"{GROOVE_ROCK}/info.json"])
    assert f"{GROOVE_ROCK}/LICENSE (not found upstream, skipped)" in messages
    assert len(messages) == len(only) + 1  # six files and one info.csv fetch

    shutil.rmtree(mirror.root / "craffel")
    shutil.rmtree(mirror.root / "zharry29")
    again: list[str] = []
    download_genre("rock", base_url_override=mirror.url, dest=dest, only=only, progress=lambda d, t, m: again.append(m))
    assert sum(m.endswith("(already present)") for m in again) == 5
    assert (dest / f"{BEATLES}/{HELP}").read_bytes() == (shared_datasets / BEATLES / HELP).read_bytes()


def test_corrupted_file_raises_and_keeps_verified_files(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    serve_rock_subset(mirror, shared_datasets, (HELP,))
    dest = tmp_path / "downloads"
    download_genre("rock", base_url_override=mirror.url, dest=dest, only=[f"{BEATLES}/{HELP}"])
    good = (dest / BEATLES / HELP).read_bytes()
    corrupted = bytearray((shared_datasets / BEATLES / DRIVE).read_bytes())
    corrupted[100] ^= 0xFF
    mirror.put(UPSTREAM[DRIVE], bytes(corrupted))
    expected_sha = load_manifest("rock")["beatles_lmd_midi_ground_truth"].files[DRIVE]

    with pytest.raises(MuseforgeError) as info:
        download_genre(
            "rock", base_url_override=mirror.url, dest=dest, only=[f"{BEATLES}/{HELP}", f"{BEATLES}/{DRIVE}"]
        )

    message = str(info.value)
    got = hashlib.sha256(bytes(corrupted)).hexdigest()
    assert message == f"checksum mismatch for {BEATLES}/{DRIVE}: expected {expected_sha}, got {got}"
    assert (dest / BEATLES / HELP).read_bytes() == good
    assert files_under(dest) == [f"{BEATLES}/{HELP}"]  # no partial or temp files
    assert not (dest / BEATLES / "mid/06_-_Rubber_Soul").exists()  # the folder made for it is gone too


def test_missing_file_is_a_one_line_error(mirror: Mirror, tmp_path: Path) -> None:
    dest = tmp_path / "downloads"
    with pytest.raises(MuseforgeError) as info:
        download_genre("rock", base_url_override=mirror.url, dest=dest, only=[f"{BEATLES}/{HELP}"])
    message = str(info.value)
    assert "HTTP 404" in message and f"{BEATLES}/{HELP}" in message and "\n" not in message
    assert not dest.exists() or files_under(dest) == []


@pytest.mark.slow
def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MuseforgeError) as info:
        download_genre("rock", base_url_override="http://127.0.0.1:9", dest=tmp_path, only=[f"{BEATLES}/{HELP}"])
    assert "download of" in str(info.value) and "\n" not in str(info.value)
    assert files_under(tmp_path) == []


def test_pop_beats_are_rebuilt_from_upstream_text(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    pop = shared_datasets / "pop/pop909"
    beats = json.loads((pop / "beat_midi.json").read_text())
    for song in ("001", "002"):
        mirror.put(f"{POP_BASE}/POP909/{song}/{song}.mid", (pop / f"POP909/{song}/{song}.mid").read_bytes())
        mirror.put(f"{POP_BASE}/POP909/{song}/beat_midi.txt", upstream_beat_txt(beats[song]))
    mirror.put(f"{POP_BASE}/README.md", (pop / "README.md").read_bytes())
    dest = tmp_path / "downloads"

    download_genre(
        "pop", base_url_override=mirror.url, dest=dest, only=["pop/pop909/POP909/001", "pop/pop909/POP909/002"]
    )

    rebuilt = json.loads((dest / "pop/pop909/beat_midi.json").read_text())
    assert rebuilt == {"001": beats["001"], "002": beats["002"]}
    assert (dest / "pop/pop909/POP909/002/002.mid").read_bytes() == (pop / "POP909/002/002.mid").read_bytes()
    assert not (dest / "pop/pop909/index.json").exists()

    before = (dest / "pop/pop909/beat_midi.json").read_bytes()
    tampered = [list(r) for r in beats["003"]]
    tampered[5][2] = 1 - tampered[5][2]  # one downbeat flag flipped
    mirror.put(f"{POP_BASE}/POP909/003/003.mid", (pop / "POP909/003/003.mid").read_bytes())
    mirror.put(f"{POP_BASE}/POP909/003/beat_midi.txt", upstream_beat_txt(tampered))
    with pytest.raises(MuseforgeError, match=r"checksum mismatch for pop/pop909/beat_midi.json\[003\]"):
        download_genre("pop", base_url_override=mirror.url, dest=dest, only=["pop/pop909/POP909/003"])
    assert (dest / "pop/pop909/beat_midi.json").read_bytes() == before


def test_complete_derived_file_is_checked_as_a_whole(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    pop = shared_datasets / "pop/pop909"
    beats = json.loads((pop / "beat_midi.json").read_text())
    songs = ("004", "005", "006")
    for song in songs:
        mirror.put(f"{POP_BASE}/POP909/{song}/beat_midi.txt", upstream_beat_txt(beats[song]))
    full = load_manifest("pop")["pop909"]
    (beat_manifest,) = full.derived
    parts = {song: beat_manifest.parts[song] for song in songs}
    # the local file's own format: compact JSON, songs in order
    whole = json.dumps({song: beats[song] for song in songs}, separators=(",", ":")).encode()
    source = get_source("pop", "pop909")

    def manifest(sha256: str) -> SourceManifest:
        derived = dataclasses.replace(beat_manifest, parts=parts, sha256=sha256)
        return dataclasses.replace(full, files={}, derived=(derived,))

    bad = hashlib.sha256(b"not it").hexdigest()
    with pytest.raises(
        MuseforgeError, match=f"checksum mismatch for rebuilt pop/pop909/beat_midi.json: expected {bad}"
    ):
        download_source(source, tmp_path / "a", base_url_override=mirror.url, manifest=manifest(bad))
    assert not (tmp_path / "a").exists()

    download_source(
        source, tmp_path / "b", base_url_override=mirror.url, manifest=manifest(hashlib.sha256(whole).hexdigest())
    )
    assert (tmp_path / "b/pop/pop909/beat_midi.json").read_bytes() == whole


@pytest.mark.slow
def test_full_pop_download_rebuilds_beat_json_byte_for_byte(
    mirror: Mirror, shared_datasets: Path, tmp_path: Path
) -> None:
    pop = shared_datasets / "pop/pop909"
    beats = json.loads((pop / "beat_midi.json").read_text())
    shutil.copytree(pop / "POP909", mirror.root / POP_BASE / "POP909")
    for song, rows in beats.items():
        mirror.put(f"{POP_BASE}/POP909/{song}/beat_midi.txt", upstream_beat_txt(rows))
    for name in ("README.md", "LICENSE"):
        mirror.put(f"{POP_BASE}/{name}", (pop / name).read_bytes())
    dest = tmp_path / "downloads"

    download_genre("pop", base_url_override=mirror.url, dest=dest, workers=8)

    assert (dest / "pop/pop909/beat_midi.json").read_bytes() == (pop / "beat_midi.json").read_bytes()
    assert source_checksum(dest / "pop/pop909/POP909") == source_checksum(pop / "POP909")
    assert len(files_under(dest)) == 909 + 3


def test_env_base_url_and_default_destination(
    mirror: Mirror, shared_datasets: Path, museforge_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = get_source("jazz", "openbook_realbook_with_bass")
    manifest = load_manifest("jazz")
    first_tune = next(r for r in manifest[source.id].files if r.endswith(".mid"))
    first_drums = next(r for r in manifest["groove_midi_drums_gmd"].files if r.endswith(".mid"))
    mirror.put(
        f"{source.repository}/{source.commit}/data/realbook/{first_tune}",
        (shared_datasets / source.subdirectory / first_tune).read_bytes(),
    )
    mirror.put(f"{GMD_BASE}/{first_drums}", (shared_datasets / "jazz/groove_midi_drums_gmd" / first_drums).read_bytes())
    rows = json.loads((shared_datasets / "jazz/groove_midi_drums_gmd/info.json").read_text())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0], "audio_filename"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "audio_filename": ""} for r in rows)
    mirror.put(f"{GMD_BASE}/info.csv", out.getvalue().encode())
    monkeypatch.setenv(BASE_URL_ENV, mirror.url)

    root = download_genre("jazz", limit=1)

    assert root == museforge_home / "downloads"
    assert files_under(root / "jazz") == sorted(
        [
            f"openbook_realbook_with_bass/{first_tune}",
            f"groove_midi_drums_gmd/{first_drums}",
            "groove_midi_drums_gmd/info.json",
        ]
    )
    assert json.loads((root / "jazz/groove_midi_drums_gmd/info.json").read_text()) == [
        r for r in rows if r["midi_filename"] == first_drums
    ]


def test_genres_that_cannot_be_downloaded_or_selections_that_match_nothing(tmp_path: Path) -> None:
    with pytest.raises(MuseforgeError, match=r"symphony cannot be downloaded.*--source"):
        download_genre("symphony", dest=tmp_path)
    with pytest.raises(NotFoundError, match="unknown genre"):
        download_genre("metal", dest=tmp_path)
    with pytest.raises(MuseforgeError, match="nothing in jazz matches"):
        download_genre("jazz", dest=tmp_path, only=["jazz/no_such_folder"])
    with pytest.raises(MuseforgeError, match="limit"):
        download_genre("jazz", dest=tmp_path, limit=-1)
    assert files_under(tmp_path) == []
