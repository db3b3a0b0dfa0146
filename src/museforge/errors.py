"""The errors users see: a clear one-line message, exit code 2 in the CLI, 4xx (507 for a full disk) in the API."""

from __future__ import annotations


class MuseforgeError(Exception):
    """A problem with the user's input or environment, shown as one line (never a traceback)."""


class NotFoundError(MuseforgeError):
    """A named thing (genre, model, melody, file) does not exist."""


class ConflictError(MuseforgeError):
    """The request clashes with the current state: a name that exists, a job that runs (HTTP 409)."""


class StorageError(MuseforgeError):
    """A file could not be written because the disk (or the user's quota, or a file-size limit) is full."""
