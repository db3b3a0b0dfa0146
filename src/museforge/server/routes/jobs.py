"""``/api/jobs`` and ``/api/training/options``: start, list, watch (JSON and server-sent events), stop, resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from museforge.server import training_service
from museforge.server.deps import JobsDep, StoreDep
from museforge.server.schemas import TrainRequest
from museforge.store import FINAL_STATES, Store

router = APIRouter(prefix="/api", tags=["training"])
#: Seconds between the event stream's looks at the store; a comment keeps idle connections open.
EVENT_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


@router.get("/training/options")
def training_options() -> dict[str, Any]:
    """The training form: architectures, genres, losses, and each field's default and allowed range."""
    return training_service.training_options()


@router.post("/jobs", status_code=status.HTTP_201_CREATED)
def start_job(request: TrainRequest, jobs: JobsDep) -> dict[str, Any]:
    """Queue a training job; a worker process starts it when a slot is free."""
    return training_service.submit_training(jobs, request)


@router.get("/jobs")
def list_jobs(store: StoreDep) -> list[dict[str, Any]]:
    """Every training job, newest first."""
    return store.list_jobs()


@router.get("/jobs/{job_id}")
def get_job(job_id: str, store: StoreDep) -> dict[str, Any]:
    """A job with its per-epoch records."""
    return store.get_job(job_id, epochs=True)


@router.get("/jobs/{job_id}/metrics")
def job_metrics(job_id: str, store: StoreDep, after: int = 0) -> dict[str, Any]:
    """The job's status and its per-epoch records with ``epoch > after`` (for polling)."""
    job = store.get_job(job_id)
    return {"job_id": job_id, "status": job["status"], "epochs": store.job_epochs(job_id, after=max(after, 0))}


@router.post("/jobs/{job_id}/stop")
def stop_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Stop a job: a queued one at once, a training one after saving a checkpoint."""
    return jobs.stop(job_id)


@router.post("/jobs/{job_id}/resume")
def resume_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Queue an interrupted or stopped job again, to continue from its last checkpoint."""
    return jobs.resume(job_id)


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: str,
    request: Request,
    store: StoreDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: ``status`` (the job, when it changes), ``epoch`` (one per finished epoch, id = epoch)
    and a final ``end`` when the job reaches completed, failed, stopped or interrupted."""
    await run_in_threadpool(store.get_job, job_id)  # 404 before the stream starts
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return StreamingResponse(
        _event_stream(store, job_id, request, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


async def _event_stream(store: Store, job_id: str, request: Request, after: int) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    last_status: tuple[str, bool] | None = None
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while True:
        job = await run_in_threadpool(store.get_job, job_id)
        epochs = await run_in_threadpool(store.job_epochs, job_id, after)
        if (job["status"], job["stop_requested"]) != last_status:
            last_status = (job["status"], job["stop_requested"])
            yield _event("status", job)
            quiet_since = loop.time()
        for record in epochs:
            after = record["epoch"]
            yield _event("epoch", record, after)
            quiet_since = loop.time()
        if job["status"] in FINAL_STATES:
            yield _event("end", job)
            return
        if await request.is_disconnected():
            return
        if loop.time() - quiet_since > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(EVENT_POLL_SECONDS)
