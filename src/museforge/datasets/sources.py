"""Where each genre's training data comes from: public GitHub repositories pinned to a commit.

A *source root* is a folder laid out like ``../shared/datasets``: ``<root>/<genre>/<source folder>/...``.
Both the read-only local copy and :func:`museforge.paths.downloads_dir` (filled by
:mod:`museforge.datasets.download`) are source roots, so a dataset builder treats them alike.

The checksums of the files a download can fetch live in ``manifests/<genre>.json`` (package data), written by
:mod:`museforge.datasets.make_manifest` from a local copy; nothing here is guessed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from museforge.errors import MuseforgeError, NotFoundError

GENRES: tuple[str, ...] = ("bach", "pop", "rock", "jazz", "symphony")

_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ArchiveSpec:
    """A source published as one archive (``.zip``, ``.tar.gz`` or ``.tgz``) with a known sha256.

    ``strip_prefix`` is removed from member names (e.g. the archive's top folder ``"repo-<commit>/"``);
    members outside it are ignored.
    """

    url: str
    sha256: str
    strip_prefix: str = ""

    def __post_init__(self) -> None:
        if not _HEX64.fullmatch(self.sha256):
            raise ValueError(f"archive sha256 must be 64 lowercase hex digits, got {self.sha256!r}")

    @property
    def kind(self) -> str:
        """``"zip"`` or ``"tar.gz"``, from the url's ending."""
        path = self.url.split("?", 1)[0].lower()
        if path.endswith(".zip"):
            return "zip"
        if path.endswith((".tar.gz", ".tgz")):
            return "tar.gz"
        raise MuseforgeError(f"unsupported archive type (need .zip, .tar.gz or .tgz): {self.url}")


@dataclass(frozen=True, kw_only=True)
class Source:
    """One public repository that feeds a genre.

    File patterns are ``fnmatch`` patterns on paths relative to the source folder, where ``*`` does not
    cross ``/``. ``verbatim`` files exist byte for byte upstream (checksummed in the manifest);
    ``optional`` ones among them (README, LICENSE) are skipped if the server lacks them; ``derived`` names
    files that a download rebuilds and verifies from upstream data (``(file name, kind)``); ``not_fetched``
    names local files a download does not reproduce (explained in ``download_note``).
    ``path_rules`` map a local path to its path in the repository: ``(regex, replacement)`` pairs, the
    first full match wins, no match means the same path.
    """

    id: str
    title: str
    repository: str
    commit: str
    subdirectory: str
    licence: str
    citation: str
    url: str
    downloadable: bool
    download_note: str
    verbatim: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    derived: tuple[tuple[str, str], ...] = ()
    not_fetched: tuple[str, ...] = ()
    path_rules: tuple[tuple[str, str], ...] = ()
    archive: ArchiveSpec | None = field(default=None)

    def __post_init__(self) -> None:
        if not _HEX40.fullmatch(self.commit):
            raise ValueError(f"{self.id}: commit must be 40 lowercase hex digits, got {self.commit!r}")
        if not _REPO.fullmatch(self.repository):
            raise ValueError(f"{self.id}: repository must be 'owner/name', got {self.repository!r}")
        if "\n" in self.download_note:
            raise ValueError(f"{self.id}: download_note must be one line")

    @property
    def genre(self) -> str:
        """The genre folder this source sits in (first part of ``subdirectory``)."""
        return self.subdirectory.split("/", 1)[0]

    def local_dir(self, source_root: Path) -> Path:
        """This source's folder under a source root: ``<root>/<subdirectory>``."""
        return Path(source_root) / self.subdirectory

    def upstream_path(self, relpath: str) -> str:
        """Path in the repository of a file at ``relpath`` (relative to the source folder)."""
        for pattern, replacement in self.path_rules:
            match = re.fullmatch(pattern, relpath)
            if match:
                return match.expand(replacement)
        return relpath


@dataclass(frozen=True)
class GenreSpec:
    """A genre: what it is, the model family that learns it, and its sources."""

    name: str
    description: str
    architecture: str
    sources: tuple[Source, ...]

    @property
    def downloadable(self) -> bool:
        """True when at least one source can be downloaded."""
        return any(s.downloadable for s in self.sources)


def path_matches(relpath: str, pattern: str) -> bool:
    """``fnmatch`` on ``/``-separated paths where ``*`` stays inside one folder; equal strings always match."""
    if relpath == pattern:
        return True
    return relpath.count("/") == pattern.count("/") and fnmatch.fnmatchcase(relpath, pattern)


def _gh(repository: str) -> str:
    return f"https://github.com/{repository}"


_GMD_REPO = "zharry29/drums-with-llm"
_GMD_COMMIT = "476adbc938a600eaca26bbb02648e6127b5eca64"
_GMD_CITATION = (
    "Gillick, Roberts, Engel, Eck & Bamman (2019), Learning to Groove with Inverse Sequence Transformations, "
    "ICML (Groove MIDI Dataset v1.0, Magenta)"
)
_GMD_NOTE = (
    "Fetches the drum MIDI files verbatim from groove/ (a mirror of Magenta's Groove MIDI Dataset v1.0) and "
    "LICENSE; info.json is rebuilt from groove/info.csv (the audio_filename column dropped) and each row is "
    "checked against the local copy's checksums."
)


def _gmd(genre: str, styles: str) -> Source:
    return Source(
        id="groove_midi_drums_gmd",
        title=f"Groove MIDI Dataset: {styles} drum performances",
        repository=_GMD_REPO,
        commit=_GMD_COMMIT,
        subdirectory=f"{genre}/groove_midi_drums_gmd",
        licence="CC-BY 4.0",
        citation=_GMD_CITATION,
        url=_gh(_GMD_REPO),
        downloadable=True,
        download_note=_GMD_NOTE,
        verbatim=("drummer*/*/*.mid", "LICENSE"),
        optional=("LICENSE",),
        derived=(("info.json", "gmd_info"),),
        path_rules=((r"(.+)", r"groove/\1"),),
    )


_BACH = Source(
    id="jsb_chorales_czhuang",
    title="JSB Chorales (SATB, 16th-note grid, Boulanger-Lewandowski split)",
    repository="czhuang/JSB-Chorales-dataset",
    commit="9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d",
    subdirectory="bach/jsb_chorales_czhuang",
    licence="Bach's music is public domain; the repository has no licence file",
    citation=(
        "Boulanger-Lewandowski, Bengio & Vincent (2012), Modeling Temporal Dependencies in High-Dimensional "
        "Sequences, ICML; Huang, Cooijmans et al. (2017), Counterpoint by Convolution, ISMIR"
    ),
    url=_gh("czhuang/JSB-Chorales-dataset"),
    downloadable=True,
    download_note=(
        "Fetches the verbatim files (Jsb16thSeparated.npz and .json, jsb-chorales-*.json/.pkl, README.md). "
        "The 4-track MIDI in midi_derived_satb/ was converted locally and is not fetched: a downloaded copy "
        "holds bach/jsb_chorales_czhuang/Jsb16thSeparated.json, which the builder reads (keys train/valid/test: "
        "lists of (steps, 4) SATB MIDI pitches on a 16th-note grid, -1 = rest; the .npz twin holds pickled "
        "object arrays and is never loaded)."
    ),
    verbatim=("*.npz", "*.json", "*.pkl", "README.md"),
    optional=("README.md",),
    not_fetched=("midi_derived_satb/*/*.mid",),
)

_POP909 = Source(
    id="pop909",
    title="POP909 piano arrangements (melody, bridge, piano)",
    repository="music-x-lab/POP909-Dataset",
    commit="d83e6edba6872a704f5d3b8b32f5cb540088dae6",
    subdirectory="pop/pop909",
    licence="MIT",
    citation=(
        "Wang, Chen, Jiang, Zhang, Xu, Dai, Bin & Xia (2020), POP909: A Pop-song Dataset for Music "
        "Arrangement Generation, ISMIR"
    ),
    url=_gh("music-x-lab/POP909-Dataset"),
    downloadable=True,
    download_note=(
        "Fetches POP909/<id>/<id>.mid verbatim (plus README.md, LICENSE) and rebuilds beat_midi.json from each "
        "song's POP909/<id>/beat_midi.txt, checking every song's rows (times to 4 decimals, beat and downbeat "
        "flags) against the local copy's checksums. index.json (converted from index.xlsx) is not rebuilt: "
        "take meter and downbeats from beat_midi.json."
    ),
    verbatim=("POP909/*/*.mid", "README.md", "LICENSE"),
    optional=("README.md", "LICENSE"),
    derived=(("beat_midi.json", "pop909_beats"),),
    not_fetched=("index.json",),
)

_BEATLES = Source(
    id="beatles_lmd_midi_ground_truth",
    title="The Beatles, multi-instrument MIDI from the Lakh MIDI Dataset",
    repository="craffel/midi-ground-truth",
    commit="f24927e95f8e2d2921477581240ae732933c5654",
    subdirectory="rock/beatles_lmd_midi_ground_truth",
    licence=(
        "Lakh MIDI Dataset, CC-BY 4.0 (the repository has no licence file; the songs are (c) their "
        "publishers: research use only)"
    ),
    citation=(
        "Raffel & Ellis (2016), Extracting Ground Truth Information from MIDI Files: A MIDIfesto, ISMIR; "
        "Raffel (2016), Learning-Based Methods for Comparing Sequences, with Applications to Audio-to-MIDI "
        "Alignment and Matching, PhD thesis, Columbia University (Lakh MIDI Dataset)"
    ),
    url=_gh("craffel/midi-ground-truth"),
    downloadable=True,
    download_note=(
        "Fetches data/mid/<album>/<track>.mid<k> verbatim and stores each as mid/<album>/<track>.v<k>.mid "
        "(plus README.md); the 9 files that do not parse are left out."
    ),
    verbatim=("mid/*/*.mid", "README.md"),
    optional=("README.md",),
    not_fetched=("removed_unparseable.json",),
    path_rules=((r"mid/(.+)\.v(\d+)\.mid", r"data/mid/\1.mid\2"),),
)

_OPENBOOK = Source(
    id="openbook_realbook_with_bass",
    title="OpenBook real-book lead sheets with an automatic walking bass",
    repository="noamshamir/jazz-accompaniment-generation",
    commit="0650960867526f3ba559bc4899f19499174ecc93",
    subdirectory="jazz/openbook_realbook_with_bass",
    licence=(
        "GPL-3 lead-sheet encodings from veltzer/openbook (the tunes are (c) their owners); the repository "
        "has no licence file"
    ),
    citation=(
        "noamshamir/jazz-accompaniment-generation (GitHub), MIDI rendered from the veltzer/openbook LilyPond "
        "lead sheets"
    ),
    url=_gh("noamshamir/jazz-accompaniment-generation"),
    downloadable=True,
    download_note="Fetches data/realbook/midis_with_bass/*.mid verbatim into midis_with_bass/ (plus README.md).",
    verbatim=("midis_with_bass/*.mid", "README.md"),
    optional=("README.md",),
    path_rules=((r"midis_with_bass/(.+)", r"data/realbook/midis_with_bass/\1"),),
)

_HAUPTSTIMME_COMMIT = "8f677853c45b74ca0afcd79677e5379c06c82354"
_HAUPTSTIMME = Source(
    id="openscore_orchestra_hauptstimme",
    title="OpenScore Orchestra corpus (full scores converted to MIDI)",
    repository="MarkGotham/Hauptstimme",
    commit=_HAUPTSTIMME_COMMIT,
    subdirectory="symphony/openscore_orchestra_hauptstimme",
    licence="Scores CC0 1.0; code MIT",
    citation="Mark Gotham and contributors, OpenScore Orchestra corpus and Hauptstimme annotations (GitHub)",
    url=_gh("MarkGotham/Hauptstimme"),
    downloadable=False,
    download_note=(
        "Not downloadable: the MIDI was converted from MusicXML by whoever assembled the local copy and is not "
        "published upstream. Get the scores with `git clone https://github.com/MarkGotham/Hauptstimme && "
        f"git -C Hauptstimme checkout {_HAUPTSTIMME_COMMIT}` (full scores: data/**/<work>_<mvt>.mxl, skip "
        "*_melody.mxl), convert them to MIDI (e.g. with music21) into "
        "<root>/symphony/openscore_orchestra_hauptstimme/midi_from_mxl/, and pass <root> with --source "
        "(or use a copy such as ../shared/datasets)."
    ),
)

_REGISTRY: dict[str, GenreSpec] = {
    "bach": GenreSpec(
        name="bach",
        description="J.S. Bach four-part chorales (soprano, alto, tenor, bass) from the JSB Chorales dataset",
        architecture="unet",
        sources=(_BACH,),
    ),
    "pop": GenreSpec(
        name="pop",
        description="Chinese pop songs arranged for piano (melody, bridge, accompaniment) from POP909",
        architecture="musegan",
        sources=(_POP909,),
    ),
    "rock": GenreSpec(
        name="rock",
        description=(
            "Beatles songs with drums, bass, guitars and keys (Lakh MIDI Dataset) plus human rock and punk "
            "drum performances (Groove MIDI Dataset)"
        ),
        architecture="musegan",
        sources=(_BEATLES, _gmd("rock", "rock and punk")),
    ),
    "jazz": GenreSpec(
        name="jazz",
        description=(
            "Jazz standards as lead sheets with block chords and a walking bass (OpenBook) plus human jazz "
            "drum performances (Groove MIDI Dataset)"
        ),
        architecture="musegan",
        sources=(_OPENBOOK, _gmd("jazz", "jazz")),
    ),
    "symphony": GenreSpec(
        name="symphony",
        description=(
            "Orchestral movements (Beethoven, Brahms, Bach, Bruckner, Beach, ...) from the OpenScore "
            "Orchestra full scores"
        ),
        architecture="musegan",
        sources=(_HAUPTSTIMME,),
    ),
}


def get_genre(name: str) -> GenreSpec:
    """The :class:`GenreSpec` of ``name`` (case-insensitive); unknown names raise :class:`NotFoundError`."""
    spec = _REGISTRY.get(str(name).strip().lower())
    if spec is None:
        raise NotFoundError(f"unknown genre {name!r}: choose one of {', '.join(GENRES)}")
    return spec


def get_source(genre: str, source_id: str) -> Source:
    """One source of a genre by id; unknown ids raise :class:`NotFoundError`."""
    spec = get_genre(genre)
    for source in spec.sources:
        if source.id == source_id:
            return source
    ids = ", ".join(s.id for s in spec.sources)
    raise NotFoundError(f"genre {spec.name} has no source {source_id!r}: choose one of {ids}")


def local_source_dir(genre: str, source_root: Path) -> Path:
    """The genre folder ``<source_root>/<genre>`` holding at least one of the genre's source folders.

    ``source_root`` may also be the genre folder itself. Raises :class:`NotFoundError` (saying how to get
    the data) when none of the genre's source folders is there.
    """
    spec = get_genre(genre)
    root = Path(source_root).expanduser()
    candidates = [root / spec.name]
    if root.name == spec.name:
        candidates.append(root)
    for genre_dir in candidates:
        if any((genre_dir.parent / s.subdirectory).is_dir() for s in spec.sources):
            return genre_dir
    wanted = ", ".join(s.subdirectory for s in spec.sources)
    hint = f"run `museforge datasets download {spec.name}`" if spec.downloadable else spec.sources[0].download_note
    raise NotFoundError(f"no {spec.name} data under {root} (expected {wanted}): {hint}")


def describe_sources() -> list[dict[str, object]]:
    """One row per (genre, source) for listings: genre, source, title, repository, commit, licence, ..."""
    rows: list[dict[str, object]] = []
    for genre in GENRES:
        spec = _REGISTRY[genre]
        manifest = load_manifest(genre)
        for source in spec.sources:
            entry = manifest.get(source.id)
            rows.append(
                {
                    "genre": genre,
                    "source": source.id,
                    "title": source.title,
                    "repository": source.repository,
                    "commit": source.commit,
                    "licence": source.licence,
                    "downloadable": source.downloadable,
                    "files": len(entry.files) if entry else 0,
                    "url": source.url,
                    "citation": source.citation,
                    "download_note": source.download_note,
                }
            )
    return rows


# ----------------------------------------------------------------------------------------------- checksums


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def iter_source_files(directory: Path) -> list[str]:
    """Sorted ``/``-separated paths of the files under ``directory``, hidden names (``.*``) left out."""
    base = Path(directory)
    paths = []
    for path in base.rglob("*"):
        rel = path.relative_to(base)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        paths.append(rel.as_posix())
    return sorted(paths)


def source_checksum(directory: Path) -> str:
    """A sha256 identifying a source folder's content.

    It is the sha256 of the UTF-8 text made of one line ``"<relative path>\\t<file sha256>\\n"`` per file,
    sorted by path (``/``-separated). Hidden files and folders (download markers, temp files) are ignored.
    """
    base = Path(directory)
    if not base.is_dir():
        raise NotFoundError(f"source folder not found: {base}")
    lines = "".join(f"{rel}\t{file_sha256(base / rel)}\n" for rel in iter_source_files(base))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------ manifests


@dataclass(frozen=True)
class DerivedManifest:
    """A derived file a download rebuilds: its kind, the local file's sha256, and per-part checksums.

    ``parts`` maps a part key (POP909 song id, Groove MIDI file path) to the sha256 of the part's canonical
    form, in the order the parts appear in the local file.
    """

    name: str
    kind: str
    sha256: str
    parts: Mapping[str, str]


@dataclass(frozen=True)
class SourceManifest:
    """Checksums of one source: verbatim files (path relative to the source folder -> sha256) and derived."""

    repository: str
    commit: str
    files: Mapping[str, str]
    derived: tuple[DerivedManifest, ...] = ()


def manifest_resource(genre: str) -> str:
    """File name of a genre's manifest inside the package folder ``museforge/datasets/manifests``."""
    return f"{get_genre(genre).name}.json"


def parse_manifest(data: Mapping[str, object]) -> dict[str, SourceManifest]:
    """Turn a manifest's JSON object into ``{source id: SourceManifest}``."""
    out: dict[str, SourceManifest] = {}
    sources = data.get("sources", {})
    if not isinstance(sources, Mapping):
        raise MuseforgeError("malformed dataset manifest: 'sources' must be an object")
    for source_id, entry in sources.items():
        derived = tuple(
            DerivedManifest(name=name, kind=d["kind"], sha256=d["sha256"], parts=dict(d["parts"]))
            for name, d in entry.get("derived", {}).items()
        )
        out[source_id] = SourceManifest(
            repository=entry["repository"], commit=entry["commit"], files=dict(entry["files"]), derived=derived
        )
    return out


@cache
def load_manifest(genre: str) -> dict[str, SourceManifest]:
    """The committed checksums of a genre's sources; empty for a genre without a manifest."""
    ref = resources.files("museforge.datasets").joinpath("manifests").joinpath(manifest_resource(genre))
    if not ref.is_file():
        return {}
    return parse_manifest(json.loads(ref.read_text(encoding="utf-8")))
