"""Dataset builds started from the studio: one background thread per genre, its progress kept for the page.

A build reads a genre's songs (from ``source``, a folder laid out like ``../shared/datasets``, or the library's
default: music21's chorales for bach, the downloads folder for the others) into training windows with
:func:`museforge.datasets.build.build_dataset`, which replaces the cache only once everything is written. Builds
are in memory: a server restart forgets finished builds (the built dataset stays, and ``GET /api/datasets`` shows
it) and a build interrupted by a restart leaves the previous cache as it was.
"""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from museforge.datasets.build import build_for_models
from museforge.datasets.cache import dataset_status
from museforge.datasets.sources import get_genre
from museforge.errors import MuseforgeError
from museforge.server.responses import Dataset, DatasetBuild
from museforge.store import ConflictError

BUILDING, COMPLETED, FAILED = "building", "completed", "failed"


def dataset_summary(genre: str, build: DatasetBuild | None = None) -> Dataset:
    """A genre's dataset as the page shows it: built or not, windows per split, grid and tracks, and ``build``, the
    latest build started here, when given one (else it stays unset: an answer that leaves unset fields out has no
    ``build``, and ``windows`` is unset too while the dataset is not built)."""

    spec = get_genre(genre)
    try:
        manifest = dataset_status(genre)
    except MuseforgeError:
        manifest = None
    data: dict[str, Any] = {"genre": genre, "architecture": spec.architecture, "built": manifest is not None}
    if manifest is not None:
        splits = manifest.get("splits") or {}
        data.update(
            {
                "windows": {
                    name: int((splits.get(name) or {}).get("windows", 0)) for name in ("train", "valid", "test")
                },
                "songs": {name: int((splits.get(name) or {}).get("songs", 0)) for name in ("train", "valid", "test")},
                "resolution": manifest.get("resolution"),
                "tracks": [t.get("role") for t in manifest.get("tracks") or []],
                "built_at": manifest.get("built_at"),
                "size_bytes": manifest.get("size_bytes"),
            }
        )
    return Dataset(**data) if build is None else Dataset(**data, build=build)


class DatasetBuilds:
    """The builds this server has run: at most one at a time per genre, each in its own thread."""

    def __init__(self) -> None:
        self._builds: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, genre: str) -> DatasetBuild | None:
        """The latest build of ``genre`` (a copy), or None when this server has not built it."""
        with self._lock:
            build = self._builds.get(genre)
            return DatasetBuild(**build) if build else None

    def start(
        self, genre: str, source: str | None = None, limit: int | None = None, roots: tuple[Path, ...] = ()
    ) -> DatasetBuild:
        """Start building ``genre``; returns the new build's status. ConflictError while one is running.

        ``source`` must be a folder inside one of ``roots``; outside them the answer is the same whether or not the
        folder exists, so a request learns nothing of the server's other folders.
        """

        genre = get_genre(genre).name  # an unknown genre is refused before anything starts
        root = None
        if source:
            root = Path(source).expanduser().resolve()
            if not any(root.is_relative_to(allowed) for allowed in roots):
                listed = ", ".join(str(allowed) for allowed in roots) or "none"
                raise MuseforgeError(
                    f"the source folder {source} is not inside the server's dataset folders ({listed}; "
                    "MUSEFORGE_DATASET_ROOTS sets them)"
                )
            if not root.is_dir():
                raise MuseforgeError(f"the source folder {source} does not exist on the server")
        with self._lock:
            running = self._builds.get(genre)
            if running and running["status"] == BUILDING:
                raise ConflictError(f"the {genre} dataset is already being built")
            build: dict[str, Any] = {
                "genre": genre,
                "status": BUILDING,
                "done": 0,
                "total": None,
                "song": None,
                "error": None,
                "source": str(root) if root else None,
                "started_at": time.time(),
                "finished_at": None,
            }
            self._builds[genre] = build
        thread = threading.Thread(  # in a copy of the request's context: its data home (paths.using_home)
            target=contextvars.copy_context().run,
            args=(self._run, genre, root, limit),
            name=f"build-{genre}",
            daemon=True,
        )
        thread.start()
        return DatasetBuild(**build)

    def _update(self, genre: str, **changes: Any) -> None:
        with self._lock:
            self._builds[genre].update(changes)

    def _run(self, genre: str, root: Path | None, limit: int | None) -> None:

        def progress(done: int, total: int, name: str) -> None:
            self._update(genre, done=done, total=total, song=name)

        try:
            build_for_models(genre, root, limit=limit, progress=progress)  # at the resolution the models need
        except MuseforgeError as error:
            self._update(genre, status=FAILED, error=str(error), finished_at=time.time())
        except Exception as error:  # a thread must leave a reason, not a stuck "building"
            traceback.print_exc()
            self._update(genre, status=FAILED, error=f"internal error: {type(error).__name__}: {error}")
            self._update(genre, finished_at=time.time())
        else:
            self._update(genre, status=COMPLETED, finished_at=time.time())
