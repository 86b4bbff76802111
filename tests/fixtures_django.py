"""Fixtures for the Django floor's tests: a short speech file with pauses, made with espeak-ng.

Session-scoped and small; never depends on the network or on a speech service.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PHRASES = ["The first phrase is short.", "After a long pause, a second one follows."]


@pytest.fixture(scope="session")
def pauses_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 9 s of 16 kHz mono WAV: phrase, 4 s of silence, phrase."""
    folder = tmp_path_factory.mktemp("django-media")
    parts = []
    for i, text in enumerate(PHRASES):
        wav = folder / f"p{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en+f3", "-w", str(wav), text], check=True)
        parts.append(wav)
    out = folder / "two phrases.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(parts[0]), "-i", str(parts[1]),
         "-filter_complex", "[0:a]apad=pad_dur=4[a0];[a0][1:a]concat=n=2:v=0:a=1[a]",
         "-map", "[a]", "-ar", "16000", "-ac", "1", str(out)],
        check=True,
    )  # fmt: skip
    return out
