"""The OpenAPI schema (drf-spectacular) of the API, and its Swagger UI page, behind the API's auth.

Describes what the views declare with extend_schema; never hand-write paths here, and never load
the page's files from a CDN (they are the site's static files, from drf-spectacular-sidecar).
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from .authentication import AUTHENTICATION_CLASSES

#: Where drf-spectacular-sidecar keeps Swagger UI's files, as static paths (its app must be in
#: INSTALLED_APPS for staticfiles to find them: check django_voxtral.W005).
SWAGGER_UI_STATIC = "drf_spectacular_sidecar/swagger-ui-dist/"


class TokenOrBearerScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "django_voxtral.api.authentication.TokenOrBearerAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token of this site (manage.py drf_create_token USER), sent as "
            "'Authorization: Bearer <token>' or 'Authorization: Token <token>'.",
        }


class SchemaView(SpectacularAPIView):
    """GET /api/schema/: the OpenAPI 3 schema (YAML, or JSON with ?format=json)."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = (IsAuthenticated,)
    custom_settings = {
        "TITLE": "django-voxtral API",
        "DESCRIPTION": "Transcripts and subtitles of audio and video: the resource API "
        "(/api/transcripts/), the hosted service's /v1/inference/{model} and OpenAI's "
        "/v1/audio/transcriptions.",
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": {
            "TranscriptStatusEnum": "django_voxtral.models.Transcript.Status",
            "TaskEnum": "django_voxtral.models.Transcript.Task",
            "SegmentOrWordEnum": ["segment", "word"],
        },
    }


class SwaggerView(SpectacularSwaggerView):
    """GET /api/schema/swagger-ui/: the schema as an interactive page.

    Swagger UI's script, style and icon are the site's static files (drf-spectacular-sidecar's),
    whatever SPECTACULAR_SETTINGS says, so the page works without a network.
    """

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = (IsAuthenticated,)
    url_name = "django_voxtral:schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(SWAGGER_UI_STATIC + filename)

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static(SWAGGER_UI_STATIC + "favicon-32x32.png")
