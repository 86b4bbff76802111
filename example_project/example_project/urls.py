"""URLs of the example site: the admin, django_voxtral's URLs, each Video's public page, and
uploads behind a login.

Uploads are never served as static files: /media/ goes through a view that checks the user.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from videos.views import media, video_list, video_page

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("django_voxtral.urls")),
    path("videos/", video_list, name="video-list"),
    path("videos/<int:pk>/", video_page, name="video-page"),
    # FieldFile.url gives MEDIA_URL + name, so the admin's links to files land here.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media, name="media"),
]
