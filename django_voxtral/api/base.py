"""What every API view shares: authentication, permissions, throttling, streamed uploads, errors.

Set here per view, so a site needs no REST_FRAMEWORK setting; never rely on DRF's global defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .authentication import AUTHENTICATION_CLASSES
from .errors import exception_handler
from .throttling import UploadRateThrottle
from .uploads import check_content_length, use_streaming_uploads


class VoxtralAPIView(APIView):
    """The base of every API view (ViewSets put it after GenericAPIView)."""

    authentication_classes: Sequence[type[BaseAuthentication]] = AUTHENTICATION_CLASSES
    permission_classes: Sequence[type[BasePermission]] = (IsAuthenticated,)
    schema: ViewInspector | None = AutoSchema()
    #: The multipart field that carries the media, for error messages.
    file_field: ClassVar[str] = "audio"
    #: Views whose POST takes an upload: streamed to disk, size-limited and throttled.
    upload_methods: ClassVar[frozenset[str]] = frozenset({"POST"})

    #: Views that wait for their transcript: its row must be committed (and queued) first, so
    #: they stay out of ATOMIC_REQUESTS.
    waits_for_result: ClassVar[bool] = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)
        return transaction.non_atomic_requests(view) if cls.waits_for_result else view

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method in self.upload_methods:
            # Before DRF wraps the request: even a CSRF check reading the form must stream.
            use_streaming_uploads(request)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in self.upload_methods:
            # After authentication and throttling: a stranger learns nothing about the limit.
            check_content_length(request._request)

    def get_throttles(self) -> list[BaseThrottle]:
        return [UploadRateThrottle()]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler


class FirstRendererNegotiation(DefaultContentNegotiation):
    """Ignores Accept: the compatible endpoints answer in the one shape their clients expect."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return (first, first.media_type)


def documented(**kwargs: Any) -> Callable[[Any], Any]:
    """drf-spectacular's extend_schema on its AutoSchema, even when DEFAULT_SCHEMA_CLASS is not.

    So a site gets the schema without a REST_FRAMEWORK setting.
    """

    def decorate(view_method: Any) -> Any:
        view_method.schema = AutoSchema
        return extend_schema(**kwargs)(view_method)

    return decorate


__all__ = ["FirstRendererNegotiation", "VoxtralAPIView", "documented"]
