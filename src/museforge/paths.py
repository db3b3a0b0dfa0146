"""Where museforge keeps its files: datasets, models and the store, under the data home.

The data home is ``$MUSEFORGE_HOME`` (or ``~/.museforge``) for the CLI and the library, unless code runs inside
:func:`using_home`: the studio serves every request, its job dispatcher and its dataset builds inside the data
folder it was created over, without touching the process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: The data home of the code running in this context (a request, a thread started from one), if not the default.
_HOME: ContextVar[Path | None] = ContextVar("museforge_home", default=None)


def home() -> Path:
    """The data home: the one :func:`using_home` set for this context, else ``$MUSEFORGE_HOME`` or ``~/.museforge``."""
    chosen = _HOME.get()
    if chosen is not None:
        return chosen
    env = os.environ.get("MUSEFORGE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".museforge"


@contextmanager
def using_home(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Make ``folder`` the data home of the code run inside (and of threads started with its context copied)."""
    token = _HOME.set(Path(folder))
    try:
        yield Path(folder)
    finally:
        _HOME.reset(token)


def datasets_dir() -> Path:
    """Folder of built dataset caches, one sub-folder per genre."""
    return home() / "datasets"


def downloads_dir() -> Path:
    """Folder of downloaded source archives, one sub-folder per genre."""
    return home() / "downloads"


def models_dir() -> Path:
    """Folder of user-trained models, one sub-folder per model name."""
    return home() / "models"


def store_path() -> Path:
    """The SQLite store of models, jobs and compositions."""
    return home() / "museforge.sqlite"
