"""The schema page works without a network: Swagger UI's files are the site's static files.

Never reach the network; this module is its own URLconf (the app's URLs and the static files).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import modify_settings
from django.urls import include, path, re_path
from rest_framework.test import APIClient

from django_voxtral import checks

#: The static files served whatever DEBUG says, as the web server in front of a site would.
urlpatterns = [
    path("", include("django_voxtral.urls")),
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.django.test_api_schema_offline")]

PAGE = "/api/schema/swagger-ui/"


class _Assets(HTMLParser):
    """The URLs of the scripts, styles and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def assets(client: APIClient) -> list[str]:
    response = client.get(PAGE)
    assert response.status_code == 200, response.content
    parser = _Assets()
    parser.feed(response.content.decode())
    return parser.urls


def test_the_page_loads_nothing_from_another_host(api: APIClient) -> None:
    urls = assets(api)
    assert len(urls) == 4  # the icon, the style and two scripts
    assert not [url for url in urls if url.startswith(("http:", "https:", "//"))], urls
    assert all(url.startswith(django_settings.STATIC_URL) for url in urls), urls
    assert "cdn." not in api.get(PAGE).content.decode()


def test_each_file_of_the_page_is_served(api: APIClient) -> None:
    types = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
    for url in assets(api):
        name = url.removeprefix(django_settings.STATIC_URL)
        assert finders.find(name), f"staticfiles does not find {name}"
        response = api.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith(types[name[name.rindex(".") :]]), url
        assert b"".join(response.streaming_content), url
        response.close()


def test_a_cdn_in_the_sites_settings_is_not_used(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """drf-spectacular reads SPECTACULAR_SETTINGS once, at import: patched where it keeps them."""
    from drf_spectacular.settings import spectacular_settings

    monkeypatch.setattr(spectacular_settings, "SWAGGER_UI_DIST", "https://cdn.example/swagger")
    monkeypatch.setattr(spectacular_settings, "SWAGGER_UI_FAVICON_HREF", "https://cdn.example/i")
    urls = assets(api)
    assert all(url.startswith(django_settings.STATIC_URL) for url in urls), urls


def test_without_the_sidecar_app_the_files_are_missing_and_the_check_says_so(
    api: APIClient,
) -> None:
    assert checks.check_swagger_ui_files() == []
    with modify_settings(INSTALLED_APPS={"remove": ["drf_spectacular_sidecar"]}):
        urls = assets(api)
        assert api.get(urls[-1]).status_code == 404
        [warning] = checks.check_swagger_ui_files()
        assert warning.id == "django_voxtral.W005"
