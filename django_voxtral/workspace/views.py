"""The owner's workspace page (transcripts/<id>/) and the words as JSON for its reloads.

Both for those who may view the transcript (others get 404, the logged-out the login page);
never change a transcript here (the page's edits go through the API).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..models import Transcript
from ..permissions import visible_or_404
from ..transcript_data import follow_data
from .context import workspace_context


def _logged_out(request: HttpRequest) -> bool:
    user: Any = request.user
    return not getattr(user, "is_authenticated", False)


@require_safe
def transcript_page(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    """``GET transcripts/<uuid>/``: the workspace for the transcript's owner (and viewers)."""
    if _logged_out(request):
        return redirect_to_login(request.get_full_path())
    transcript = visible_or_404(request.user, Transcript.objects.all(), pk=pk)
    return render(
        request, "django_voxtral/workspace/page.html", workspace_context(request, transcript)
    )


@require_safe
def transcript_data(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    """``GET transcripts/<uuid>/data.json``: the current segments and words, as on the page."""
    if _logged_out(request):
        return JsonResponse(
            {"code": "not_authenticated", "detail": "Log in to read this transcript."}, status=401
        )
    try:
        transcript = visible_or_404(request.user, Transcript.objects.all(), pk=pk)
    except Http404:
        return JsonResponse(
            {"code": "not_found", "detail": "No transcript with this id is yours to see."},
            status=404,
        )
    response = JsonResponse(follow_data(transcript))
    response["Cache-Control"] = "private, no-cache"
    return response
