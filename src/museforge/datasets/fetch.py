"""Fetching one file over HTTP(S): the base URL of the pinned sources, retries, streaming into a sink, and a
verified, atomic write (a wrong checksum removes the temporary file and raises :class:`MuseforgeError`)."""

from __future__ import annotations

import hashlib
import http.client
import os
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
from museforge.files import atomic_write, atomic_write_bytes

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
    """Stream ``url`` into a temporary file beside ``target``, check its sha256, then move it into place
    (:func:`museforge.files.atomic_write`: a wrong checksum, a failure or a kill leaves ``target`` as it was)."""
    target.parent.mkdir(parents=True, exist_ok=True)

    def stream(temporary: Path) -> None:
        digest = [hashlib.sha256()]
        with open(temporary, "wb") as out:

            def sink(chunk: bytes) -> None:
                digest[0].update(chunk)
                out.write(chunk)

            def reset() -> None:  # a retry starts the file again
                out.seek(0)
                out.truncate()
                digest[0] = hashlib.sha256()

            fetch(url, sink, reset, label)
        got = digest[0].hexdigest()
        if got != sha256:
            raise MuseforgeError(f"checksum mismatch for {label}: expected {sha256}, got {got}")

    atomic_write(target, stream)


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, creating its folder (:func:`museforge.files.atomic_write_bytes`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)
