"""Track roles: map General MIDI programs, drum channels and track names to what a track does in the band."""

from __future__ import annotations

import re

#: Every role a track can have, with the General MIDI program used when museforge writes a track of that role.
ROLE_PROGRAMS: dict[str, int] = {
    "melody": 0,  # the conditioning input keeps its own program; 0 is only the fallback
    "bass": 33,  # Electric Bass (finger)
    "drums": 0,  # channel 10; the program is ignored
    "guitar": 25,  # Acoustic Guitar (steel)
    "piano": 0,  # Acoustic Grand Piano
    "organ": 16,  # Drawbar Organ
    "strings": 48,  # String Ensemble 1
    "brass": 61,  # Brass Section
    "woodwinds": 71,  # Clarinet
    "voice": 52,  # Choir Aahs
    "timpani": 47,  # Timpani
    "bridge": 0,  # POP909's secondary melody, on piano
    "alto": 52,
    "tenor": 52,
    "bass_voice": 52,
    "other": 0,
}
ROLES = tuple(ROLE_PROGRAMS)

#: The instrument family of each block of 8 GM programs (program // 8).
_FAMILY_ROLES = (
    "piano",  # 0-7 pianos
    "piano",  # 8-15 chromatic percussion (celesta, mallets)
    "organ",  # 16-23
    "guitar",  # 24-31
    "bass",  # 32-39
    "strings",  # 40-47 solo strings, harp, timpani (47 handled below)
    "strings",  # 48-55 ensembles (voices 52-54 handled below)
    "brass",  # 56-63
    "woodwinds",  # 64-71 reeds
    "woodwinds",  # 72-79 pipes
    "melody",  # 80-87 synth leads
    "strings",  # 88-95 synth pads
    "other",  # 96-103 synth effects
    "guitar",  # 104-111 ethnic plucked
    "other",  # 112-119 percussive
    "other",  # 120-127 sound effects
)

# Track-name words that decide the role before the program does (first match wins).
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"drum|perc|kit|hi-?hat|snare|cymbal", "drums"),
    (r"melod|vocal|\bvox\b|\blead\b|\bsing|hauptstimme|main voice|soprano", "melody"),
    (r"\bbridge\b", "bridge"),
    (r"\balto\b", "alto"),
    (r"\btenor\b", "tenor"),
    (r"walking bass|\bbass\b|contrabass|double bass|\bbasso\b", "bass"),
    (r"timpan|pauken", "timpani"),
    (r"guitar|gtr", "guitar"),
    (r"chord|piano|keys|rhodes", "piano"),
    (r"organ", "organ"),
    (r"violin|viola|cello|string|violon", "strings"),
    (r"horn|trumpet|trombone|tuba|brass|corno|tromba", "brass"),
    (r"flute|oboe|clarinet|bassoon|fagott|piccolo|sax|woodwind", "woodwinds"),
    (r"choir|chorus|voice|coro", "voice"),
)


def role_from_program(program: int, is_drum: bool) -> str:
    """The role implied by a GM program (0-127) alone; drum-channel tracks are ``drums``."""
    if is_drum:
        return "drums"
    if program == 47:
        return "timpani"
    if 52 <= program <= 54:
        return "voice"
    return _FAMILY_ROLES[max(0, min(127, program)) // 8]


def role_for_track(name: str, program: int, is_drum: bool) -> str:
    """The role of a track from its name (when it names a role) or else its program and drum flag.

    Names come first because many files mislabel programs (e.g. a jazz chord track on program 65).
    """
    if is_drum:
        return "drums"
    lowered = name.lower()
    for pattern, role in _NAME_RULES:
        if re.search(pattern, lowered):
            return role
    return role_from_program(program, is_drum)


def program_for_role(role: str) -> int:
    """The General MIDI program museforge writes for a generated track of ``role``."""
    return ROLE_PROGRAMS.get(role, 0)


def unique_roles(roles: list[str]) -> list[str]:
    """Make role names unique by suffixing repeats: ``["piano", "piano"] -> ["piano", "piano_2"]``."""
    seen: dict[str, int] = {}
    out = []
    for role in roles:
        seen[role] = seen.get(role, 0) + 1
        out.append(role if seen[role] == 1 else f"{role}_{seen[role]}")
    return out


def melody_track_name(name: str, program: int) -> str:
    """The name a melody track is written under, so that reading the file back finds it: the track's own name
    when it already says melody, else ``"<name> (melody)"`` (``"Melody"`` for a nameless track)."""
    name = name or "Melody"
    return name if role_for_track(name, program, False) == "melody" else f"{name} (melody)"
