"""Tunable constants of the media floor and the few values read from the environment.

Read the environment when a value is used, never at import, so tests and hosts can change it.
"""

from __future__ import annotations

import os

#: Longest media accepted, in seconds, unless FFMPEG_BRIDGE_MAX_MEDIA_SECONDS says otherwise.
DEFAULT_MAX_MEDIA_SECONDS: float = 4 * 3600
#: Wall-clock limit for one ffprobe run, in seconds.
DEFAULT_PROBE_TIMEOUT: float = 60
#: Chunks are decoded to this rate: what speech services expect and no more.
SAMPLE_RATE = 16000
#: Formats split() can write.
CHUNK_FORMATS = ("flac", "wav", "mp3")

MAX_MEDIA_ENV = "FFMPEG_BRIDGE_MAX_MEDIA_SECONDS"


def ffmpeg_binary() -> str:
    return os.environ.get("FFMPEG_BINARY") or "ffmpeg"


def ffprobe_binary() -> str:
    return os.environ.get("FFPROBE_BINARY") or "ffprobe"


def max_media_seconds() -> float:
    """The configured maximum media duration; a bad value is an error, not a silent default."""
    raw = os.environ.get(MAX_MEDIA_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MEDIA_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{MAX_MEDIA_ENV}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{MAX_MEDIA_ENV}={raw!r} must be a positive number of seconds")
    return value


def split_timeout(duration: float) -> float:
    """Default wall-clock limit for decoding media of this length: generous, never endless."""
    return 120.0 + 0.5 * max(duration, 0.0)
