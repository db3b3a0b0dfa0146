"""Fetching one file over HTTP(S): the base URL of the pinned sources, retries, streaming into a sink, and a
verified, atomic write (a wrong checksum removes the temporary file and raises :class:`MuseforgeError`)."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from museforge import __version__
from museforge.datasets.sources import (
    ArchiveSpec,
    Source,
)
from museforge.errors import MuseforgeError

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
BASE_URL_ENV = "MUSEFORGE_DOWNLOAD_URL"

_USER_AGENT = f"museforge/{__version__} (+dataset download)"
_TIMEOUT_S = 60.0
_ATTEMPTS = 3
_CHUNK = 1 << 16


class MissingUpstream(MuseforgeError):
    """The server answered 404 (or the mirror file does not exist)."""


def one_line(value: object) -> str:
    return " ".join(str(value).split())


# ------------------------------------------------------------------------------------------------- urls


def resolve_base_url(override: str | None = None) -> str:
    """The base URL in use: ``override``, else ``$MUSEFORGE_DOWNLOAD_URL``, else raw.githubusercontent.com."""
    base = (override or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https", "file"):
        raise MuseforgeError(f"download base URL must start with http://, https:// or file://, got {base!r}")
    return base


def raw_url(source: Source, relpath: str, base_url: str | None = None) -> str:
    """URL of the upstream file behind ``relpath`` (relative to the source folder) at the pinned commit."""
    base = resolve_base_url(base_url)
    path = urllib.parse.quote(source.upstream_path(relpath), safe="/")
    return f"{base}/{source.repository}/{source.commit}/{path}"


def archive_url(spec: ArchiveSpec, base_url: str | None = None) -> str:
    """The archive's URL, with a raw.githubusercontent.com prefix swapped for the base URL in use."""
    base = resolve_base_url(base_url)
    if spec.url.startswith(DEFAULT_BASE_URL + "/"):
        return base + spec.url[len(DEFAULT_BASE_URL) :]
    return spec.url


# ------------------------------------------------------------------------------------------------ fetch


def fetch(url: str, sink: Callable[[bytes], None], reset: Callable[[], None], label: str) -> None:
    """Stream ``url`` into ``sink``; retry transient failures (``reset`` drops a partial body first)."""
    for attempt in range(_ATTEMPTS):
        last = attempt == _ATTEMPTS - 1
        try:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                while chunk := response.read(_CHUNK):
                    try:
                        sink(chunk)
                    except OSError as exc:
                        raise MuseforgeError(f"cannot write {label}: {one_line(exc)}") from None
            return
        except urllib.error.HTTPError as exc:
            message = f"download of {label} failed: HTTP {exc.code} {one_line(exc.reason)} ({url})"
            if exc.code == 404:
                raise MissingUpstream(message) from None
            if (exc.code < 500 and exc.code != 429) or last:
                raise MuseforgeError(message) from None
        except urllib.error.URLError as exc:
            message = f"download of {label} failed: {one_line(exc.reason)} ({url})"
            if isinstance(exc.reason, FileNotFoundError):
                raise MissingUpstream(message) from None
            if last:
                raise MuseforgeError(message) from None
        except (http.client.HTTPException, OSError) as exc:
            if last:
                raise MuseforgeError(f"download of {label} failed: {one_line(exc)} ({url})") from None
        reset()
        time.sleep(0.5 * 2**attempt)


def fetch_bytes(url: str, label: str) -> bytes:
    buffer = bytearray()
    fetch(url, buffer.extend, buffer.clear, label)
    return bytes(buffer)


def download_file(url: str, target: Path, sha256: str, label: str) -> None:
    """Fetch ``url`` to a temp file beside ``target``, check its sha256, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    placed = False
    try:
        with os.fdopen(fd, "wb") as out:
            state = {"hash": hashlib.sha256()}

            def sink(chunk: bytes) -> None:
                state["hash"].update(chunk)
                out.write(chunk)

            def reset() -> None:
                out.seek(0)
                out.truncate()
                state["hash"] = hashlib.sha256()

            fetch(url, sink, reset, label)
        got = state["hash"].hexdigest()
        if got != sha256:
            raise MuseforgeError(f"checksum mismatch for {label}: expected {sha256}, got {got}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        placed = True
    finally:
        if not placed:
            tmp.unlink(missing_ok=True)


def write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    placed = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        placed = True
    finally:
        if not placed:
            tmp.unlink(missing_ok=True)
