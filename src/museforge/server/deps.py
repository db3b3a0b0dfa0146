"""FastAPI dependencies: the settings, store, job manager and compose slots of the running app."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from museforge.jobs.manager import JobManager
from museforge.server.settings import Settings
from museforge.store import Store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def get_compose_slots(request: Request) -> threading.Semaphore:
    return request.app.state.compose_slots


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
ComposeSlotsDep = Annotated[threading.Semaphore, Depends(get_compose_slots)]
