"""Export renderers: a finished transcript as SRT, WebVTT, plain text or the contract's JSON.

Tiny classes with a media_type and a format, as DRF wants; never build the text here (formats does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer

from ..speech.formats import FORMATS
from ..speech.results import TranscriptionResult


class ExportRenderer(BaseRenderer):
    """Renders a TranscriptionResult in ``format``; anything else (an error) as JSON."""

    format = ""
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, TranscriptionResult):
            return FORMATS[self.format].render(data).encode(self.charset)
        return JSONRenderer().render(data)


class SRTRenderer(ExportRenderer):
    media_type = FORMATS["srt"].media_type
    format = "srt"


class VTTRenderer(ExportRenderer):
    media_type = FORMATS["vtt"].media_type
    format = "vtt"


class TXTRenderer(ExportRenderer):
    media_type = FORMATS["txt"].media_type
    format = "txt"


class TranscriptJSONRenderer(JSONRenderer):
    """DRF's JSON renderer that writes a TranscriptionResult as the contract's JSON."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, TranscriptionResult):
            return FORMATS["json"].render(data).encode("utf-8")
        return super().render(data, accepted_media_type, renderer_context)


#: The export formats of a transcript (the ``format`` of each renderer).
EXPORT_RENDERERS: tuple[type[BaseRenderer], ...] = (SRTRenderer, VTTRenderer, TXTRenderer)
EXPORT_FORMATS: tuple[str, ...] = ("json", "srt", "vtt", "txt")
