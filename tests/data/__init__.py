"""Where the repository's own test recordings are: the JFK clip and its reference text.

Never point outside the repository from here; a test that needs a recording finds it here.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent
JFK = DATA / "jfk.flac"
JFK_TEXT = DATA / "jfk.txt"
