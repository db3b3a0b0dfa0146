"""Where museforge keeps its files: datasets, models and the store, under ``$MUSEFORGE_HOME``."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The data home: ``$MUSEFORGE_HOME`` or ``~/.museforge``."""
    env = os.environ.get("MUSEFORGE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".museforge"


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
