"""The studio is a local app with no login: refuse requests that a web page on another site could make.

Two rules, as an ASGI middleware in front of everything:

- **Host**: the ``Host`` header must be an IP address (``127.0.0.1``, ``[::1]``, a LAN address), ``localhost``,
  the name the server was started on (``--host``), or a name in ``$MUSEFORGE_ALLOWED_HOSTS`` (comma-separated).
  Any other name means the request reached us through a DNS name that points at this machine without being
  ours: the DNS-rebinding attack. Answer: 400.
- **Origin**: a request that can change something (any method but GET, HEAD and OPTIONS) from a browser must come
  from the studio's own pages: its ``Origin`` must be this server (scheme-less ``host:port`` equal to ``Host``),
  and without an ``Origin``, ``Sec-Fetch-Site`` must not say ``cross-site``. Clients that are not browsers
  (the CLI, curl, scripts) send neither header and pass. Answer: 403. A GET that renders and writes a file, the
  WAV mix of some tracks (``.../wav?tracks=...``), the sheet music of a composition (``.../musicxml``) or an
  instrument's sounds (``/api/sounds/...``), counts as a change: an audio element or a link on another site cannot
  make the server render mixes, scores or sounds.
- **WebSocket** handshakes (the jam, ``/api/jam``) get both rules, the Origin rule always: a browser sends the
  page's ``Origin`` with every handshake and no CORS rule protects a WebSocket, so a page on another site could
  otherwise open a jam (cross-site WebSocket hijacking). A refused handshake is answered as the request would be
  (403, or 400 for the Host), or closed before it is accepted where the server cannot answer it (also a 403).

No CORS headers are ever sent, so browsers also keep other sites from reading any answer.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: Methods a page on another site may send without changing anything.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Host names always served (besides IP addresses).
LOCAL_NAMES = ("localhost",)
ALLOWED_HOSTS_ENV = "MUSEFORGE_ALLOWED_HOSTS"
#: The WebSocket close code of a refused connection.
POLICY_VIOLATION = 1008


def allowed_host_names(bound_host: str | None = None) -> frozenset[str]:
    """The host names this server answers to: ``localhost``, ``bound_host`` and ``$MUSEFORGE_ALLOWED_HOSTS``."""
    names = {*LOCAL_NAMES, *(n.strip().lower() for n in os.environ.get(ALLOWED_HOSTS_ENV, "").split(","))}
    if bound_host:
        names.add(bound_host.strip("[]").lower())
    return frozenset(n for n in names if n)


def host_name(host: str) -> str:
    """The name part of a ``Host`` header value: ``"[::1]:8000"`` -> ``"::1"``, ``"Studio:80"`` -> ``"studio"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class LocalOnly:
    """ASGI middleware enforcing the Host and Origin rules of this module."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value.decode("latin-1") for key, value in scope.get("headers") or []}
        host = headers.get(b"host", "")
        name = host_name(host)
        if not (_is_ip(name) or name in self.allowed):
            detail = (
                f"unknown Host {host!r}: the studio answers to localhost, IP addresses and the name it was started "
                f"on (add names to ${ALLOWED_HOSTS_ENV})"
            )
            await _refuse(scope, receive, send, 400, detail)
            return
        websocket = scope["type"] == "websocket"
        changes = websocket or scope.get("method", "GET").upper() not in SAFE_METHODS or _renders(scope)
        if changes and not _same_origin(headers, host):
            detail = "cross-origin requests are refused: use the studio's own pages or a client outside the browser"
            await _refuse(scope, receive, send, 403, detail)
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    """Answer ``status`` with ``{"detail": ...}``; a WebSocket handshake the server cannot answer that way is
    closed before it is accepted (the client sees a 403)."""
    if scope["type"] == "websocket" and "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": detail[:120]})
        return
    await JSONResponse(status_code=status, content={"detail": detail})(scope, receive, send)


def _renders(scope: Scope) -> bool:
    """Whether a GET makes the server render and write a file: a composition's WAV mix of chosen tracks, its
    sheet music, or an instrument's sounds."""
    path = str(scope.get("path", ""))
    if path.startswith("/api/sounds/"):
        return True
    if path.startswith("/api/compositions/") and path.endswith("/musicxml"):
        return True
    return path.endswith("/wav") and b"tracks=" in (scope.get("query_string") or b"")


def _same_origin(headers: dict[bytes, str], host: str) -> bool:
    """Whether a state-changing request comes from this server's own pages (or from outside a browser)."""
    origin = headers.get(b"origin")
    if origin is None:
        return headers.get(b"sec-fetch-site", "").lower() != "cross-site"
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()
