"""The studio web server: :func:`create_app` and :func:`serve` (see :mod:`museforge.server.app`)."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from museforge.server import app

        return getattr(app, name)
    raise AttributeError(f"module 'museforge.server' has no attribute {name!r}")
