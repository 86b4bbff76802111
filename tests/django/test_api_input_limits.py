"""Input limits on every upload path: long and multibyte file names, storage errors, form limits.

Real views through the test client, a real FileSystemStorage in a temporary folder, tone media.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from django_voxtral import names
from django_voxtral.models import Transcript
from django_voxtral.speech.backends.errors import InvalidOption
from django_voxtral.speech.backends.options import MAX_INITIAL_PROMPT_LENGTH, TranscriptionOptions
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import client_for, tone

pytestmark = pytest.mark.django_db

LONG_NAMES = {
    "ascii_300_bytes": "a" * 300 + ".wav",
    "japanese_90": "音" * 90 + ".wav",
    "japanese_300": "日本語の録音" * 50 + ".wav",
    "emoji_70": "🎤" * 70 + ".wav",
    "emoji_and_words": "🎤会議" * 40 + ".wav",
}


@pytest.fixture(scope="session")
def wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tone(tmp_path_factory.mktemp("limits") / "t.wav", 1.0, 440).read_bytes()


@pytest.fixture(autouse=True)
def _disk_storage(settings: Any, tmp_path: Path) -> None:
    """A real filesystem for the uploads (the tests' default, in memory, takes any name)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "SYNC_TIMEOUT": 0}
    cache.clear()


@pytest.fixture
def api(alice: Any) -> APIClient:
    """alice's client, answering a server error as a response (so a 500 fails the test)."""
    return client_for(alice, raise_request_exception=False)


Post = Callable[..., Any]

#: (path, file field) of each API upload endpoint.
ENDPOINTS = {
    "resource": ("/api/transcripts/", "audio"),
    "deepinfra": ("/v1/inference/mistralai/Voxtral-Small-24B-2507", "audio"),
    "openai": ("/v1/audio/transcriptions", "file"),
}


def post(api: APIClient, endpoint: str, wav: bytes, name: str = "a.wav", **fields: Any) -> Any:
    url, field = ENDPOINTS[endpoint]
    return api.post(url, {field: SimpleUploadedFile(name, wav), **fields}, format="multipart")


def error_of(response: Any, endpoint: str) -> dict[str, Any]:
    """The error body in the endpoint's own shape, as {message, code, field}."""
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    if endpoint == "openai":
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        return {"message": error["message"], "code": error["code"], "field": error["param"]}
    assert "detail" in body and "code" in body, body
    return {"message": body["detail"], "code": body["code"], "field": body.get("field")}


def assert_stored_name_fits(transcript: Transcript) -> None:
    stored = os.path.basename(transcript.media.name)
    assert len(stored.encode("utf-8")) <= names.NAME_MAX_BYTES, stored
    assert stored.endswith(".wav"), stored
    assert transcript.media.storage.exists(transcript.media.name)
    assert len(transcript.media_name) <= names.MEDIA_NAME_MAX_LENGTH
    assert transcript.media_name.endswith(".wav")


# --- the name rule ------------------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_stored_name_is_cut_by_bytes_keeping_the_suffix(name: str) -> None:
    stored = names.stored_name(name)
    assert len(stored.encode("utf-8")) <= names.STORED_NAME_MAX_BYTES
    assert stored.endswith(".wav")
    stored.encode("utf-8").decode("utf-8")  # never cut inside a character


def test_stored_name_cases() -> None:
    assert names.stored_name("talk.wav") == "talk.wav"
    assert names.stored_name("dir/sub\\talk.mp3") == "talk.mp3"
    assert names.stored_name("🎤🎤.wav") == "upload.wav"
    assert names.stored_name("") == "upload"
    assert names.stored_name("....") == "upload"
    assert names.stored_name("a\x00b.wav") == "ab.wav"
    no_suffix = names.stored_name("x" * 300)
    assert no_suffix == "x" * names.STORED_NAME_MAX_BYTES
    # A "suffix" that is really part of the name is cut like the rest.
    assert len(names.stored_name("a." + "b" * 300).encode()) <= names.STORED_NAME_MAX_BYTES
    # Room is left for the 8 characters a storage adds when a name is taken.
    assert names.STORED_NAME_MAX_BYTES + names.COLLISION_ROOM <= names.NAME_MAX_BYTES


def test_media_name_fits_its_column() -> None:
    field = Transcript._meta.get_field("media_name")
    assert field.max_length == names.MEDIA_NAME_MAX_LENGTH
    shown = names.upload_display_name("日本語" * 200 + ".wav")
    assert len(shown) == names.MEDIA_NAME_MAX_LENGTH and shown.endswith(".wav")
    assert names.upload_display_name("C:\\clips\\会議.mp4") == "会議.mp4"
    assert names.upload_display_name("") == "upload"


# --- long names on every upload path -----------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("name", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_long_names_are_stored_cut_on_every_api_path(
    api: APIClient, wav: bytes, endpoint: str, name: str
) -> None:
    response = post(api, endpoint, wav, name)
    # Accepted: 202 (resource, and /v1/inference before it is done), 504 (OpenAI's wait ran out).
    assert response.status_code in (200, 202, 504), response.content[:500]
    transcript = Transcript.objects.get()
    assert_stored_name_fits(transcript)
    if names.upload_display_name(name) == name:
        assert transcript.media_name == name, "the name a person gave is kept when it fits"


def test_the_same_long_name_twice_still_fits(api: APIClient, wav: bytes) -> None:
    name = LONG_NAMES["japanese_300"]
    for _ in range(2):
        assert post(api, "resource", wav, name).status_code == 202
    first, second = Transcript.objects.all()
    assert first.media.name != second.media.name
    assert_stored_name_fits(first)
    assert_stored_name_fits(second)


@pytest.mark.parametrize("name", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_long_names_in_the_admin_add_form(
    admin_client: Client, wav: bytes, name: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            reverse("admin:django_voxtral_transcript_add"),
            {
                "media": SimpleUploadedFile(name, wav, content_type="audio/wav"),
                "backend": "default",
                "task": "transcribe",
                "language": "",
                "initial_prompt": "",
                "temperature": "0",
                "chunk_level": "segment",
                "chunk_length_s": "30",
                "owner": "",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    transcript = Transcript.objects.get()
    assert_stored_name_fits(transcript)
    assert transcript.media_name == names.upload_display_name(name)


# --- storage errors -----------------------------------------------------------------------


def _failing_save(error: OSError) -> Callable[..., Any]:
    def save(self: Any, name: str, content: Any) -> str:
        raise error

    return save


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_storage_refusing_the_name_is_400_json(
    api: APIClient, wav: bytes, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = OSError(errno.ENAMETOOLONG, "File name too long")
    monkeypatch.setattr(FileSystemStorage, "_save", _failing_save(error))
    response = post(api, endpoint, wav)
    assert response.status_code == 400
    problem = error_of(response, endpoint)
    assert problem["code"] == "storage_failed"
    assert "could not store the upload" in problem["message"].lower()
    assert "File name too long" in problem["message"]
    assert problem["field"] == ENDPOINTS[endpoint][1]
    assert not Transcript.objects.exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_storage_full_is_507_json(
    api: APIClient, wav: bytes, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(FileSystemStorage, "_save", _failing_save(error))
    response = post(api, endpoint, wav)
    assert response.status_code == 507
    problem = error_of(response, endpoint)
    assert problem["code"] == "storage_full"
    assert "try again later" in problem["message"].lower()
    assert str(Path.cwd()) not in problem["message"]
    assert not Transcript.objects.exists()


def test_storage_error_in_the_admin_add_form_is_a_message(
    admin_client: Client, wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(FileSystemStorage, "_save", _failing_save(error))
    url = reverse("admin:django_voxtral_transcript_add")
    response = admin_client.post(
        url,
        {
            "media": SimpleUploadedFile("talk.wav", wav, content_type="audio/wav"),
            "backend": "default",
            "task": "transcribe",
            "temperature": "0",
            "chunk_level": "segment",
            "chunk_length_s": "30",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    page = response.content.decode()
    assert "Nothing was created." in page
    assert "the server&#x27;s storage is full (No space left on device)" in page
    assert not Transcript.objects.exists()


# --- Django's form limits, in each endpoint's error shape ---------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_too_many_fields_is_json_400(
    api: APIClient, wav: bytes, endpoint: str, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    extra = {f"x{i}": "1" for i in range(10)}
    response = post(api, endpoint, wav, **extra)
    assert response.status_code == 400
    problem = error_of(response, endpoint)
    assert problem["code"] == "too_many_fields"
    assert "at most 5" in problem["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_too_many_files_is_json_400(
    api: APIClient, wav: bytes, endpoint: str, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    url, field = ENDPOINTS[endpoint]
    files = [SimpleUploadedFile(f"{i}.wav", wav) for i in range(3)]
    response = api.post(url, {field: files}, format="multipart")
    assert response.status_code == 400
    problem = error_of(response, endpoint)
    assert problem["code"] == "too_many_files"
    assert "at most 1" in problem["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_too_big_form_fields_are_json_413(
    api: APIClient, wav: bytes, endpoint: str, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(api, endpoint, wav, language="e" * 5000)
    assert response.status_code == 413
    problem = error_of(response, endpoint)
    assert problem["code"] == "form_too_large"
    assert "1000 bytes" in problem["message"]


def test_too_many_urlencoded_fields_is_json_400(api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"x{i}=1" for i in range(10))
    response = api.post("/api/transcripts/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert error_of(response, "resource")["code"] == "too_many_fields"


# --- initial_prompt's limit ---------------------------------------------------------------


def test_prompt_limit_in_the_options() -> None:
    TranscriptionOptions(initial_prompt="a" * MAX_INITIAL_PROMPT_LENGTH)
    with pytest.raises(InvalidOption) as caught:
        TranscriptionOptions(initial_prompt="a" * (MAX_INITIAL_PROMPT_LENGTH + 1))
    assert caught.value.field == "initial_prompt"
    assert f"at most {MAX_INITIAL_PROMPT_LENGTH} characters" in str(caught.value)
    assert "a" * 100 not in str(caught.value), "the message does not repeat the prompt"


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [("resource", "initial_prompt"), ("deepinfra", "initial_prompt"), ("openai", "prompt")],
)
def test_prompt_over_the_limit_is_400_naming_the_field(
    api: APIClient, wav: bytes, endpoint: str, field: str
) -> None:
    response = post(api, endpoint, wav, **{field: "w" * (MAX_INITIAL_PROMPT_LENGTH + 1)})
    assert response.status_code == 400
    problem = error_of(response, endpoint)
    assert problem["field"] == field
    assert str(MAX_INITIAL_PROMPT_LENGTH) in problem["message"]
    assert not Transcript.objects.exists()


def test_prompt_at_the_limit_is_accepted(api: APIClient, wav: bytes) -> None:
    response = post(api, "resource", wav, initial_prompt="w" * MAX_INITIAL_PROMPT_LENGTH)
    assert response.status_code == 202, response.content[:300]


def test_prompt_over_the_limit_in_the_admin_add_form(admin_client: Client, wav: bytes) -> None:
    response = admin_client.post(
        reverse("admin:django_voxtral_transcript_add"),
        {
            "media": SimpleUploadedFile("talk.wav", wav, content_type="audio/wav"),
            "backend": "default",
            "task": "transcribe",
            "initial_prompt": "w" * (MAX_INITIAL_PROMPT_LENGTH + 1),
            "temperature": "0",
            "chunk_level": "segment",
            "chunk_length_s": "30",
        },
    )
    assert response.status_code == 200
    assert f"at most {MAX_INITIAL_PROMPT_LENGTH} characters" in response.content.decode()
    assert not Transcript.objects.exists()
