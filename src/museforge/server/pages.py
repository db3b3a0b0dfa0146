"""The studio's HTML side: a 404 page for browsers (API paths and other clients keep the JSON ``detail``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

STATIC_DIR = Path(__file__).resolve().parent / "static"
NOT_FOUND_PAGE = STATIC_DIR / "404.html"
#: Paths whose answers are always JSON, whoever asks.
JSON_PREFIXES = ("/api/", "/openapi.json", "/docs")


def wants_html(request: Request) -> bool:
    """Whether a browser navigated here: not an API path, and ``text/html`` among what it accepts."""
    if request.url.path.startswith(JSON_PREFIXES) or request.url.path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def install_not_found_page(app: FastAPI) -> None:
    """Answer a browser's unknown page with the studio's 404 page; everything else as FastAPI does (JSON)."""

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and wants_html(request):
            return FileResponse(NOT_FOUND_PAGE, status_code=404, media_type="text/html")
        return await http_exception_handler(request, error)
