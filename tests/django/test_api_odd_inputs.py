"""Odd inputs against every endpoint: whatever a client sends, the answer is a 4xx, never a 500.

The test client against the real views, on small generated media; the dummy backend.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from django_voxtral.models import Transcript
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import client_for, tone

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tone(tmp_path_factory.mktemp("odd") / "t.wav", 1.0, 440).read_bytes()


@pytest.fixture
def api(alice: Any, settings: Any) -> APIClient:
    """alice's client, answering a server error as a response (so a 500 fails the test)."""
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "SYNC_TIMEOUT": 0}
    cache.clear()
    return client_for(alice, raise_request_exception=False)


def refused(response: Any) -> dict[str, Any]:
    """Asserts a 4xx with a JSON error that says something; returns the error."""
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    error = body.get("error", body)
    assert error.get("detail") or error.get("message"), body
    return dict(error)


def post(api: APIClient, url: str, field: str, data: bytes, name: str, **fields: Any) -> Any:
    return api.post(url, {field: SimpleUploadedFile(name, data), **fields}, format="multipart")


FORM_CASES = [
    {"temperature": "abc"},
    {"temperature": "nan"},
    {"temperature": "inf"},
    {"temperature": "-1"},
    {"temperature": "1e999"},
    {"chunk_length_s": "0"},
    {"chunk_length_s": "31"},
    {"chunk_length_s": "abc"},
    {"chunk_length_s": "1.5"},
    {"chunk_length_s": "99999999999999999999"},
    {"language": "EN"},
    {"language": "xx"},
    {"language": "e" * 500},
    {"task": "foo"},
    {"chunk_level": "char"},
    {"backend": "nope"},
    {"backend": "x" * 500},
    {"initial_prompt": "a\x00b"},
    {"language": "en\x00"},
    {"unknown_field": "1"},
]


@pytest.mark.parametrize("fields", FORM_CASES)
def test_resource_bad_fields(api: APIClient, wav: bytes, fields: dict[str, str]) -> None:
    r = post(api, "/api/transcripts/", "audio", wav, "a.wav", **fields)
    refused(r)


@pytest.mark.parametrize("fields", FORM_CASES)
def test_deepinfra_bad_fields(api: APIClient, wav: bytes, fields: dict[str, str]) -> None:
    r = post(api, "/v1/inference/some/model", "audio", wav, "a.wav", **fields)
    refused(r)


OPENAI_CASES = [
    {"temperature": "abc"},
    {"temperature": "nan"},
    {"temperature": "-3"},
    {"language": "xx"},
    {"response_format": "xml"},
    {"timestamp_granularities[]": "char"},
    {"model": "\x00"},
    {"prompt": "a\x00b"},
    {"stream": "true"},
]


@pytest.mark.parametrize("fields", OPENAI_CASES)
def test_openai_bad_fields(api: APIClient, wav: bytes, fields: dict[str, str]) -> None:
    r = post(api, "/v1/audio/transcriptions", "file", wav, "a.wav", **fields)
    refused(r)


NAMES = [
    "../../etc/passwd.wav",
    "x" * 400 + ".wav",
    ".wav",
    "a\x00b.wav",
    "é" * 300,
    "a/b/c.wav",
    "C:\\x\\y.wav",
    " .wav",
]


@pytest.mark.parametrize("name", NAMES)
def test_odd_file_names_are_stored_safely(api: APIClient, wav: bytes, name: str) -> None:
    r = post(api, "/api/transcripts/", "audio", wav, name)
    assert r.status_code == 202, r.content
    transcript = Transcript.objects.get(pk=r.json()["id"])
    stored = transcript.media.name
    assert stored.startswith("voxtral/") and ".." not in stored and "\x00" not in stored
    assert len(transcript.media_name) <= 255 and "/" not in transcript.media_name


BODIES = [b"", b"\x00" * 10, b"RIFF" + b"\x00" * 40]


@pytest.mark.parametrize("body", BODIES)
def test_odd_bodies(api: APIClient, body: bytes) -> None:
    for url, field in (
        ("/api/transcripts/", "audio"),
        ("/v1/inference/m", "audio"),
        ("/v1/audio/transcriptions", "file"),
    ):
        r = post(api, url, field, body, "a.wav")
        refused(r)


def test_audio_as_text_field(api: APIClient) -> None:
    for url, field in (
        ("/api/transcripts/", "audio"),
        ("/v1/inference/m", "audio"),
        ("/v1/audio/transcriptions", "file"),
    ):
        r = api.post(url, {field: "hello"}, format="multipart")
        refused(r)
        r = api.post(url, b"garbage", content_type="multipart/form-data; boundary=zz")
        refused(r)
        r = api.post(url, b"garbage", content_type="multipart/form-data")
        refused(r)
        r = api.post(url, {"a": "b"}, format="json")
        refused(r)


REFUSED_GETS = [
    "/api/transcripts/------------------------------------/",
    "/api/transcripts/0000000000000000000000000000000g/",
    "/api/transcripts/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-/",
    "/api/transcripts/?page=abc",
    "/api/transcripts/?page=9999",
    "/api/transcripts/?status=%00",
    "/api/transcripts/?language=%00",
    "/api/transcripts/?format=xml",
    "/api/transcripts/?format=srt",
    "/api/transcripts.srt",
    "/api/schema/?format=xml",
    "/api/transcripts/?search=%00",
]
# Parameters that do not matter are ignored, as DRF does.
IGNORED_GETS = [
    "/api/transcripts/?page_size=-1",
    "/api/transcripts/?page_size=abc",
    "/api/transcripts/?ordering=x",
    "/api/schema/?lang=zz",
]


@pytest.mark.parametrize("url", REFUSED_GETS)
def test_odd_gets_are_4xx(api: APIClient, url: str) -> None:
    # Not JSON everywhere: a path outside the API's routes is Django's own 404 page.
    assert 400 <= api.get(url).status_code < 500


@pytest.mark.parametrize("url", IGNORED_GETS)
def test_odd_but_harmless_gets_are_answered(api: APIClient, url: str) -> None:
    assert api.get(url).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer é",
        "Bearer a\x00b",
        "Token " + "x" * 5000,
        "Basic Zm9vOmJhcg==",
        "bearer\tabc",
    ],
)
def test_odd_auth(header: str) -> None:
    c = APIClient(raise_request_exception=False)
    r = c.get("/api/transcripts/", HTTP_AUTHORIZATION=header)
    assert r.status_code in (401, 403)


@pytest.mark.parametrize(
    "hook",
    [
        "ftp://x",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
        "javascript:alert(1)",
        "http://a b/",
        "http://%00/",
        "http://[zz]/",
        "http://x:99999/",
        "http://\x00/",
        "x" * 3000,
    ],
)
def test_odd_webhooks(api: APIClient, wav: bytes, hook: str) -> None:
    r = post(api, "/v1/inference/m", "audio", wav, "a.wav", webhook=hook)
    assert 400 <= r.status_code < 500


def test_methods(api: APIClient) -> None:
    for m in ("put", "patch"):
        r = getattr(api, m)("/api/transcripts/00000000-0000-0000-0000-000000000000/", {})
        refused(r)
    for url in ("/v1/inference/m", "/v1/audio/transcriptions"):
        r = api.get(url)
        refused(r)
