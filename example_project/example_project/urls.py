"""URLs of the example site: the admin, django_voxtral's APIs, and uploaded media in DEBUG.

Demo only: serving media through Django is for development.
"""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("django_voxtral.urls")),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
