"""What a file a user brings is, from its first bytes: so that a melody that is not MIDI gets a message that names
what it is and what museforge takes instead of a parser's complaint."""

from __future__ import annotations

from pathlib import Path

#: Leading bytes of common files people mistake for a melody, and what each is.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MThd", "a MIDI file"),
    (b"RIFF", "a RIFF file (WAV audio)"),
    (b"ID3", "an MP3 audio file"),
    (b"\xff\xfb", "an MP3 audio file"),
    (b"\xff\xf3", "an MP3 audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"OggS", "an Ogg audio file"),
    (b"FORM", "an AIFF audio file"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (a compressed MusicXML .mxl file is one)"),
    (b"<?xml", "an XML file (MusicXML?)"),
    (b"X:", "an ABC notation file"),
)
#: What a melody may be, said after what the file is.
ACCEPTED = "a melody is a Standard MIDI File (.mid, .midi) or a sample name (`museforge melodies list`)"


def file_kind(head: bytes) -> str | None:
    """What the file that starts with ``head`` is, e.g. ``"a RIFF file (WAV audio)"``; None when unknown."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for signature, kind in _SIGNATURES:
        if stripped and stripped.startswith(signature):
            return kind
    return None


def not_midi_message(name: str, head: bytes) -> str:
    """The one line for a melody file that is not MIDI: what it is (or how it starts) and what is accepted."""
    if not head:
        return f"{name} is empty: {ACCEPTED}"
    kind = file_kind(head)
    if kind is None:
        return f"{name} is not MIDI (it starts with {head[:8]!r}, not b'MThd'): {ACCEPTED}"
    return f"{name} is {kind}, not MIDI: {ACCEPTED}"


def read_head(path: Path, size: int = 16) -> bytes:
    """The first ``size`` bytes of a file (empty when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""
