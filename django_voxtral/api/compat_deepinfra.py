"""POST /v1/inference/<model>: the hosted service's own endpoint, request and response, here.

Takes exactly the contract's form and answers exactly its JSON; never add fields the contract
lacks to a successful answer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .. import transcripts
from ..conf import get_settings
from ..models import Transcript
from ..speech.backends.options import TranscriptionOptions
from ..webhooks import check_webhook_url
from .base import FirstRendererNegotiation, VoxtralAPIView, documented
from .errors import TranscriptFailed
from .serializers import (
    DETAIL_VIEW,
    DeepInfraQueuedSerializer,
    DeepInfraRequestForm,
    DeepInfraResponseSerializer,
    ErrorSerializer,
)
from .uploads import check_text_fields, uploaded_file, wait_for


def pending_body(transcript: Transcript) -> dict[str, Any]:
    """The contract's answer for a request that is not finished: its request_id and status."""
    return {
        "request_id": str(transcript.pk),
        "inference_status": {
            "status": "running" if transcript.status == Transcript.Status.RUNNING else "queued",
            "runtime_ms": 0,
            "cost": 0.0,
            "tokens_generated": 0,
            "tokens_input": 0,
        },
    }


class DeepInfraInferenceView(VoxtralAPIView):
    """The hosted service's inference endpoint: one upload in, the contract's JSON out."""

    parser_classes = (MultiPartParser, FormParser)
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = FirstRendererNegotiation

    waits_for_result = True

    @documented(
        operation_id="v1_inference",
        summary="Transcribe like the hosted service (DeepInfra's /v1/inference)",
        description="The hosted service's request and response. Without `webhook` it answers the "
        "result (200) once done, or 202 with the request_id when VOXTRAL['SYNC_TIMEOUT'] ran out "
        "(follow /api/transcripts/{request_id}/). With `webhook` it answers at once with status "
        "queued and POSTs the result there.",
        request={"multipart/form-data": DeepInfraRequestForm},
        responses={
            200: DeepInfraResponseSerializer,
            202: DeepInfraQueuedSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad media, option or webhook"),
            413: OpenApiResponse(ErrorSerializer, description="Upload too large"),
            429: OpenApiResponse(ErrorSerializer, description="Too many uploads, or over budget"),
            500: OpenApiResponse(ErrorSerializer, description="The transcription failed"),
        },
    )
    def post(self, request: Request, model: str) -> Response:
        data: Any = request.data
        check_text_fields(data)
        file = uploaded_file(request.FILES, "audio")
        options = TranscriptionOptions.from_form(
            {k: data[k] for k in data if k not in ("audio", "webhook")}
        )
        webhook = str(data.get("webhook") or "").strip()
        if webhook:
            webhook = check_webhook_url(webhook).url
        backend = get_settings().backend_for_model(model).alias
        transcript = transcripts.create_from_upload(
            file, options=options, backend=backend, owner=request.user, webhook=webhook
        )
        if webhook:
            # The contract's answer with a webhook, even if an inline task runner is already done.
            return Response(pending_body(transcript), status=status.HTTP_200_OK)
        transcript = wait_for(transcript)
        if transcript.status == Transcript.Status.DONE:
            return Response(transcript.to_result().to_contract(), status=status.HTTP_200_OK)
        if transcript.is_finished:
            raise TranscriptFailed(
                transcript.error or f"The transcription was {transcript.status}.",
                code="transcription_failed",
            )
        location = reverse(DETAIL_VIEW, kwargs={"pk": transcript.pk}, request=request)
        return Response(
            pending_body(transcript),
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
