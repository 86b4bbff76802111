"""The resource API: /api/transcripts/ to upload, list, read, export and delete transcripts.

Who sees what is permissions.py's rule (owners their own, others by model permission); others'
transcripts one may not see are a 404; never run a transcript here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import BaseFilterBackend, SearchFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle

from ffmpeg_bridge import decode_peaks

from .. import editing, transcripts
from ..models import Transcript
from ..permissions import TranscriptPermission, transcripts_for, visible_or_404
from ..speech.backends.options import LANGUAGES, TranscriptionOptions
from .base import VoxtralAPIView, documented
from .errors import InvalidField, NoPeaks, NotDone
from .renderers import EXPORT_RENDERERS, ExportRenderer, TranscriptJSONRenderer
from .serializers import (
    DETAIL_VIEW,
    ErrorSerializer,
    TranscriptDetailSerializer,
    TranscriptSerializer,
    TranscriptUploadForm,
)
from .throttling import UploadRateThrottle
from .uploads import check_text_fields, uploaded_file


class TranscriptPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class StatusLanguageFilter(BaseFilterBackend):
    """``?status=done`` and ``?language=fr`` (the language asked or the one detected)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        status_value = request.query_params.get("status")
        if status_value:
            if status_value not in Transcript.Status.values:
                raise InvalidField(
                    f"status: {status_value!r} is not a status; use one of "
                    f"{', '.join(Transcript.Status.values)}.",
                    field="status",
                )
            queryset = queryset.filter(status=status_value)
        language = request.query_params.get("language")
        if language:
            if language not in LANGUAGES:
                raise InvalidField(
                    f"language: {language!r} is not a language code the service knows "
                    "(e.g. en, fr, de).",
                    field="language",
                )
            queryset = queryset.filter(Q(language=language) | Q(detected_language=language))
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "status",
                "required": False,
                "in": "query",
                "description": "Only transcripts with this status.",
                "schema": {"type": "string", "enum": list(Transcript.Status.values)},
            },
            {
                "name": "language",
                "required": False,
                "in": "query",
                "description": "Only transcripts in this language (asked or detected), e.g. en.",
                "schema": {"type": "string"},
            },
        ]


class TranscriptSearch(SearchFilter):
    search_description = "Words to find in the transcript's text or the media's name."


_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["json", "srt", "vtt", "txt"],
    description="Download the finished transcript in this format (same as the .srt etc. suffix).",
)
_ORIGINAL_PARAMETERS = [
    OpenApiParameter(
        "original",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        enum=[1],
        description="With a format: the machine's transcript as it was before any edit "
        "(revision 0) instead of the current text.",
    ),
    OpenApiParameter(
        "revision",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description="With a format: the text of this revision (GET revisions/ lists them).",
    ),
]


class TranscriptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ViewSetMixin,
    generics.GenericAPIView[Transcript],
    VoxtralAPIView,
):
    """Upload media for transcription, follow it, read and export the result."""

    parser_classes = (MultiPartParser, FormParser)
    pagination_class = TranscriptPagination
    filter_backends = (StatusLanguageFilter, TranscriptSearch)
    search_fields = ("text", "media_name")
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    permission_classes = (TranscriptPermission,)

    def get_queryset(self) -> QuerySet[Transcript]:
        if self.action != "list":
            return Transcript.objects.all()  # one transcript: get_object judges it
        queryset = transcripts_for(self.request.user, "view")
        return queryset.defer("text", "initial_prompt", "peaks").order_by("-created")

    def get_object(self) -> Transcript:
        """The transcript of the URL if the user may see it (else 404), then the method's check
        (403 when they may see it but not change or delete it)."""
        queryset = self.filter_queryset(self.get_queryset())
        transcript = visible_or_404(self.request.user, queryset, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, transcript)
        return transcript

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return TranscriptUploadForm
        if self.action == "list":
            return TranscriptSerializer
        return TranscriptDetailSerializer

    def get_renderers(self) -> list[BaseRenderer]:
        classes: Sequence[type[BaseRenderer]] = (TranscriptJSONRenderer, BrowsableAPIRenderer)
        action_name = getattr(self, "action", None)
        if action_name == "retrieve" or (self._is_detail_get() and action_name != "peaks"):
            classes = (*classes, *EXPORT_RENDERERS)
        return [cls() for cls in classes]

    def _is_detail_get(self) -> bool:
        # get_renderers runs before the action is known on some paths (errors in initial()).
        return self.request is not None and self.request.method == "GET" and "pk" in self.kwargs

    def get_throttles(self) -> list[BaseThrottle]:
        return [UploadRateThrottle()] if getattr(self, "action", None) == "create" else []

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and isinstance(renderer, ExportRenderer):
            # An error asked for as .srt is still an error: answer it as JSON.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @documented(
        summary="Upload media for transcription",
        description="Multipart form: the file in `audio` and the contract's options. Answers 202 "
        "with a Location header; follow the transcript there until its status is done.",
        request={"multipart/form-data": TranscriptUploadForm},
        responses={
            202: TranscriptDetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad media or option"),
            413: OpenApiResponse(ErrorSerializer, description="Upload too large"),
            429: OpenApiResponse(ErrorSerializer, description="Too many uploads, or over budget"),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data: Any = request.data
        check_text_fields(data)
        file = uploaded_file(request.FILES, "audio")
        options = TranscriptionOptions.from_form(
            {k: data[k] for k in data if k not in ("audio", "backend", "csrfmiddlewaretoken")}
        )
        backend = str(data.get("backend") or "default")
        transcript = transcripts.create_from_upload(
            file, options=options, backend=backend, owner=request.user
        )
        body = TranscriptDetailSerializer(transcript, context={"request": request}).data
        location = reverse(DETAIL_VIEW, kwargs={"pk": transcript.pk}, request=request)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @documented(
        summary="List transcripts",
        description="Newest first: your own transcripts, and others' too with the permission "
        "django_voxtral.view_transcript.",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @documented(
        summary="A transcript, or its export",
        description="JSON shows status, progress, error and, once done, text and result. "
        "With a format (suffix .srt/.vtt/.txt/.json or ?format=) it is the download of the "
        "finished transcript, with the current (edited) text; `?original=1` gives the machine's "
        "transcript as it was, `?revision=<n>` any revision's. Before it is done that answers "
        "409.",
        parameters=[_FORMAT_PARAMETER, *_ORIGINAL_PARAMETERS],
        responses={
            (200, "application/json"): TranscriptDetailSerializer,
            (200, "application/x-subrip"): OpenApiTypes.STR,
            (200, "text/vtt"): OpenApiTypes.STR,
            (200, "text/plain"): OpenApiTypes.STR,
            404: OpenApiResponse(ErrorSerializer, description="No such transcript (or not yours)"),
            409: OpenApiResponse(ErrorSerializer, description="Export asked before it is done"),
        },
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        transcript = self.get_object()
        fmt = self._export_format(request)
        if fmt is None:
            return Response(self.get_serializer(transcript).data)
        if transcript.status != Transcript.Status.DONE:
            raise NotDone(
                f"The transcript is {transcript.status}, not done: its {fmt} export exists once "
                "the status is done. Poll the transcript (without a format) until then."
            )
        number = editing.revision_asked(request.query_params)
        result = editing.result_at(transcript, number)
        stem = transcript.display_name.rsplit(".", 1)[0] or str(transcript.pk)
        which = {None: "", 0: ".original"}.get(number, f".revision-{number}")
        disposition = content_disposition_header(True, f"{stem}{which}.{fmt}")
        return Response(result, headers={"Content-Disposition": disposition})

    @documented(
        summary="The waveform's peaks",
        description="The whole media's waveform, for drawing it above the words: each window's "
        "highest (`peaks[0]`) and lowest (`peaks[1]`) sample as numbers in [-1, 1], window i "
        "covering `i * seconds_per_peak` to `(i + 1) * seconds_per_peak` seconds of the "
        "source's timeline. The shape wavesurfer.js takes: `WaveSurfer.create({url, peaks, "
        "duration})`, which draws the first array above the line and the second below it. "
        "Computed by the split (the same decode that cuts the chunks), so they exist as soon as "
        "the media was split, before the transcript is done; until then 404 with the code "
        "no_peaks. At most 4096 windows of 20 ms or more (an hour: 2,813 of 1.28 s).",
        responses={
            200: inline_serializer(
                "TranscriptPeaks",
                {
                    "duration": serializers.FloatField(
                        help_text="Seconds of audio decoded (the waveform's length)."
                    ),
                    "seconds_per_peak": serializers.FloatField(
                        help_text="Each window's length in seconds (the last may be shorter)."
                    ),
                    "peaks": serializers.ListField(
                        child=serializers.ListField(child=serializers.FloatField()),
                        help_text="Two lists of the same length: each window's max, then "
                        "each window's min, in [-1, 1].",
                    ),
                },
            ),
            404: OpenApiResponse(
                ErrorSerializer,
                description="No such transcript (or not yours), or its media is not split yet "
                "(code no_peaks)",
            ),
        },
    )
    @action(detail=True, methods=["get"])
    def peaks(self, request: Request, pk: str | None = None) -> Response:
        transcript = self.get_object()
        stored = transcript.peaks
        if not stored:
            raise NoPeaks(
                f"The transcript is {transcript.status} and has no waveform yet: its peaks exist "
                "once its media was split, which is the first step of its run. Ask again then."
            )
        # Stored compact (ffmpeg_bridge.encode_peaks), or as lists before that: both read.
        waveform = decode_peaks(stored)
        return Response(
            {
                "duration": waveform.duration,
                "seconds_per_peak": waveform.seconds_per_peak,
                "peaks": [list(waveform.maxs), list(waveform.mins)],
            }
        )

    def _export_format(self, request: Request) -> str | None:
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(renderer, ExportRenderer):
            return str(renderer.format)
        asked = self.format_kwarg or request.query_params.get("format")
        return "json" if asked == "json" else None

    @documented(
        summary="Retry a failed or canceled transcript",
        description="Back to queued; the chunks already transcribed (and paid for) are kept and "
        "not sent again. Your own, or others' with django_voxtral.change_transcript. A "
        "transcript that is queued, running or done answers 409.",
        request=None,
        responses={
            202: TranscriptDetailSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such transcript (or not yours)"),
            409: OpenApiResponse(ErrorSerializer, description="Not failed or canceled"),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        transcript = transcripts.retry_one(self.get_object())
        body = TranscriptDetailSerializer(transcript, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @documented(
        summary="Cancel a queued or running transcript",
        description="A running one stops before its next chunk; what it stored is kept, so a "
        "retry resumes it. Your own, or others' with django_voxtral.change_transcript. A "
        "finished transcript answers 409.",
        request=None,
        responses={
            200: TranscriptDetailSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such transcript (or not yours)"),
            409: OpenApiResponse(ErrorSerializer, description="Already finished"),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        transcript = transcripts.cancel_one(self.get_object())
        body = TranscriptDetailSerializer(transcript, context={"request": request}).data
        return Response(body, status=status.HTTP_200_OK)

    @documented(
        summary="Delete a transcript and its media file",
        description="Your own, or others' with the permission django_voxtral.delete_transcript "
        "(403 when you may see it but not delete it).",
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Transcript) -> None:
        storage, name = instance.media.storage, instance.media.name
        instance.delete()
        if name:
            # Only once the row is gone for good: a rolled-back delete keeps its file.
            transaction.on_commit(partial(storage.delete, name))
