"""``/api/health``: is the server up, where is its data, how busy is training."""

from __future__ import annotations

from fastapi import APIRouter

import museforge
from museforge.server.deps import JobsDep, SettingsDep, StoreDep
from museforge.server.responses import Health
from museforge.store import QUEUED, TRAINING

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
def health(settings: SettingsDep, store: StoreDep, jobs: JobsDep) -> Health:
    """Liveness, version, data folder and the number of queued and training jobs."""
    return Health(
        status="ok",
        version=museforge.__version__,
        data_dir=str(settings.data_dir),
        store=store.journal_mode(),
        jobs={"queued": store.count_jobs(QUEUED), "training": store.count_jobs(TRAINING)},
        max_jobs=jobs.max_running,
    )
