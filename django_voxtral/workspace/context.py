"""What a workspace page is given: the media's URL and element, the words, and the page's config.

Shared by the admin's workspace and the owner's page; never checks who may see the transcript
(the views do, before calling it) and never writes anything.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ..captions import is_audio_only
from ..links import reverse_or_none
from ..models import Transcript, TranscriptChunk
from ..permissions import may
from ..speech.formats import FORMATS
from ..transcript_data import follow_data


def media_element(transcript: Transcript) -> str:
    """``audio`` when the file's name says audio, else ``video`` (captions.is_audio_only's rule,
    as the template tags' players)."""
    name = transcript.media_name or (transcript.media.name if transcript.media else "")
    return "audio" if is_audio_only(name or "") else "video"


def chunk_cuts(transcript: Transcript) -> list[list[float]]:
    """The chunks' (start, end) in the media's timeline, for the timeline's cut marks."""
    rows = TranscriptChunk.objects.filter(transcript=transcript).order_by("index")
    return [[round(start, 3), round(end, 3)] for start, end in rows.values_list("start", "end")]


def workspace_context(request: HttpRequest, transcript: Transcript) -> dict[str, Any]:
    """The template context of a workspace page for a user who may view the transcript."""
    pk = transcript.pk
    api = reverse_or_none("django_voxtral:transcript-detail", pk=pk)
    can_edit = (
        transcript.status == Transcript.Status.DONE
        and api is not None
        and may(request.user, "change", transcript)
    )
    config = {
        "live": not transcript.is_finished,  # the page polls the API for progress
        "canEdit": can_edit,
        "chunks": chunk_cuts(transcript),
        "urls": {
            "api": api,
            "data": reverse_or_none("django_voxtral:transcript-data", pk=pk),
            "exports": {
                fmt: url
                for fmt in FORMATS
                if (url := reverse_or_none("django_voxtral:transcript-detail", pk=pk, format=fmt))
            },
        },
    }
    media_url = (
        reverse_or_none("django_voxtral:transcript-media", pk=pk)
        if transcript.media_file() is not None
        else None
    )
    return {
        "transcript": transcript,
        "media_url": media_url,
        "media_element": media_element(transcript),
        "data": follow_data(transcript),
        "config": config,
        "can_edit": can_edit,
        "api_mounted": api is not None,
    }
