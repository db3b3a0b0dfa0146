"""Download a genre's sources from their pinned public commits, verifying every byte.

Files land in ``<dest>/<genre>/<source folder>/...`` (``dest`` defaults to
:func:`museforge.paths.downloads_dir`), the layout of ``../shared/datasets``, so ``dest`` is a source root
that a dataset builder reads like ``--source ../shared/datasets``.

Verbatim files come from ``<base>/<owner>/<repo>/<commit>/<path in repo>`` where ``<base>`` is
``https://raw.githubusercontent.com``, or ``$MUSEFORGE_DOWNLOAD_URL``, or ``base_url_override`` (mirrors,
tests). Each file is written to a hidden temp file beside its target, its sha256 checked against the
committed manifest, then moved into place with :func:`os.replace`; a wrong checksum removes the temp file and
raises :class:`MuseforgeError`. Files already present with the right checksum are skipped, so a download
resumes where it stopped. Derived files (POP909 ``beat_midi.json``, Groove ``info.json``) are rebuilt from
their upstream text files and written only when every part matches the manifest's per-part checksums.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from museforge.datasets.derived import _KINDS, _Kind
from museforge.datasets.fetch import (
    MissingUpstream,
    archive_url,
    download_file,
    fetch_bytes,
    one_line,
    raw_url,
    resolve_base_url,
    write_atomic,
)
from museforge.datasets.sources import (
    ArchiveSpec,
    DerivedManifest,
    Source,
    SourceManifest,
    file_sha256,
    get_genre,
    load_manifest,
)
from museforge.errors import MuseforgeError
from museforge.paths import downloads_dir

#: Written inside a folder extracted from an archive; records the archive's sha256 (hidden: not data).
ARCHIVE_MARKER = ".museforge-archive.json"

#: ``progress(done, total, message)``, called from the calling thread after each file (or part group).
ProgressFn = Callable[[int, int, str], None]


# --------------------------------------------------------------------------------------------- archives


def _member_path(name: str, strip_prefix: str, dest: Path, label: str) -> Path | None:
    """Where an archive member goes under ``dest``; None when it lies outside ``strip_prefix``."""
    clean = name.replace("\\", "/")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if clean.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise MuseforgeError(f"unsafe path in archive {label}: {name!r}")
    clean = "/".join(parts)
    prefix = strip_prefix.strip("/")
    if prefix:
        if not clean.startswith(prefix + "/"):
            return None
        clean = clean[len(prefix) + 1 :]
    return dest / clean if clean else None


def _extract(archive: Path, spec: ArchiveSpec, dest: Path, label: str) -> int:
    """Extract regular files of ``archive`` into ``dest``; returns how many were written."""
    count = 0
    try:
        if spec.kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    target = None if info.is_dir() else _member_path(info.filename, spec.strip_prefix, dest, label)
                    if target is None:
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    count += 1
        else:
            with tarfile.open(archive, "r:gz") as tf:
                for member in tf:
                    if not member.isfile():
                        continue
                    target = _member_path(member.name, spec.strip_prefix, dest, label)
                    if target is None:
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    member_file = tf.extractfile(member)
                    if member_file is None:
                        continue
                    with member_file, open(target, "wb") as dst:
                        shutil.copyfileobj(member_file, dst)
                    count += 1
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
        raise MuseforgeError(f"cannot extract {label}: {one_line(exc)}") from None
    if count == 0:
        where = f" under {spec.strip_prefix!r}" if spec.strip_prefix else ""
        raise MuseforgeError(f"archive {label} has no files{where}")
    return count


def _swap_in(new: Path, target: Path) -> None:
    """Rename folder ``new`` to ``target``, replacing an existing ``target``."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _archive_task(source: Source, root: Path, base: str) -> Callable[[], str]:
    spec = source.archive
    assert spec is not None
    target = source.local_dir(root)
    label = source.subdirectory
    url = archive_url(spec, base)
    kind = spec.kind  # fails early on an unsupported archive type

    def run() -> str:
        marker = target / ARCHIVE_MARKER
        if marker.is_file():
            try:
                if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == spec.sha256:
                    return "already present"
            except (OSError, ValueError):
                pass
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
        try:
            archive = work / ("archive.zip" if kind == "zip" else "archive.tar.gz")
            download_file(url, archive, spec.sha256, f"{label} ({url.rsplit('/', 1)[-1]})")
            tree = work / "tree"
            count = _extract(archive, spec, tree, label)
            (tree / ARCHIVE_MARKER).write_text(json.dumps({"url": spec.url, "sha256": spec.sha256}) + "\n")
            _swap_in(tree, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return f"{count} files"

    return run


# ---------------------------------------------------------------------------------------------- planning


@dataclass
class _Plan:
    """Work for one source: independent tasks (run in threads), then finishing steps (in order)."""

    tasks: list[tuple[str, Callable[[], str]]] = field(default_factory=list)
    finish: list[Callable[[], None]] = field(default_factory=list)
    targets: list[Path] = field(default_factory=list)


def _only_matches(path: str, only: Collection[str]) -> bool:
    for pattern in only:
        pattern = pattern.strip().strip("/")
        if path == pattern or path.startswith(pattern + "/") or fnmatchcase(path, pattern):
            return True
    return False


def _select(source: Source, files: Mapping[str, str], only: Collection[str] | None, limit: int | None) -> list[str]:
    rels = list(files)
    if only is not None:
        rels = [r for r in rels if _only_matches(f"{source.subdirectory}/{r}", only)]
    if limit is not None:
        midi = [r for r in rels if r.lower().endswith(".mid")][:limit]
        keep = set(midi)
        rels = [r for r in rels if not r.lower().endswith(".mid") or r in keep]
    return rels


def _file_task(source: Source, root: Path, base: str, rel: str, sha256: str) -> Callable[[], str]:
    target = source.local_dir(root) / rel
    label = f"{source.subdirectory}/{rel}"
    url = raw_url(source, rel, base)
    optional = any(rel == name for name in source.optional)

    def run() -> str:
        if target.is_file() and file_sha256(target) == sha256:
            return "already present"
        try:
            download_file(url, target, sha256, label)
        except MissingUpstream:
            if optional:
                return "not found upstream, skipped"
            raise
        except OSError as exc:
            raise MuseforgeError(f"cannot write {label}: {one_line(exc)}") from None
        return ""

    return run


def _read_verified(path: Path, kind: _Kind, derived: DerivedManifest) -> dict[str, Any]:
    """Parts of an existing derived file whose checksums match the manifest."""
    if not path.is_file():
        return {}
    try:
        values = kind.read_local(path.read_bytes())
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    return {k: v for k, v in values.items() if derived.parts.get(k) == kind.digest(v)}


def _plan_derived(
    source: Source, root: Path, base: str, derived: DerivedManifest, keys: list[str], plan: _Plan
) -> None:
    kind = _KINDS.get(derived.kind)
    if kind is None:
        raise MuseforgeError(f"unknown derived kind {derived.kind!r} in the manifest of {source.subdirectory}")
    target = source.local_dir(root) / derived.name
    label = f"{source.subdirectory}/{derived.name}"
    plan.targets.append(target)
    existing = _read_verified(target, kind, derived)
    missing = [k for k in keys if k not in existing]
    if not missing:
        return
    groups: dict[str, list[str]] = {}
    for key in missing:
        groups.setdefault(kind.fetch_path(key), []).append(key)
    fetched: dict[str, Any] = {}

    def make_task(fetch_rel: str, group: list[str]) -> Callable[[], str]:
        url = raw_url(source, fetch_rel, base)
        upstream = source.upstream_path(fetch_rel)

        def run() -> str:
            body = fetch_bytes(url, f"{label} (from {upstream})")
            try:
                values = kind.parse_upstream(body, group)
            except (ValueError, UnicodeDecodeError, csv.Error) as exc:
                raise MuseforgeError(f"cannot parse {upstream} for {label}: {one_line(exc)}") from None
            for key in group:
                if key not in values:
                    raise MuseforgeError(f"{upstream} has no entry {key!r} needed for {label}")
                got, expected = kind.digest(values[key]), derived.parts[key]
                if got != expected:
                    raise MuseforgeError(
                        f"checksum mismatch for {label}[{key}] (from {upstream}): expected {expected}, got {got}"
                    )
                fetched[key] = values[key]
            return ""

        return run

    for fetch_rel, group in groups.items():
        plan.tasks.append((f"{label} <- {source.upstream_path(fetch_rel)}", make_task(fetch_rel, group)))

    def finish() -> None:
        values = {**existing, **fetched}
        items = [(k, values[k]) for k in derived.parts if k in values]
        data = kind.serialise(items)
        if len(items) == len(derived.parts):
            got = hashlib.sha256(data).hexdigest()
            if got != derived.sha256:
                raise MuseforgeError(f"checksum mismatch for rebuilt {label}: expected {derived.sha256}, got {got}")
        try:
            write_atomic(target, data)
        except OSError as exc:
            raise MuseforgeError(f"cannot write {label}: {one_line(exc)}") from None

    plan.finish.append(finish)


def _plan_source(
    source: Source,
    root: Path,
    base: str,
    only: Collection[str] | None,
    limit: int | None,
    manifest: SourceManifest | None,
) -> _Plan:
    plan = _Plan()
    if not source.downloadable:
        raise MuseforgeError(f"{source.subdirectory} cannot be downloaded: {source.download_note}")
    if source.archive is not None:
        if only is None or _only_matches(source.subdirectory, only):
            plan.tasks.append((source.subdirectory, _archive_task(source, root, base)))
            plan.targets.append(source.local_dir(root))
        return plan
    if manifest is None:
        manifest = load_manifest(source.genre).get(source.id)
    if manifest is None:
        raise MuseforgeError(
            f"no download manifest for {source.subdirectory}: museforge/datasets/manifests/{source.genre}.json "
            "is missing from the installation"
        )
    if (manifest.repository, manifest.commit) != (source.repository, source.commit):
        raise MuseforgeError(
            f"the manifest of {source.subdirectory} is for {manifest.repository}@{manifest.commit}, "
            f"not {source.repository}@{source.commit}: regenerate it with museforge.datasets.make_manifest"
        )
    selected = _select(source, manifest.files, only, limit)
    for rel in selected:
        plan.tasks.append((f"{source.subdirectory}/{rel}", _file_task(source, root, base, rel, manifest.files[rel])))
        plan.targets.append(source.local_dir(root) / rel)
    chosen = set(selected)
    for derived in manifest.derived:
        kind = _KINDS.get(derived.kind)
        whole = only is not None and _only_matches(f"{source.subdirectory}/{derived.name}", only)
        if (only is None and limit is None) or whole or kind is None:
            keys = list(derived.parts)
        else:
            keys = [k for k in derived.parts if kind.part_file(k) in chosen]
        if keys:
            _plan_derived(source, root, base, derived, keys, plan)
    return plan


def _new_dirs(targets: list[Path]) -> set[Path]:
    """Folders that do not exist yet on the way to ``targets`` (to remove again if they stay empty)."""
    out: set[Path] = set()
    for target in targets:
        folder = target.parent
        while not folder.exists() and folder not in out and folder != folder.parent:
            out.add(folder)
            folder = folder.parent
    return out


def _prune(folders: set[Path]) -> None:
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _execute(plans: list[_Plan], progress: ProgressFn | None, workers: int) -> None:
    tasks = [task for plan in plans for task in plan.tasks]
    new_dirs = _new_dirs([t for plan in plans for t in plan.targets])
    total, done = len(tasks), 0
    error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="museforge-download")
    try:
        futures = {pool.submit(run): label for label, run in tasks}
        for future in as_completed(futures):
            try:
                note = future.result()
            except BaseException as exc:
                error = exc
                break
            done += 1
            if progress is not None:
                progress(done, total, futures[future] + (f" ({note})" if note else ""))
    except BaseException as exc:
        error = exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if error is None:
        try:
            for plan in plans:
                for step in plan.finish:
                    step()
        except BaseException as exc:
            error = exc
    if error is not None:
        _prune(new_dirs)
        raise error


# ------------------------------------------------------------------------------------------------ public


def download_source(
    source: Source,
    dest: Path | None = None,
    *,
    base_url_override: str | None = None,
    progress: ProgressFn | None = None,
    only: Collection[str] | None = None,
    limit: int | None = None,
    workers: int = 4,
    manifest: SourceManifest | None = None,
) -> Path:
    """Download one source into ``<dest>/<source.subdirectory>`` and return that folder.

    Parameters are those of :func:`download_genre`; ``manifest`` replaces the committed checksums (for a
    custom source). A source with an ``archive`` is fetched as one archive, checked, extracted to a temp
    folder and renamed into place.
    """
    root = Path(dest).expanduser() if dest is not None else downloads_dir()
    _check_limit(limit)
    plan = _plan_source(source, root, resolve_base_url(base_url_override), only, limit, manifest)
    _execute([plan], progress, workers)
    return source.local_dir(root)


def download_genre(
    genre: str,
    *,
    base_url_override: str | None = None,
    dest: Path | None = None,
    progress: ProgressFn | None = None,
    only: Collection[str] | None = None,
    limit: int | None = None,
    workers: int = 4,
) -> Path:
    """Download every downloadable source of ``genre`` and return the source root (``dest``).

    Parameters
    ----------
    genre
        One of :data:`museforge.datasets.sources.GENRES`.
    base_url_override
        Replaces ``https://raw.githubusercontent.com`` (default: ``$MUSEFORGE_DOWNLOAD_URL`` if set).
    dest
        Source root to fill (default :func:`museforge.paths.downloads_dir`); files land in
        ``<dest>/<genre>/<source folder>/`` exactly like ``../shared/datasets``.
    progress
        ``progress(done, total, message)`` after each file or derived part group.
    only
        Restrict to these paths relative to the source root: exact files, folders, or ``fnmatch`` patterns
        (e.g. ``"pop/pop909/POP909/00*"``). Derived files keep the parts of the chosen MIDI files.
    limit
        At most this many MIDI files per source (in path order); other files are all fetched.
    workers
        Parallel downloads.

    Returns
    -------
    Path
        The source root, to pass to a dataset builder as ``--source``.

    Raises
    ------
    MuseforgeError
        One line: network failure, HTTP error, checksum mismatch, or a genre that cannot be downloaded.
        Verified files stay in place; no temp files remain.
    """
    spec = get_genre(genre)
    if not spec.downloadable:
        raise MuseforgeError(f"{spec.name} cannot be downloaded: {spec.sources[0].download_note}")
    _check_limit(limit)
    root = Path(dest).expanduser() if dest is not None else downloads_dir()
    base = resolve_base_url(base_url_override)
    plans = [_plan_source(s, root, base, only, limit, None) for s in spec.sources if s.downloadable]
    if only is not None and not any(plan.targets for plan in plans):
        raise MuseforgeError(f"nothing in {spec.name} matches {', '.join(sorted(only))}")
    _execute(plans, progress, workers)
    return root


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise MuseforgeError(f"limit must be 0 or more, got {limit}")
