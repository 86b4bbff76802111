"""GET /api/transcripts/<id>/subtitled/: a done transcript's video with its subtitles muxed in.

Never re-encode the picture here, never read the media through a server path (storage API only),
never leave the copies behind once the answer is sent.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .. import subtitled
from ..models import Transcript
from ..permissions import visible_or_404
from .base import VoxtralAPIView, documented
from .errors import ApiError, InvalidField, NotDone
from .serializers import ErrorSerializer

#: ?container= choices (the rule and the MIME types are in django_voxtral/subtitled.py).
CONTAINERS = subtitled.CONTAINERS


class NoSubtitledCopy(ApiError):
    """The transcript is done but no subtitled copy can be made (no picture, media gone)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "no_video"


def _api_error(exc: subtitled.NoSubtitledCopy) -> ApiError:
    """subtitled.py's refusal as the API's status and code."""
    if exc.code == "not_done":
        return NotDone(f"{exc} Poll the transcript until its status is done.")
    if exc.code == "container":
        return InvalidField(str(exc), field="container")
    return NoSubtitledCopy(str(exc), code=exc.code)


class SubtitledView(VoxtralAPIView):
    """The media with the transcript's SRT as one subtitle stream, picture and sound copied."""

    renderer_classes = (JSONRenderer,)  # for errors; the answer itself is a FileResponse
    upload_methods = frozenset()

    def get_throttles(self) -> list[BaseThrottle]:
        return []  # reading, like the exports: not counted against uploads

    @documented(
        summary="A copy of the video with its subtitles muxed in",
        description="The transcript's media with its subtitles as one subtitle stream in the "
        "transcript's language (detected, else asked): mov_text in MP4, SubRip in MKV, WebVTT "
        "in WebM. The picture and sound are copied, not re-encoded, so WebM needs a VP8/VP9/AV1 "
        "and Opus/Vorbis source (choose mkv otherwise). Done transcripts only (409 not_done); "
        "audio-only media answers 409 no_video.",
        parameters=[
            OpenApiParameter(
                "container",
                str,
                enum=list(CONTAINERS),
                description="mp4, mkv or webm (default: the source's when it is one of "
                "these, else mp4)",
            )
        ],
        responses={
            (200, "video/mp4"): OpenApiTypes.BINARY,
            (200, "video/x-matroska"): OpenApiTypes.BINARY,
            (200, "video/webm"): OpenApiTypes.BINARY,
            400: OpenApiResponse(
                ErrorSerializer, description="Unknown container, or codecs it cannot hold"
            ),
            404: OpenApiResponse(ErrorSerializer, description="No such transcript (or not yours)"),
            409: OpenApiResponse(
                ErrorSerializer,
                description="Not done (not_done), no video (no_video) or the media is gone "
                "(media_missing)",
            ),
        },
    )
    def get(self, request: Request, pk: Any) -> FileResponse:
        transcript = visible_or_404(request.user, Transcript.objects.all(), pk=pk)
        try:
            container = subtitled.choose_container(
                transcript.display_name, request.query_params.get("container")
            )
            return subtitled.open_copy(transcript, container)
        except subtitled.NoSubtitledCopy as exc:
            raise _api_error(exc) from None
