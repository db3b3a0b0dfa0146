"""``/api/datasets``: which genres' training windows are built, and building them from the studio with progress."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, status

from museforge.datasets.sources import GENRES, get_genre
from museforge.errors import NotFoundError
from museforge.server.dataset_builds import DatasetBuilds, dataset_summary
from museforge.server.deps import SettingsDep
from museforge.server.responses import Dataset, DatasetBuild, DatasetBuildStatus
from museforge.server.schemas import DatasetBuildRequest

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


_CREATE = threading.Lock()


def _builds(request: Request) -> DatasetBuilds:
    """The app's build registry, made on first use."""
    with _CREATE:
        builds = getattr(request.app.state, "dataset_builds", None)
        if builds is None:
            builds = request.app.state.dataset_builds = DatasetBuilds()
    return builds


@router.get("", response_model=list[Dataset])
def list_datasets(request: Request) -> list[Dataset]:
    """Every genre: its dataset (built or not, windows per split) and the latest build started here."""

    builds = _builds(request)
    return [dataset_summary(genre, builds.get(genre)) for genre in GENRES]


@router.post("/{genre}/build", status_code=status.HTTP_202_ACCEPTED, response_model=DatasetBuild)
def build_dataset(genre: str, body: DatasetBuildRequest, request: Request, settings: SettingsDep) -> DatasetBuild:
    """Start building a genre's dataset in the background; poll ``GET /api/datasets/{genre}/build``. A ``source``
    folder must lie in the server's dataset folders (``MUSEFORGE_DATASET_ROOTS``)."""
    return _builds(request).start(genre, body.source, body.limit, settings.dataset_roots)


@router.get("/{genre}/build", response_model=DatasetBuildStatus, response_model_exclude_unset=True)
def build_status(genre: str, request: Request) -> DatasetBuildStatus:
    """The latest build of a genre: ``status`` (building, completed, failed), songs ``done`` of ``total``."""

    genre = get_genre(genre).name  # as the build was started: any case
    build = _builds(request).get(genre)
    if build is None:
        raise NotFoundError(f"no build of the {genre} dataset was started since the server started")
    return DatasetBuildStatus(**build.model_dump(), dataset=dataset_summary(genre))
