"""Training museforge's GANs: one trainer for every architecture, checkpoints, and the models on disk.

Public API (imported lazily, so ``import museforge.training.config`` stays free of torch):

- :class:`TrainConfig` (``.validate()``), :func:`train`, :func:`resume_config`, :func:`stop_signals`;
- :func:`list_models`, :func:`show_model`, :func:`load_generator`, :func:`export_model`,
  :func:`request_stop`, :func:`delete_model`, :func:`pretrained_path`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "museforge.training.config",
    "ARCHITECTURES": "museforge.training.config",
    "LOSSES": "museforge.training.config",
    "validate_name": "museforge.training.config",
    "train": "museforge.training.trainer",
    "resume_config": "museforge.training.trainer",
    "stop_signals": "museforge.training.trainer",
    "list_models": "museforge.training.registry",
    "show_model": "museforge.training.registry",
    "load_generator": "museforge.models.loading",
    "export_model": "museforge.training.registry",
    "request_stop": "museforge.training.registry",
    "delete_model": "museforge.training.registry",
    "model_dir": "museforge.training.registry",
    "pretrained_path": "museforge.training.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'museforge.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
