"""The studio: a FastAPI app serving the REST API under ``/api``, the web pages, and the training dispatcher.

``create_app(data_dir)`` builds the app (OpenAPI docs at ``/docs``); ``serve(host, port, data_dir)`` runs it with
uvicorn, on the loopback interface unless told otherwise. Every :class:`~museforge.errors.MuseforgeError` becomes
a 4xx answer ``{"detail": "<one line>"}``: 404 for something missing, 409 for a clash with a running job or an
existing name, 400 for the rest; malformed requests get 422 with the same one-line ``detail``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import threading
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import museforge
from museforge import paths
from museforge.errors import ConflictError, MuseforgeError, NotFoundError, StorageError
from museforge.files import FULL_DISK_ERRNOS
from museforge.jobs.manager import SERVER_WAIT_POLICY, JobManager
from museforge.server.guard import LocalOnly, allowed_host_names
from museforge.server.jam import JamRoom
from museforge.server.pages import install_not_found_page
from museforge.server.routes import ROUTERS
from museforge.server.settings import Settings
from museforge.store import Store

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Requests whose body is capped (the melody upload), and the room left for multipart headers.
UPLOAD_PATHS = ("/api/melodies/upload",)
MULTIPART_SLACK = 16 * 1024
#: Free space below which a failed file or database operation is reported as a full disk.
LOW_DISK_BYTES = 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
OMP_WAIT_POLICY = "OMP_WAIT_POLICY"
#: The WebSocket server refuses (closes) messages this many times larger than the jam's message cap.
JAM_MESSAGE_SLACK = 4


class UploadLimit:
    """ASGI middleware: answer 413 to an upload whose body is larger than ``limit`` bytes, before parsing it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            response = JSONResponse(status_code=413, content={"detail": _too_large(self.limit)})
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(status_code=413, detail=_too_large(self.limit))
            return message

        await self.app(scope, limited_receive, send)


class DataHome:
    """ASGI middleware: everything the app runs (requests, startup and shutdown, and the threads they start) uses
    ``data_dir`` as the data home (:func:`museforge.paths.using_home`); the process's environment is left alone."""

    def __init__(self, app: ASGIApp, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with paths.using_home(self.data_dir):
            await self.app(scope, receive, send)


def _too_large(limit: int) -> str:
    return f"the upload is larger than the limit of {limit - MULTIPART_SLACK} bytes (1 MB)"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more


def status_code(error: MuseforgeError) -> int:
    """The HTTP status of a library error: 404 missing, 409 conflict, 507 full disk, else 400."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ConflictError):
        return 409
    return 507 if isinstance(error, StorageError) else 400


def is_full_disk(error: BaseException, data_dir: Path) -> bool:
    """Whether an unexpected error is the disk (or quota, or a file-size limit) running out of room: a write
    failed for want of room, or a file or database operation failed while the data folder's disk is full (SQLite
    then often says only "disk I/O error")."""
    if isinstance(error, OSError) and error.errno in FULL_DISK_ERRNOS:
        return True
    if not isinstance(error, OSError | sqlite3.Error):
        return False
    try:
        return shutil.disk_usage(data_dir).free < LOW_DISK_BYTES
    except OSError:
        return False


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MuseforgeError)
    async def museforge_error(_request: Request, error: MuseforgeError) -> JSONResponse:
        return JSONResponse(status_code=status_code(error), content={"detail": str(error)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in error.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": _validation_message(errors), "errors": errors})


class ErrorAnswers:
    """ASGI middleware: an unexpected error becomes a JSON answer (507 for a full disk, else 500) and one line in
    the log, ``METHOD path -> status: Error: message`` (a traceback only with ``$MUSEFORGE_DEBUG``), instead of
    the server's "Exception in ASGI application" and its traceback."""

    def __init__(self, app: ASGIApp, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if is_full_disk(error, self.data_dir):
                code, detail = (
                    507,
                    f"the disk of the data folder is full ({type(error).__name__}: {error}); free some space",
                )
            else:
                code, detail = 500, f"internal error: {type(error).__name__}: {error}"
            line = " ".join(f"{scope.get('method', '')} {scope.get('path', '')} -> {code}: {detail}".split())
            print(f"museforge: {line}", file=sys.stderr, flush=True)
            if os.environ.get("MUSEFORGE_DEBUG"):
                traceback.print_exception(error, file=sys.stderr)
            if not started:  # an answer already under way (a stream) can only be cut short
                await JSONResponse(status_code=code, content={"detail": detail})(scope, receive, send)


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from the local ``swagger-ui-bundle`` package (the studio runs offline)."""
    assets: dict[str, Any] = {}
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # without the package FastAPI's default page loads Swagger UI from a CDN
        pass
    else:
        app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
        assets = {
            "swagger_js_url": "/docs-assets/swagger-ui-bundle.js",
            "swagger_css_url": "/docs-assets/swagger-ui.css",
            "swagger_favicon_url": "/docs-assets/favicon-32x32.png",
        }

    @app.get("/docs", include_in_schema=False)
    def docs() -> Any:
        return get_swagger_ui_html(openapi_url=str(app.openapi_url), title=f"{app.title} API", **assets)


def create_app(data_dir: str | Path | None = None, *, settings: Settings | None = None) -> FastAPI:
    """Build the studio app over the data folder ``data_dir`` (default ``$MUSEFORGE_HOME``).

    Everything the app runs uses that folder as the data home (:class:`DataHome`; the training workers get it as
    their ``MUSEFORGE_HOME``), so apps over different folders can share a process. The job dispatcher starts with
    the app (its lifespan) and stops with it, interrupting running jobs.
    """
    settings = settings or Settings.from_env(data_dir)
    store = Store(settings.data_dir / paths.store_path().name)
    jobs = JobManager(store, max_running=settings.max_jobs, poll_interval=settings.job_poll_interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.start()
        try:
            yield
        finally:
            jobs.shutdown()

    app = FastAPI(
        title="museforge studio",
        version=museforge.__version__,
        description="Compose accompaniment for your melodies with GANs, and train your own models.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.jobs = jobs
    app.state.compose_slots = threading.BoundedSemaphore(settings.compose_workers)
    app.state.jam_room = JamRoom(settings.jam_sessions)
    _install_error_handlers(app)
    app.add_middleware(ErrorAnswers, data_dir=settings.data_dir)  # innermost: every route's unexpected error
    install_not_found_page(app)
    app.add_middleware(UploadLimit, limit=settings.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(DataHome, data_dir=settings.data_dir)
    app.add_middleware(LocalOnly, allowed_hosts=allowed_host_names(settings.bound_host))  # outermost: first
    for router in ROUTERS:
        app.include_router(router)
    _install_docs(app)

    @app.get("/", include_in_schema=False)
    def studio_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/models", include_in_schema=False)
    def models_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "models.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, data_dir: str | Path | None = None) -> None:
    """Run the studio with uvicorn until interrupted (Ctrl-C stops it; running jobs become interrupted)."""
    import uvicorn

    if host not in LOOPBACK_HOSTS:
        print(
            f"museforge: warning: the studio has no login; serving on {host} lets others on the network use it",
            file=sys.stderr,
        )
    # OpenMP threads that wait passively: with the default busy wait, a jam bar's few milliseconds of torch work
    # took ~300 ms whenever another process kept the other core busy (6 ms passive; measured on a 2-core CPU). Read
    # when torch loads, which the app does on its first piece of music; a value already set is kept.
    if OMP_WAIT_POLICY not in os.environ:
        os.environ[OMP_WAIT_POLICY] = "PASSIVE"
        os.environ[SERVER_WAIT_POLICY] = "PASSIVE"  # the training workers go back to the default (jobs.manager)
    app = create_app(data_dir, settings=Settings.from_env(data_dir, bound_host=host))
    print(f"museforge studio on http://{host}:{port}/ (API docs at /docs), data in {app.state.settings.data_dir}")
    # a jam message over its cap gets an error and the jam goes on; one far over it never reaches the app
    ws_max_size = JAM_MESSAGE_SLACK * app.state.settings.jam_max_message_bytes
    uvicorn.run(app, host=host, port=port, log_level="info", ws_max_size=ws_max_size)
