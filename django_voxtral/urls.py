"""All URLs of django_voxtral: the resource API under api/, the compatible endpoints under v1/.

Also each transcript's media and captions (WebVTT), for those VOXTRAL["MEDIA_ACCESS"] lets
fetch them, at transcripts/<uuid>/media/ and transcripts/<uuid>/captions.vtt; and the
transcript's workspace page for its owner at transcripts/<uuid>/ (with its words as JSON at
transcripts/<uuid>/data.json).

A site does ``path("", include("django_voxtral.urls"))``; to mount them apart, include
``django_voxtral.api.urls`` and ``django_voxtral.api.compat_urls`` instead. No views here.
"""

from __future__ import annotations

from django.urls import include, path

from . import captions, media_views
from .api import compat_urls
from .api import urls as api_urls
from .workspace import views as workspace_views

app_name = "django_voxtral"

urlpatterns = [
    path("api/", include(api_urls.urlpatterns)),
    path("v1/", include(compat_urls.urlpatterns)),
    path("transcripts/<uuid:pk>/", workspace_views.transcript_page, name="transcript-page"),
    path(
        "transcripts/<uuid:pk>/data.json", workspace_views.transcript_data, name="transcript-data"
    ),
    path("transcripts/<uuid:pk>/media/", media_views.transcript_media, name="transcript-media"),
    path(
        "transcripts/<uuid:pk>/captions.vtt",
        captions.transcript_captions,
        name="transcript-captions",
    ),
]
