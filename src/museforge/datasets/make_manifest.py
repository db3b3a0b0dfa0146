"""Regenerate the download manifests (``manifests/<genre>.json``) from a local copy of the sources.

For maintainers, after a source's commit or file set changes::

    python -m museforge.datasets.make_manifest --source ../shared/datasets          # rewrite manifests
    python -m museforge.datasets.make_manifest --source ../shared/datasets --check  # exit 1 if stale

A manifest records, per downloadable source, the sha256 of every verbatim file (path relative to the
source folder) and, per derived file, its sha256 and per-part canonical checksums (see
:mod:`museforge.datasets.download`). Every local file must be verbatim, derived or listed as not fetched
in the registry, so nothing is forgotten silently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from museforge.datasets.derived import DERIVED_KINDS, derived_part_digests
from museforge.datasets.sources import (
    GENRES,
    Source,
    file_sha256,
    get_genre,
    iter_source_files,
    path_matches,
)
from museforge.errors import MuseforgeError

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
FORMAT = 1


def classify(source: Source, relpath: str) -> str:
    """``"verbatim"``, ``"derived"``, ``"not_fetched"`` or ``"unknown"`` for a file of a source folder."""
    if any(relpath == name for name, _ in source.derived):
        return "derived"
    if any(path_matches(relpath, p) for p in source.verbatim):
        return "verbatim"
    if any(path_matches(relpath, p) for p in source.not_fetched):
        return "not_fetched"
    return "unknown"


def source_entry(source: Source, source_root: Path) -> dict[str, object]:
    """The manifest entry of one source, computed from ``<source_root>/<source.subdirectory>``."""
    folder = source.local_dir(source_root)
    if not folder.is_dir():
        raise MuseforgeError(f"source folder not found: {folder}")
    rels = iter_source_files(folder)
    unknown = [r for r in rels if classify(source, r) == "unknown"]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise MuseforgeError(f"{source.subdirectory}: files neither verbatim, derived nor not_fetched: {shown}")
    files = {r: file_sha256(folder / r) for r in rels if classify(source, r) == "verbatim"}
    derived: dict[str, object] = {}
    for name, kind in source.derived:
        if kind not in DERIVED_KINDS:
            raise MuseforgeError(f"{source.subdirectory}: unknown derived kind {kind!r}")
        data = (folder / name).read_bytes()
        derived[name] = {
            "kind": kind,
            "sha256": hashlib.sha256(data).hexdigest(),
            "parts": derived_part_digests(kind, data),
        }
    entry: dict[str, object] = {"repository": source.repository, "commit": source.commit, "files": files}
    if derived:
        entry["derived"] = derived
    return entry


def build_manifest(genre: str, source_root: Path) -> dict[str, Any] | None:
    """The manifest of a genre, or None when none of its sources is downloadable from a manifest."""
    spec = get_genre(genre)
    sources = {s.id: source_entry(s, Path(source_root)) for s in spec.sources if s.downloadable and s.archive is None}
    if not sources:
        return None
    return {"format": FORMAT, "genre": spec.name, "sources": sources}


def manifest_text(manifest: dict[str, object]) -> str:
    """The committed form: one entry per line, insertion order kept (derived parts in file order)."""
    return json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the manifests of all genres; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m museforge.datasets.make_manifest", description=__doc__)
    parser.add_argument("--source", type=Path, required=True, help="source root, e.g. ../shared/datasets")
    parser.add_argument("--out", type=Path, default=MANIFEST_DIR, help="folder of the manifests")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a manifest is stale")
    parser.add_argument("genres", nargs="*", default=list(GENRES), help="genres (default: all)")
    args = parser.parse_args(argv)
    stale = []
    try:
        for genre in args.genres:
            manifest = build_manifest(genre, args.source)
            if manifest is None:
                print(f"{genre}: no downloadable source, no manifest")
                continue
            path = args.out / f"{get_genre(genre).name}.json"
            text = manifest_text(manifest)
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            counts = ", ".join(f"{sid}: {len(e['files'])} files" for sid, e in manifest["sources"].items())
            if args.check:
                status = "up to date" if current == text else "STALE"
                if current != text:
                    stale.append(genre)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                if current != text:
                    path.write_text(text, encoding="utf-8")
                status = f"wrote {path} ({len(text.encode()) // 1024} KiB)"
            print(f"{genre}: {counts}; {status}")
    except MuseforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
