"""A site may mount the resource API and /v1 apart; links and Location follow the mount.

This module is its own URLconf (``urlpatterns`` below), used through pytest-django's urls marker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import include, path
from rest_framework.test import APIClient

from tests.fixtures_api import tone

urlpatterns = [
    path("speech/api/", include("django_voxtral.api.urls")),
    path("v1/", include("django_voxtral.api.compat_urls")),
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.django.test_api_mounting"),
]


@pytest.fixture
def beep(tmp_path: Path) -> Path:
    return tone(tmp_path / "beep.wav", 0.5, 500)


def test_resource_api_under_another_prefix(api: APIClient, beep: Path) -> None:
    with beep.open("rb") as fh:
        response = api.post("/speech/api/transcripts/", {"audio": fh}, format="multipart")
    assert response.status_code == 202, response.content
    location = response["Location"]
    assert "/speech/api/transcripts/" in location
    detail = api.get(location).json()
    assert detail["status"] == "done"
    assert all("/speech/api/transcripts/" in url for url in detail["exports"].values())
    assert api.get(detail["exports"]["srt"]).status_code == 200
    assert api.get("/speech/api/schema/").status_code == 200


def test_v1_endpoints_mounted_apart(api: APIClient, beep: Path) -> None:
    with beep.open("rb") as fh:
        response = api.post("/v1/inference/any/model", {"audio": fh}, format="multipart")
    assert response.status_code == 200
    assert response.json()["text"] == "dummy transcript"
