"""GET /api/search/?q=: the segments matching words, across the transcripts the user may see.

The rule is django_voxtral/search.py; never query segments or judge visibility here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import BaseThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .. import links, search
from .base import VoxtralAPIView, documented
from .errors import InvalidField
from .serializers import DETAIL_VIEW, ErrorSerializer

#: Hits per page.
PAGE_SIZE = 50


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


class SearchView(VoxtralAPIView):
    """Ranked hits, one per matching segment, with a highlighted snippet and a link to the time."""

    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)
    upload_methods = frozenset()

    def get_throttles(self) -> list[BaseThrottle]:
        return []  # reading, like the list of transcripts: not counted

    @documented(
        summary="Search the segments of your transcripts",
        description="Full-text search over the segments of the done transcripts you may see "
        "(your own, or all with django_voxtral.view_transcript), best match first: PostgreSQL "
        "full-text search in each transcript's language, SQLite FTS5 (accents and case "
        "ignored), a plain substring match elsewhere. Every word must match. `snippet` is "
        "HTML: the text escaped, the matching words in `<mark>`. `url` is the page where you "
        "read the transcript, playing from the segment's start (`?t=<start>`): the admin's "
        "workspace with the view permission on others' transcripts, else the transcript's own "
        "page; `api_url` is the transcript's API URL. "
        f"{PAGE_SIZE} hits a page.",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description=f"The words, at most {search.MAX_QUERY_LENGTH} characters.",
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="1 (the default), 2, ..."),
        ],
        responses={
            200: inline_serializer(
                "SearchResults",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": inline_serializer(
                        "SearchHit",
                        {
                            "transcript": serializers.UUIDField(),
                            "index": serializers.IntegerField(help_text="The segment's index."),
                            "start": serializers.FloatField(),
                            "end": serializers.FloatField(),
                            "snippet": serializers.CharField(
                                help_text="Safe HTML: matches in <mark>, the rest escaped."
                            ),
                            "media_name": serializers.CharField(),
                            "url": serializers.URLField(),
                            "api_url": serializers.URLField(),
                        },
                        many=True,
                    ),
                },
            ),
            400: OpenApiResponse(ErrorSerializer, description="No q, or one too long"),
            401: OpenApiResponse(ErrorSerializer, description="Not authenticated"),
        },
    )
    def get(self, request: Request) -> Response:
        query = str(request.query_params.get("q", ""))
        if not query.strip():
            raise InvalidField("Give the words to search for in q (?q=...).", field="q")
        if len(query) > search.MAX_QUERY_LENGTH:
            raise InvalidField(
                f"q is {len(query)} characters long; give at most {search.MAX_QUERY_LENGTH}.",
                field="q",
            )
        page = self._page(request)
        found = search.search(
            request.user, query, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        url = request.build_absolute_uri()
        return Response(
            {
                "next": replace_query_param(url, "page", page + 1)
                if len(found) > PAGE_SIZE
                else None,
                "previous": None
                if page == 1
                else (
                    remove_query_param(url, "page")
                    if page == 2
                    else replace_query_param(url, "page", page - 1)
                ),
                "results": [self._hit(request, hit) for hit in found[:PAGE_SIZE]],
            }
        )

    @staticmethod
    def _page(request: Request) -> int:
        raw = str(request.query_params.get("page", "1"))
        if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
            raise InvalidField("page is a whole number from 1.", field="page")
        return int(raw)

    @staticmethod
    def _hit(request: Request, hit: search.Hit) -> dict[str, Any]:
        api_url = reverse(DETAIL_VIEW, kwargs={"pk": hit.transcript_id}, request=request)
        # The page where this user reads the transcript, playing from the segment (links.py);
        # the API's own URL at that time when the site mounts no page.
        page = links.page_url(request.user, hit.transcript_id, at=hit.start)
        url = request.build_absolute_uri(page) if page else f"{api_url}?t={_seconds(hit.start)}"
        return {
            "transcript": str(hit.transcript_id),
            "index": hit.index,
            "start": hit.start,
            "end": hit.end,
            "snippet": hit.snippet,
            "media_name": hit.media_name,
            "url": url,
            "api_url": api_url,
        }
