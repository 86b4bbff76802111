"""API errors, and the exception handlers that turn every error a user can cause into a 4xx JSON.

Never answer a traceback or a 500 for bad input; never put a token or a server path in a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousMultipartForm,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ffmpeg_bridge import (
    FFmpegFailed,
    FFmpegNotFound,
    MediaError,
    MediaTooLong,
    NoAudioTrack,
    NotAMediaFile,
)

from ..exceptions import (
    ACTIONABLE,
    BudgetExceeded,
    EditRejected,
    NotInTranscript,
    StorageFull,
    UnknownBackend,
    UnsafeFileName,
    UploadNotStored,
    WebhookURLRejected,
    WrongStatus,
)
from ..speech.backends.errors import BackendNotConfigured, InvalidOption, UnsupportedOption


class ApiError(exceptions.APIException):
    """An error of the API with a code and, when one form field is to blame, its name."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request is not valid."

    def __init__(
        self, detail: str | None = None, *, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail, code)
        self.field = field
        if code:
            self.default_code = code


class MissingFile(ApiError):
    default_code = "missing_file"


class InvalidField(ApiError):
    default_code = "invalid_option"


class UploadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"


class NotDone(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_done"


class NoPeaks(ApiError):
    """The waveform asked before the transcript's media was split (it is drawn by the split)."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "no_peaks"


class TranscriptFailed(ApiError):
    """A synchronous endpoint's transcript failed in the worker."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "transcription_failed"


class StillRunning(ApiError):
    """A synchronous endpoint gave up waiting; the transcript goes on in the background."""

    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "timeout"


@dataclass(frozen=True)
class Problem:
    """What one error means for the client: HTTP status, a stable code, the message, the field."""

    status: int
    code: str
    message: str
    field: str | None = None


def describe(exc: BaseException, *, file_field: str = "audio") -> Problem | None:
    """The Problem for the typed errors of the lower floors and of this API; None for others."""
    if isinstance(exc, ApiError):
        return Problem(exc.status_code, str(exc.default_code), str(exc.detail), exc.field)
    if isinstance(exc, NotAMediaFile):
        return Problem(400, "not_a_media_file", str(exc), file_field)
    if isinstance(exc, NoAudioTrack):
        return Problem(400, "no_audio_track", str(exc), file_field)
    if isinstance(exc, MediaTooLong):
        return Problem(400, "media_too_long", str(exc), file_field)
    if isinstance(exc, FFmpegNotFound):
        return Problem(503, "ffmpeg_missing", "The server cannot read media files right now.")
    if isinstance(exc, FFmpegFailed):
        # Probing a file that ffprobe chokes on or that takes too long: the file is to blame.
        return Problem(400, "media_unreadable", str(exc), file_field)
    if isinstance(exc, MediaError):
        return Problem(400, "media_error", str(exc), file_field)
    if isinstance(exc, InvalidOption):
        return Problem(400, "invalid_option", str(exc), exc.field)
    if isinstance(exc, UnsupportedOption):
        return Problem(400, "unsupported_option", str(exc))
    if isinstance(exc, UnknownBackend):
        return Problem(400, "unknown_backend", str(exc), "backend")
    if isinstance(exc, BackendNotConfigured):
        return Problem(503, "backend_not_configured", str(exc))
    if isinstance(exc, WebhookURLRejected):
        return Problem(400, "invalid_webhook", str(exc), "webhook")
    if isinstance(exc, BudgetExceeded):
        return Problem(429, "budget_exceeded", str(exc))
    if isinstance(exc, StorageFull):
        # The server's problem, so not a 4xx; said as such, never a 500 with a traceback.
        return Problem(507, "storage_full", str(exc))
    if isinstance(exc, UnsafeFileName):
        return Problem(400, "invalid_option", str(exc), exc.field or file_field)
    if isinstance(exc, UploadNotStored):
        return Problem(400, "storage_failed", str(exc), exc.field or file_field)
    if isinstance(exc, WrongStatus):
        return Problem(409, "wrong_status", str(exc))
    if isinstance(exc, EditRejected):
        return Problem(400, "invalid_edit", str(exc), exc.field)
    if isinstance(exc, NotInTranscript):
        return Problem(404, f"no_such_{exc.what}", str(exc))
    if isinstance(exc, ACTIONABLE):
        return Problem(400, "invalid", str(exc))
    return None


def _setting(name: str, default: int) -> int | None:
    value = getattr(settings, name, default)
    return None if value is None else int(value)


def form_limit_problem(exc: SuspiciousOperation) -> Problem:
    """Django's refusals of an over-limit or malformed form, which it would answer as HTML."""
    if isinstance(exc, TooManyFieldsSent):
        limit = _setting("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)
        return Problem(
            400,
            "too_many_fields",
            f"The form has more fields than this server accepts (at most {limit}); "
            "send only the fields the endpoint documents.",
        )
    if isinstance(exc, TooManyFilesSent):
        limit = _setting("DATA_UPLOAD_MAX_NUMBER_FILES", 100)
        return Problem(
            400,
            "too_many_files",
            f"The form has more files than this server accepts (at most {limit}); "
            "send one media file per request.",
        )
    if isinstance(exc, RequestDataTooBig):
        limit = _setting("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
        return Problem(
            413,
            "form_too_large",
            f"The form's fields other than the file are larger than this server accepts "
            f"(at most {limit} bytes together); send shorter values, and the media as a file.",
        )
    if isinstance(exc, SuspiciousMultipartForm):
        return Problem(
            400, "malformed_form", f"The multipart form is malformed ({exc}); send it again."
        )
    return Problem(400, "bad_request", "The request is malformed; check it and send it again.")


def _drf_problem(exc: exceptions.APIException) -> Problem:
    detail = exc.detail
    if isinstance(detail, dict):
        field, messages = next(iter(detail.items()), ("", ""))
        first = messages[0] if isinstance(messages, list) and messages else messages
        message = f"{field}: {first}" if field and field != "non_field_errors" else str(first)
        return Problem(exc.status_code, _code(exc), message, str(field) or None)
    if isinstance(detail, list):
        return Problem(exc.status_code, _code(exc), " ".join(str(d) for d in detail))
    return Problem(exc.status_code, _code(exc), str(detail))


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    while isinstance(codes, dict | list):
        if not codes:
            return str(exc.default_code)
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def problem_for(exc: BaseException, *, file_field: str = "audio") -> Problem | None:
    """Any exception a view may raise as a Problem, or None when it is a bug (a 500)."""
    problem = describe(exc, file_field=file_field)
    if problem is not None:
        return problem
    if isinstance(exc, Http404):
        return Problem(404, "not_found", "Not found.")
    if isinstance(exc, SuspiciousOperation):
        return form_limit_problem(exc)
    if isinstance(exc, PermissionDenied):
        return Problem(403, "permission_denied", "You do not have permission to do this.")
    if isinstance(exc, exceptions.APIException):
        return _drf_problem(exc)
    return None


def _headers(exc: BaseException) -> dict[str, str]:
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    if isinstance(exc, BudgetExceeded):
        headers["Retry-After"] = str(exc.retry_after)
    return headers


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The resource API's and the DeepInfra endpoint's errors: ``{"detail", "code", "field"}``."""
    view = context.get("view")
    problem = problem_for(exc, file_field=getattr(view, "file_field", "audio"))
    if problem is None:
        return drf_exception_handler(exc, context)
    body: dict[str, Any] = {"detail": problem.message, "code": problem.code}
    if problem.field:
        body["field"] = problem.field
    response = Response(body, status=problem.status, headers=_headers(exc))
    if isinstance(exc, exceptions.APIException):
        drf_response = drf_exception_handler(exc, context)
        if drf_response is not None and "WWW-Authenticate" in drf_response:
            response["WWW-Authenticate"] = drf_response["WWW-Authenticate"]
    return response


#: OpenAI's error types by HTTP status (what its SDK and clients look at).
_OPENAI_TYPES = {401: "invalid_request_error", 429: "requests"}


def openai_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    status_code = response.status_code
    code: str | None = data.get("code")
    if isinstance(exc, exceptions.AuthenticationFailed):
        code = "invalid_api_key"
    elif isinstance(exc, exceptions.NotAuthenticated):
        code = None
        data["detail"] = (
            "You didn't provide an API key. Send it as 'Authorization: Bearer <token>' "
            "(a token of this site, e.g. from manage.py drf_create_token)."
        )
    elif isinstance(exc, exceptions.Throttled):
        code = "rate_limit_exceeded"
    error_type = _OPENAI_TYPES.get(status_code) or (
        "server_error" if status_code >= 500 else "invalid_request_error"
    )
    if isinstance(exc, BudgetExceeded):
        # OpenAI's own answer for a used-up quota; its SDK must not retry before the reset.
        code = error_type = "insufficient_quota"
        response["x-should-retry"] = "false"
    response.data = {
        "error": {
            "message": data.get("detail", ""),
            "type": error_type,
            "param": data.get("field"),
            "code": code,
        }
    }
    return response
