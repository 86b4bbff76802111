"""URLs of the resource API (transcripts and the schema), to mount under any prefix.

``path("speech/api/", include("django_voxtral.api.urls"))``; never put the /v1 endpoints here.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .edit_views import EDIT_URLS
from .schema import SchemaView, SwaggerView
from .search_views import SearchView
from .subtitled import SubtitledView
from .views import TranscriptViewSet

app_name = "django_voxtral"

router = SimpleRouter()
router.register("transcripts", TranscriptViewSet, basename="transcript")

urlpatterns: list[URLPattern | URLResolver] = [
    # Before the router's URLs, whose detail pattern would read "subtitled" as a format.
    path("transcripts/<uuid:pk>/subtitled/", SubtitledView.as_view(), name="transcript-subtitled"),
    *EDIT_URLS,  # editing and revisions: segments/, speakers/, replace/, revisions/
    *format_suffix_patterns(router.urls, allowed=["json", "srt", "vtt", "txt", "api"]),
    path("search/", SearchView.as_view(), name="search"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("schema/swagger-ui/", SwaggerView.as_view(), name="swagger-ui"),
]
