"""Output formats of a transcription result: the contract's JSON, SRT, WebVTT and plain text.

Turns a TranscriptionResult into text only; never import Django, do I/O, or call a service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..results import TranscriptionResult
from .cues import Cue, make_cues
from .speakers import speaker_label
from .timecode import format_timestamp, to_ms
from .writers import to_json, to_srt, to_txt, to_vtt

__all__ = [
    "FORMATS",
    "Cue",
    "Formatter",
    "format_timestamp",
    "make_cues",
    "render",
    "speaker_label",
    "to_json",
    "to_ms",
    "to_srt",
    "to_txt",
    "to_vtt",
]


@dataclass(frozen=True, slots=True)
class Formatter:
    """One output format: its name, HTTP media type, file extension (no dot) and writer."""

    name: str
    media_type: str
    extension: str
    writer: Callable[[TranscriptionResult], str]
    charset: str = "utf-8"

    def render(self, result: TranscriptionResult) -> str:
        return self.writer(result)


FORMATS: dict[str, Formatter] = {
    "json": Formatter("json", "application/json", "json", to_json),
    "srt": Formatter("srt", "application/x-subrip", "srt", to_srt),
    "vtt": Formatter("vtt", "text/vtt", "vtt", to_vtt),
    "txt": Formatter("txt", "text/plain", "txt", to_txt),
}


def render(result: TranscriptionResult, fmt: str) -> str:
    """The result in format ``fmt`` (one of FORMATS' names; case and a leading dot ignored)."""
    formatter = FORMATS.get(fmt.strip().lower().lstrip("."))
    if formatter is None:
        allowed = ", ".join(FORMATS)
        raise ValueError(f"unknown output format {fmt!r}: choose one of {allowed}")
    return formatter.render(result)
