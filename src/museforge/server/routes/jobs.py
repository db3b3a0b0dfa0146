"""``/api/jobs`` and ``/api/training/options``: start, list, watch (JSON and server-sent events), stop, resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from museforge.jobs.records import read_progress
from museforge.server import training_service
from museforge.server.deps import JobsDep, StoreDep
from museforge.server.responses import Job, JobMetrics, Progress, QueuedJob, TrainingEstimate, TrainingOptions
from museforge.server.schemas import TrainRequest
from museforge.store import FINAL_STATES, TRAINING, Store

router = APIRouter(prefix="/api", tags=["training"])
#: Seconds between the event stream's looks at the store; a comment keeps idle connections open.
EVENT_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
#: The largest epoch number a client may name (``after``, ``Last-Event-ID``); SQLite integers end at 2**63.
MAX_EPOCH_ID = 1_000_000_000


@router.get("/training/options", response_model=TrainingOptions, response_model_exclude_unset=True)
def training_options() -> TrainingOptions:
    """The training form: architectures, genres, losses, and each field's default and allowed range."""
    return training_service.training_options()


@router.post("/training/estimate", response_model=TrainingEstimate)
def estimate_training(request: TrainRequest) -> TrainingEstimate:
    """How long the run a training form describes would take on a 2-core CPU (an estimate from the shipped models'
    measured speed), before it starts: ``{"text", "seconds", "steps", "at_least", "size"}``."""
    return training_service.estimate_training(request)


@router.post("/jobs", status_code=status.HTTP_201_CREATED, response_model=QueuedJob)
def start_job(request: TrainRequest, jobs: JobsDep) -> QueuedJob:
    """Queue a training job; a worker process starts it when a slot is free."""
    return training_service.submit_training(jobs, request)


@router.get("/jobs", response_model=list[Job])
def list_jobs(store: StoreDep) -> list[Job]:
    """Every training job, newest first."""
    return [Job.model_validate(job) for job in store.list_jobs()]


@router.get("/jobs/{job_id}", response_model=Job)
def get_job(job_id: str, store: StoreDep) -> Job:
    """A job with its per-epoch records (``epochs``)."""
    return Job.model_validate(store.get_job(job_id, epochs=True))


@router.get("/jobs/{job_id}/metrics", response_model=JobMetrics)
def job_metrics(job_id: str, store: StoreDep, after: Annotated[int, Query(ge=0, le=MAX_EPOCH_ID)] = 0) -> JobMetrics:
    """The job's status, its per-epoch records with ``epoch > after`` (for polling) and, while it trains, its
    ``progress`` inside the epoch (steps, samples/s, time left, training or evaluating; else null)."""
    job = store.get_job(job_id)
    epochs = store.job_epochs(job_id, after=after)
    progress = read_progress(store, job_id) if job["status"] == TRAINING else None
    return JobMetrics(
        job_id=job_id,
        status=job["status"],
        epochs=epochs,
        progress=Progress.model_validate(progress) if progress is not None else None,
    )


@router.post("/jobs/{job_id}/stop", response_model=Job)
def stop_job(job_id: str, jobs: JobsDep) -> Job:
    """Stop a job: a queued one at once, a training one after saving a checkpoint."""
    return Job.model_validate(jobs.stop(job_id))


@router.post("/jobs/{job_id}/resume", response_model=Job)
def resume_job(job_id: str, jobs: JobsDep) -> Job:
    """Queue an interrupted or stopped job again, to continue from its last checkpoint."""
    return Job.model_validate(jobs.resume(job_id))


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: str,
    request: Request,
    store: StoreDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: ``status`` (the job, when it changes), ``epoch`` (one per finished epoch, id = epoch),
    ``progress`` (steps, samples/s and time left inside the epoch, or ``phase: "evaluating"`` after it, when it
    changes) and a final ``end`` when the job reaches completed, failed, stopped or interrupted."""
    await run_in_threadpool(store.get_job, job_id)  # 404 before the stream starts
    after = event_id(last_event_id)
    return StreamingResponse(
        _event_stream(store, job_id, request, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def event_id(header: str | None) -> int:
    """The epoch a reconnecting client saw last, from its ``Last-Event-ID``; anything but 0..MAX_EPOCH_ID in ASCII
    digits (a stale or forged header) starts the stream from the beginning."""
    text = (header or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_EPOCH_ID)):
        return 0
    value = int(text)
    return value if value <= MAX_EPOCH_ID else 0


def _event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


async def _event_stream(store: Store, job_id: str, request: Request, after: int) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    last_status: tuple[str, bool] | None = None
    last_progress: dict[str, Any] | None = None
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
        progress = await run_in_threadpool(read_progress, store, job_id) if job["status"] == TRAINING else None
        if progress is not None and progress != last_progress:
            last_progress = progress
            yield _event("progress", progress)
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
