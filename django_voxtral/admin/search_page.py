"""The admin's "Search transcripts" page: a search box, ranked hits with their snippets, each a
link to the transcript's page at the hit's moment.

search.py decides what matches, who sees which hit and how snippets are made safe; links.py where
a hit leads. Never query segments, judge visibility or build HTML from a transcript's text here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .. import links, search
from ..models import Transcript
from .display import format_duration

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

#: Hits per page.
PAGE_SIZE = 25
#: The last page asked for that is taken (further pages would only scan the index for nothing).
MAX_PAGE = 10_000


@dataclass(frozen=True)
class ShownHit:
    """One hit as the page shows it: the transcript's name, the time, the snippet, the link."""

    name: str
    time: str
    start: float
    snippet: SafeString
    url: str


def _page(raw: str | None) -> int:
    """?page=: a whole number from 1; anything else is the first page."""
    if raw is None or not raw.isdigit():
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def _names(hits: list[search.Hit]) -> dict[Any, str]:
    """Each hit's transcript's name as the admin shows it (one query for the page)."""
    rows = Transcript.objects.filter(pk__in={hit.transcript_id for hit in hits}).only(
        "id", "media_name", "media"
    )
    return {row.pk: row.display_name for row in rows}


def _shown(user: Any, hits: list[search.Hit]) -> list[ShownHit]:
    names = _names(hits)
    return [
        ShownHit(
            name=names.get(hit.transcript_id) or hit.media_name or str(hit.transcript_id),
            time=format_duration(math.floor(hit.start)),
            start=hit.start,
            # search.py escapes the text and adds only <mark> and </mark>: safe HTML already.
            snippet=mark_safe(hit.snippet),
            url=links.page_url(user, hit.transcript_id, at=hit.start),
        )
        for hit in hits
    ]


def _page_url(request: HttpRequest, query: str, page: int) -> str:
    params = {"q": query} if page == 1 else {"q": query, "page": str(page)}
    return f"{request.path}?{urlencode(params)}"


def search_view(model_admin: ModelAdmin[Transcript], request: HttpRequest) -> HttpResponse:
    """``admin/django_voxtral/transcript/search/?q=&page=``, for any active staff user.

    The hits are search.search()'s for the user: all the done transcripts with the view
    permission, else only their own (so the page shows nothing that is not theirs to see).
    """
    query = request.GET.get("q", "").strip()
    page = _page(request.GET.get("page"))
    error = ""
    hits: list[ShownHit] = []
    more = False
    if len(query) > search.MAX_QUERY_LENGTH:
        error = _("The search is %(length)d characters long; search with at most %(limit)d.") % {
            "length": len(query),
            "limit": search.MAX_QUERY_LENGTH,
        }
    elif query:
        found = search.search(
            request.user, query, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        more = len(found) > PAGE_SIZE
        hits = _shown(request.user, found[:PAGE_SIZE])
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Search transcripts"),
        "query": query,
        "max_length": search.MAX_QUERY_LENGTH,
        "error": error,
        "hits": hits,
        "page": page,
        "first_number": (page - 1) * PAGE_SIZE + 1,
        "previous_url": _page_url(request, query, page - 1) if query and page > 1 else "",
        "next_url": _page_url(request, query, page + 1) if more else "",
        "changelist_allowed": model_admin.has_view_or_change_permission(request),
    }
    return TemplateResponse(request, "django_voxtral/admin/transcript_search.html", context)
