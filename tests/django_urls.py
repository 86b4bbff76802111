"""URLs of the test site: the admin and django_voxtral's URLs, mounted as a site would.

Test-only.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django_voxtral.urls")),
]
