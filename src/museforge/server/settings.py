"""The studio server's settings, read from the environment (``MUSEFORGE_HOME`` or ``--data-dir``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from museforge import paths
from museforge.errors import MuseforgeError

#: Largest accepted melody upload: 1 MB.
MAX_UPLOAD_BYTES = 1_048_576
#: Jam mode's defaults: sessions at once, largest message, notes in one bar's message, seconds without a message.
JAM_SESSIONS = 4
JAM_MAX_MESSAGE_BYTES = 64 * 1024
JAM_MAX_NOTES = 256
JAM_IDLE_SECONDS = 120


@dataclass(frozen=True)
class Settings:
    """What one server instance uses.

    Attributes
    ----------
    data_dir : the data home (store, models, melodies, compositions); ``$MUSEFORGE_HOME`` by default.
    max_jobs : training jobs that may run at once (``$MUSEFORGE_MAX_JOBS``, default 1); the rest queue.
    compose_workers : pieces generated at once, by any technique (compose, enhance, extend)
        (``$MUSEFORGE_COMPOSE_WORKERS``, default 2); more wait.
    max_upload_bytes : largest accepted MIDI upload.
    job_poll_interval : seconds between the job dispatcher's rounds.
    bound_host : the host name the server listens on (``--host``); requests may name it in their Host header.
    dataset_roots : the folders a dataset build's ``source`` may lie in (with their subfolders): the data home, the
        user's home folder and ``$MUSEFORGE_SHARED_DATASETS``, or the ``os.pathsep``-separated
        ``$MUSEFORGE_DATASET_ROOTS`` instead; a request cannot make the server look anywhere else.
    jam_sessions : jam sessions (WebSocket connections to ``/api/jam``) open at once (``$MUSEFORGE_JAM_SESSIONS``,
        default 4); one more is told so and closed.
    jam_max_message_bytes : largest message a jam client may send (``$MUSEFORGE_JAM_MAX_MESSAGE_BYTES``, 64 KB).
    jam_max_notes : most notes in one bar's message (``$MUSEFORGE_JAM_MAX_NOTES``, default 256).
    jam_idle_seconds : a jam connection that sends nothing this long is closed (``$MUSEFORGE_JAM_IDLE_SECONDS``,
        default 120).
    jam_max_bars : most bars in one jam (``$MUSEFORGE_JAM_MAX_BARS``); None: the library's limit
        (:data:`museforge.pipelines.jam.JAM_MAX_BARS`), which is never exceeded.
    """

    data_dir: Path
    max_jobs: int = 1
    compose_workers: int = 2
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    job_poll_interval: float = 0.5
    bound_host: str | None = None
    dataset_roots: tuple[Path, ...] = ()
    jam_sessions: int = JAM_SESSIONS
    jam_max_message_bytes: int = JAM_MAX_MESSAGE_BYTES
    jam_max_notes: int = JAM_MAX_NOTES
    jam_idle_seconds: int = JAM_IDLE_SECONDS
    jam_max_bars: int | None = None

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> Settings:
        """Settings from the environment; ``data_dir`` (the CLI's ``--data-dir``) wins over ``MUSEFORGE_HOME``."""
        home = Path(data_dir).expanduser() if data_dir is not None else paths.home()
        values: dict[str, object] = {
            "data_dir": home.resolve(),
            "max_jobs": _env_int("MUSEFORGE_MAX_JOBS", 1),
            "compose_workers": _env_int("MUSEFORGE_COMPOSE_WORKERS", 2),
            "dataset_roots": _dataset_roots(home),
            "jam_sessions": _env_int("MUSEFORGE_JAM_SESSIONS", JAM_SESSIONS),
            "jam_max_message_bytes": _env_int("MUSEFORGE_JAM_MAX_MESSAGE_BYTES", JAM_MAX_MESSAGE_BYTES),
            "jam_max_notes": _env_int("MUSEFORGE_JAM_MAX_NOTES", JAM_MAX_NOTES),
            "jam_idle_seconds": _env_int("MUSEFORGE_JAM_IDLE_SECONDS", JAM_IDLE_SECONDS),
            "jam_max_bars": _env_int("MUSEFORGE_JAM_MAX_BARS", 0) or None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _dataset_roots(home: Path) -> tuple[Path, ...]:
    """The resolved folders dataset builds may read (see :class:`Settings`)."""
    listed = os.environ.get("MUSEFORGE_DATASET_ROOTS")
    if listed and listed.strip():
        folders = [Path(part) for part in listed.split(os.pathsep) if part.strip()]
    else:
        shared = os.environ.get("MUSEFORGE_SHARED_DATASETS")
        folders = [home, Path.home(), *([Path(shared)] if shared else [])]
    return tuple(dict.fromkeys(folder.expanduser().resolve() for folder in folders))


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise MuseforgeError(f"${name} must be a whole number, got {text!r}") from None
    if value < 1:
        raise MuseforgeError(f"${name} must be at least 1, got {value}")
    return value
