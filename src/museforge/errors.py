"""The one error type users see: a clear one-line message, exit code 2 in the CLI, 4xx in the API."""

from __future__ import annotations


class MuseforgeError(Exception):
    """A problem with the user's input or environment, shown as one line (never a traceback)."""


class NotFoundError(MuseforgeError):
    """A named thing (genre, model, melody, file) does not exist."""
