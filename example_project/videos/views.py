"""The example site's pages: each Video's public page with its player, captions and transcript,
their list, and the uploads, served only to a logged-in user allowed to see what holds them.

Every /media/ URL comes here (FieldFile.url keeps working); never serve a name no row holds. The
pages show only what VOXTRAL["MEDIA_ACCESS"] (videos/access.py) lets the visitor fetch.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
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


@require_safe
def video_list(request: HttpRequest) -> HttpResponse:
    """``/videos/``: every Video, newest first, each linked to its page."""
    return render(request, "videos/video_list.html", {"videos": Video.objects.all()})


@require_safe
def video_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/videos/<pk>/``: a Video's public page: the player with its captions and transcript."""
    video = get_object_or_404(Video, pk=pk)
    return render(request, "videos/video_detail.html", {"video": video})
