"""The media floor: probe media, split its audio into chunks cut at pauses, mux subtitles in.

Never import django_voxtral or Django here; this package knows files and ffmpeg, not speech.
"""

from __future__ import annotations

from .detect import DETECTORS, detector_problems, speech_detector
from .errors import (
    DetectorUnavailable,
    FFmpegFailed,
    FFmpegNotFound,
    FFmpegTimeout,
    MediaError,
    MediaTooLong,
    NoAudioTrack,
    NotAMediaFile,
    NoVideoStream,
)
from .mux import SubtitleTrack, mux
from .peaks import PeakAccumulator, Peaks, decode_peaks, encode_peaks
from .plan import DEFAULT_SETTINGS, SplitSettings
from .probe import probe
from .settings import CHUNK_FORMATS, DEFAULT_MAX_MEDIA_SECONDS, SAMPLE_RATE
from .split import split
from .types import AudioStream, Chunk, Chunks, MediaInfo

__all__ = [
    "CHUNK_FORMATS",
    "DEFAULT_MAX_MEDIA_SECONDS",
    "DEFAULT_SETTINGS",
    "DETECTORS",
    "SAMPLE_RATE",
    "AudioStream",
    "Chunk",
    "Chunks",
    "DetectorUnavailable",
    "FFmpegFailed",
    "FFmpegNotFound",
    "FFmpegTimeout",
    "MediaError",
    "MediaInfo",
    "MediaTooLong",
    "NoAudioTrack",
    "NoVideoStream",
    "NotAMediaFile",
    "PeakAccumulator",
    "Peaks",
    "SplitSettings",
    "SubtitleTrack",
    "decode_peaks",
    "detector_problems",
    "encode_peaks",
    "mux",
    "probe",
    "speech_detector",
    "split",
]
