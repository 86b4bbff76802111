"""The example site's uploads, served only to a logged-in user allowed to see what holds them.

Every /media/ URL comes here (FieldFile.url keeps working); never serve a name no row holds.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from django_voxtral.media_views import serve_file
from django_voxtral.permissions import transcripts_for

from .models import Video


@require_safe
def media(request: HttpRequest, name: str) -> HttpResponseBase:
    """A Video's file to users with videos.view_video; a transcript's upload to its viewers."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.has_perm("videos.view_video"):
        video = Video.objects.filter(file=name).first()
        if video is not None:
            return serve_file(request, video.file)
    transcript = transcripts_for(request.user, "view").filter(media=name).first()
    if transcript is not None:
        return serve_file(request, transcript.media, transcript.media_name or None)
    raise Http404("No file of this name is yours to see; log in as a user who may view it.")
