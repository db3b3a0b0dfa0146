"""Derived source files (POP909 ``beat_midi.json``, Groove ``info.json``): rebuilt from their upstream text files,
serialised the same way every time, and checked part by part against the manifest's checksums."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# ----------------------------------------------------------------------------------------- derived files


def beat_rows_from_txt(text: str) -> list[list[float | int]]:
    """Rows ``[time_s rounded to 4 decimals, beat flag, downbeat flag]`` of a POP909 ``beat_midi.txt``.

    Upstream lines look like ``0.05533319499999998 1.0 1.0``; the flags must be whole numbers.
    """
    rows: list[list[float | int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise ValueError(f"line {number}: expected 3 columns, got {len(fields)}")
        time_s, beat, downbeat = (float(x) for x in fields)
        if not (beat.is_integer() and downbeat.is_integer()):
            raise ValueError(f"line {number}: beat columns must be whole numbers")
        rows.append([round(time_s, 4), int(beat), int(downbeat)])
    return rows


def beat_rows_digest(rows: Sequence[Sequence[float | int]]) -> str:
    """sha256 of one song's beat rows written as ``"%.4f %d %d\\n"`` lines (a canonical form).

    The local ``beat_midi.json`` stores times rounded to 4 decimals and upstream ``beat_midi.txt`` full
    floats; both give the same lines, because formatting with ``%.4f`` rounds like ``round(x, 4)``.
    """
    text = "".join(f"{float(t):.4f} {int(b):d} {int(d):d}\n" for t, b, d in rows)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


_GMD_DROPPED_COLUMNS = ("audio_filename",)


def gmd_rows_from_csv(text: str) -> dict[str, dict[str, str]]:
    """Rows of the Groove MIDI Dataset ``info.csv`` by ``midi_filename``, without the audio column."""
    rows: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if "midi_filename" not in row:
            raise ValueError("info.csv has no midi_filename column")
        rows[row["midi_filename"]] = {k: v for k, v in row.items() if k not in _GMD_DROPPED_COLUMNS}
    return rows


def gmd_row_digest(row: Mapping[str, str]) -> str:
    """sha256 of one ``info.json`` row as compact JSON with sorted keys (a canonical form)."""
    text = json.dumps(dict(row), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Kind:
    """How to rebuild and check one kind of derived file."""

    part_file: Callable[[str], str]  # part key -> the verbatim file it belongs to (source-relative)
    fetch_path: Callable[[str], str]  # part key -> source-relative path of the upstream file holding it
    parse_upstream: Callable[[bytes, list[str]], Mapping[str, Any]]  # body, keys fetched -> {key: value}
    read_local: Callable[[bytes], dict[str, Any]]  # the derived file -> {key: value}, in file order
    digest: Callable[[Any], str]
    serialise: Callable[[list[tuple[str, Any]]], bytes]


_KINDS: dict[str, _Kind] = {
    "pop909_beats": _Kind(
        part_file=lambda key: f"POP909/{key}/{key}.mid",
        fetch_path=lambda key: f"POP909/{key}/beat_midi.txt",
        parse_upstream=lambda body, keys: {keys[0]: beat_rows_from_txt(body.decode("utf-8"))},
        read_local=lambda data: dict(json.loads(data)),
        digest=beat_rows_digest,
        serialise=lambda items: json.dumps(dict(items), separators=(",", ":")).encode("utf-8"),
    ),
    "gmd_info": _Kind(
        part_file=lambda key: key,
        fetch_path=lambda key: "info.csv",
        parse_upstream=lambda body, keys: gmd_rows_from_csv(body.decode("utf-8")),
        read_local=lambda data: {row["midi_filename"]: row for row in json.loads(data)},
        digest=gmd_row_digest,
        serialise=lambda items: json.dumps([row for _, row in items], indent=1).encode("utf-8"),
    ),
}
DERIVED_KINDS: tuple[str, ...] = tuple(_KINDS)


def derived_part_digests(kind: str, data: bytes) -> dict[str, str]:
    """Per-part checksums of a local derived file's bytes, in file order (used to write manifests)."""
    spec = _KINDS[kind]
    return {key: spec.digest(value) for key, value in spec.read_local(data).items()}


def serialise_derived(kind: str, data: bytes) -> bytes:
    """Re-serialise a derived file the way a download writes it (equal bytes mean a faithful rebuild)."""
    spec = _KINDS[kind]
    return spec.serialise(list(spec.read_local(data).items()))
