"""GET /api/transcripts/<id>/subtitled/: a done transcript's video with its subtitles muxed in.

Never re-encode the picture here, never read the media through a server path (storage API only),
never leave the copies behind once the answer is sent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from ffmpeg_bridge import FFmpegFailed, FFmpegTimeout, NoVideoStream, SubtitleTrack, mux

from ..models import Transcript
from ..permissions import visible_or_404
from ..speech.formats import render
from ..spool import StoredFileMissing, spooled
from .base import VoxtralAPIView, documented
from .errors import ApiError, InvalidField, NotDone
from .serializers import ErrorSerializer

#: ?container= -> the suffix mux() reads the container from, and the answer's MIME type.
CONTAINERS: dict[str, tuple[str, str]] = {
    "mp4": (".mp4", "video/mp4"),
    "mkv": (".mkv", "video/x-matroska"),
    "webm": (".webm", "video/webm"),
}


class NoSubtitledCopy(ApiError):
    """The transcript is done but no subtitled copy can be made (no picture, media gone)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "no_video"


def _container(request: Request, media_name: str) -> str:
    asked = request.query_params.get("container")
    if asked is None:
        # The source's own container when it is one of ours (WebM holds only VP8/VP9/AV1),
        # else MP4, which plays everywhere.
        own = os.path.splitext(media_name)[1].lower().lstrip(".")
        return own if own in CONTAINERS else "mp4"
    if asked not in CONTAINERS:
        raise InvalidField(
            f"container must be one of {', '.join(CONTAINERS)}, not {asked[:20]!r}.",
            field="container",
        )
    return asked


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
        if transcript.status != Transcript.Status.DONE:
            raise NotDone(
                f"The transcript is {transcript.status}, not done: its subtitled copy exists "
                "once the status is done. Poll the transcript until then."
            )
        media = transcript.media_file()
        if media is None:
            raise NoSubtitledCopy("The transcript's media is gone.", code="media_missing")
        container = _container(request, transcript.display_name)
        suffix, content_type = CONTAINERS[container]
        result = transcript.to_result()
        language = result.language or "und"
        scratch = Path(tempfile.mkdtemp(prefix="voxtral-subtitled-"))
        try:
            srt = scratch / "subtitles.srt"
            srt.write_text(render(result, "srt"), encoding="utf-8")
            out = scratch / f"subtitled{suffix}"
            try:
                with spooled(media, name=transcript.display_name) as local:
                    mux(local.path, out, [SubtitleTrack(srt, language)])
            except StoredFileMissing:
                raise NoSubtitledCopy(
                    "The transcript's media is gone from the storage.", code="media_missing"
                ) from None
            except NoVideoStream as exc:
                raise NoSubtitledCopy(str(exc)) from None
            except FFmpegTimeout:
                raise  # the server's limit, not the container's fault
            except FFmpegFailed as exc:
                raise InvalidField(
                    f"This media cannot be copied into {container}: {exc.last_line}",
                    field="container",
                ) from None
            answer = out.open("rb")
        finally:
            # The open file outlives its name (POSIX): nothing is left behind even if the
            # client goes away before the answer is read to the end.
            shutil.rmtree(scratch, ignore_errors=True)
        stem = transcript.display_name.rsplit(".", 1)[0] or str(transcript.pk)
        return FileResponse(
            answer,
            as_attachment=True,
            filename=f"{stem}.subtitled{suffix}",
            content_type=content_type,
        )
