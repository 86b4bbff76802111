"""How the outputs name a speaker: a service's label ("speaker_0", "0") as a person reads it.

Pure string work on one label; never guess who speaks, merge labels or renumber by appearance.
"""

from __future__ import annotations

import re

from .text import clean

# The machine ids services give: "0", "speaker_0", "SPEAKER_00" (pyannote), "spk-1". They
# count from zero, and a reader counts people from one. "Speaker 1" (with a space) is how a
# person writes it, so it is kept: a label already shown this way is never shifted again.
_NUMBERED = re.compile(r"(?:(?:speaker|spkr|spk)[_-]?)?(\d{1,6})", re.IGNORECASE)


def speaker_label(speaker: str) -> str:
    """The name shown for ``speaker``: a numbered machine id is "Speaker N" counting from 1
    ("0", "speaker_0" and "SPEAKER_00" are "Speaker 1"); any other label ("Alice",
    "Speaker 1") is shown as it is.

    The one place this rule lives: WebVTT voices and the SRT and text prefixes all use it.
    """
    text = clean(speaker)
    match = _NUMBERED.fullmatch(text)
    if match is None:
        return text
    return f"Speaker {int(match.group(1)) + 1}"


def turn_prefix(speaker: str) -> str:
    """What SRT and plain text write where a speaker's turn starts: ``Speaker 1: ``."""
    return f"{speaker_label(speaker)}: "
