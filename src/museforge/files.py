"""Writing files so that no crash, full disk or kill leaves half a file: one atomic write for the whole project.

:func:`atomic_write` hands the writer a temporary path in the target's folder, flushes the result to disk,
renames it over the target (readers see the old file or the new one, never a mix) and flushes the folder. On any
failure the temporary file is removed (best effort: a read-only or vanished folder cannot make the cleanup fail
in turn) and a one-line :class:`MuseforgeError` names the target. New files get the usual ``0644`` permissions
(under the process umask), whatever wrote them.

JSON files (model cards, checkpoint records) and JSON-lines logs are written here too (:func:`write_json`,
:func:`json_line`, NaN and infinities as ``null``) and read back by :func:`read_json` with a one-line error.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, StorageError

#: errno values meaning "no room": a full disk, a full quota, a file-size limit.
FULL_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: Suffix of temporary files; a folder's stray ones (left by a kill) are removed by :func:`sweep_temporary`.
TEMP_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """A fresh hidden temporary name beside ``path``: ``.<name>.<random>.tmp``."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; ignored where the system cannot."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> None:
    """Replace ``path`` with what ``write(temporary_path)`` writes, atomically.

    Raises
    ------
    MuseforgeError
        The folder is missing or not writable, or the disk is full; ``path`` is then unchanged and no temporary
        file is left.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")
    temporary = temporary_path(path)
    try:
        write(temporary)
        _fsync_file(temporary)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise write_error(path, error) from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_error(path: Path, error: OSError) -> MuseforgeError:
    """The one-line error for a failed write of ``path``: a :class:`StorageError` when the disk is full."""
    kind = StorageError if error.errno in FULL_DISK_ERRNOS else MuseforgeError
    return kind(f"cannot write {path}: {error.strerror or error}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda temporary: temporary.write_bytes(data))


def sweep_temporary(folder: Path, stem: str) -> list[Path]:
    """Remove the temporary files that writes of ``folder / stem`` left behind when killed; returns them."""
    removed = []
    for stray in Path(folder).glob(f".{stem}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stray.unlink()
            removed.append(stray)
    return removed


# ------------------------------------------------------------------------------------------------- JSON
def json_bytes(data: Any) -> bytes:
    """``data`` as indented JSON, NaN and infinities written as ``null`` (valid JSON for every reader)."""
    return (json.dumps(_finite(data), indent=2, allow_nan=False) + "\n").encode()


def json_line(data: Any) -> bytes:
    """``data`` as one compact JSON line (NaN written as ``null``), for JSON-lines logs."""
    return (json.dumps(_finite(data), separators=(",", ":"), allow_nan=False) + "\n").encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` as JSON, atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, json_bytes(data))


def read_json(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON object; raise MuseforgeError (naming ``what``) if it is missing or corrupted."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise MuseforgeError(f"{what} is missing: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MuseforgeError(f"{what} is corrupted ({path}): {exc}") from exc
    if not isinstance(data, dict):
        raise MuseforgeError(f"{what} is corrupted ({path}): not a JSON object")
    return data
