"""Network weights as safetensors (never pickles): bytes with museforge's metadata, reading them back with a
one-line error for a missing, truncated or foreign file, and copying them into a module of the right shape.
Checkpoints (:mod:`museforge.training.checkpoints`) and the model loader (:mod:`museforge.models.loading`) read and
write weights through here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import safetensors
import safetensors.torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError

#: ``format`` metadata of every safetensors file museforge writes.
FORMAT = "museforge"
FORMAT_VERSION = "1"


# ------------------------------------------------------------------------------------------- safetensors
def tensors_bytes(tensors: Mapping[str, Tensor], metadata: Mapping[str, str]) -> bytes:
    """Serialise tensors (moved to the CPU, made contiguous) to safetensors bytes with ``metadata``."""
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    return safetensors.torch.save(cpu, metadata=meta)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a safetensors file (reads the header only); MuseforgeError if unreadable."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except FileNotFoundError as exc:
        raise MuseforgeError(f"checkpoint file is missing: {path}") from exc
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise MuseforgeError(f"checkpoint file is corrupted: {path} ({error_reason(exc)})") from exc


def read_tensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Load a safetensors file onto the CPU: ``(tensors, metadata)``. No pickle is ever involved.

    Raises
    ------
    MuseforgeError
        When the file is missing, truncated, not safetensors, or not written by museforge.
    """
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise MuseforgeError(f"{path} is not a museforge weights file")
    try:
        tensors = safetensors.torch.load_file(str(path), device="cpu")
    except Exception as exc:
        raise MuseforgeError(f"checkpoint file is corrupted: {path} ({error_reason(exc)})") from exc
    return tensors, metadata


def error_reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ----------------------------------------------------------------------------------- module and optimizer
def module_tensors(module: nn.Module) -> dict[str, Tensor]:
    """A module's parameters and buffers (its ``state_dict``), as a flat name -> tensor dict."""
    return dict(module.state_dict())


def load_module(module: nn.Module, tensors: Mapping[str, Tensor], what: str) -> None:
    """Copy saved tensors into ``module``; MuseforgeError if names or shapes do not match its architecture."""
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        detail = (missing or extra or wrong)[0]
        raise MuseforgeError(
            f"{what} does not fit this model (different architecture or config; first mismatch: {detail})"
        )
    module.load_state_dict(dict(tensors), strict=True)


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "error_reason",
    "load_module",
    "module_tensors",
    "read_metadata",
    "read_tensors",
    "tensors_bytes",
]
