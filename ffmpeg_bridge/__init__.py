"""The media floor: probe audio/video files and split their audio into chunks cut at silences.

Never import django_voxtral or Django here; this package knows files and ffmpeg, not speech.
"""

from __future__ import annotations

from .errors import (
    FFmpegFailed,
    FFmpegNotFound,
    FFmpegTimeout,
    MediaError,
    MediaTooLong,
    NoAudioTrack,
    NotAMediaFile,
)
from .plan import DEFAULT_SETTINGS, SplitSettings
from .probe import probe
from .settings import CHUNK_FORMATS, DEFAULT_MAX_MEDIA_SECONDS, SAMPLE_RATE
from .split import split
from .types import AudioStream, Chunk, Chunks, MediaInfo

__all__ = [
    "CHUNK_FORMATS",
    "DEFAULT_MAX_MEDIA_SECONDS",
    "DEFAULT_SETTINGS",
    "SAMPLE_RATE",
    "AudioStream",
    "Chunk",
    "Chunks",
    "FFmpegFailed",
    "FFmpegNotFound",
    "FFmpegTimeout",
    "MediaError",
    "MediaInfo",
    "MediaTooLong",
    "NoAudioTrack",
    "NotAMediaFile",
    "SplitSettings",
    "probe",
    "split",
]
