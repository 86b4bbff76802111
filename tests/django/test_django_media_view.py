"""The transcript media view: only those who may view a transcript get its bytes, with ranges.

Django's test client against the real view, on InMemoryStorage and, for the big file, a
FileSystemStorage in a temporary folder (a sparse 50 MB file, streamed in blocks).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from django.urls import reverse

from django_voxtral.media_views import BLOCK_SIZE, parse_range
from django_voxtral.models import Transcript
from tests.django_settings import TONES_ARE_SPEECH
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db

BYTES = bytes(range(256)) * 4  # 1024 bytes, each position telling its offset


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def transcript(alice: Any) -> Transcript:
    row = Transcript(owner=alice, media_name="Interview «one».wav")
    row.media.save("interview.wav", ContentFile(BYTES), save=True)
    return row


def url(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-media", args=[row.pk])


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_owner_gets_the_whole_file_inline(alice: Any, transcript: Transcript) -> None:
    response = logged_in(alice).get(url(transcript))
    assert response.status_code == 200
    assert response.streaming
    assert body(response) == BYTES
    assert response["Content-Length"] == "1024"
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private"
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''Interview%20%C2%ABone%C2%BB.wav"
    )
    assert response["ETag"].startswith('"') and response["Last-Modified"]


def test_a_range_is_206_with_those_bytes(alice: Any, transcript: Transcript) -> None:
    response = logged_in(alice).get(url(transcript), HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert body(response) == BYTES[100:200]
    assert response["Content-Range"] == "bytes 100-199/1024"
    assert response["Content-Length"] == "100"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=-10", 1014, 1023),
        ("bytes=100-", 100, 1023),
        ("bytes=1000-5000", 1000, 1023),
        ("bytes=-5000", 0, 1023),
        ("bytes=0-0", 0, 0),
    ],
)
def test_open_and_suffix_ranges(
    alice: Any, transcript: Transcript, header: str, first: int, last: int
) -> None:
    response = logged_in(alice).get(url(transcript), HTTP_RANGE=header)
    assert response.status_code == 206
    assert body(response) == BYTES[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/1024"


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_outside_the_file_is_416(alice: Any, transcript: Transcript, header: str) -> None:
    response = logged_in(alice).get(url(transcript), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"
    assert b"1024 bytes" in response.content


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=9-1", "items=0-1", "bytes=x-"])
def test_several_or_malformed_ranges_get_the_whole_file(
    alice: Any, transcript: Transcript, header: str
) -> None:
    response = logged_in(alice).get(url(transcript), HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == BYTES


def test_if_range_with_a_stale_etag_gets_the_whole_file(alice: Any, transcript: Transcript) -> None:
    client = logged_in(alice)
    etag = client.get(url(transcript))["ETag"]
    same = client.get(url(transcript), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert same.status_code == 206 and body(same) == BYTES[:10]
    stale = client.get(url(transcript), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"')
    assert stale.status_code == 200 and body(stale) == BYTES
    revalidated = client.get(url(transcript), HTTP_IF_NONE_MATCH=etag)
    assert revalidated.status_code == 304


def test_head_gives_the_headers_and_no_body(alice: Any, transcript: Transcript) -> None:
    response = logged_in(alice).head(url(transcript))
    assert response.status_code == 200
    assert response["Content-Length"] == "1024"
    assert response["Accept-Ranges"] == "bytes"
    assert response.content == b""
    ranged = logged_in(alice).head(url(transcript), HTTP_RANGE="bytes=-10")
    assert ranged.status_code == 206 and ranged["Content-Range"] == "bytes 1014-1023/1024"


def test_other_users_get_404(bob: Any, transcript: Transcript) -> None:
    assert logged_in(bob).get(url(transcript)).status_code == 404
    assert logged_in(bob).get(url(transcript), HTTP_RANGE="bytes=0-9").status_code == 404


def test_anonymous_get_404_or_the_login_page(transcript: Transcript) -> None:
    assert Client().get(url(transcript)).status_code == 404
    page = Client().get(url(transcript), HTTP_ACCEPT="text/html,*/*")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=/transcripts/")


def test_a_user_with_the_view_permission_gets_it(
    django_user_model: Any, transcript: Transcript
) -> None:
    carol = django_user_model.objects.create_user("carol")
    carol.user_permissions.add(
        Permission.objects.get(content_type__app_label="django_voxtral", codename="view_transcript")
    )
    response = logged_in(carol).get(url(transcript))
    assert response.status_code == 200 and body(response) == BYTES


def test_only_get_and_head(alice: Any, transcript: Transcript) -> None:
    assert logged_in(alice).post(url(transcript)).status_code == 405


def test_no_media_or_a_missing_file_is_404(alice: Any, transcript: Transcript) -> None:
    empty = Transcript.objects.create(owner=alice, media_name="gone.wav")
    assert logged_in(alice).get(url(empty)).status_code == 404
    transcript.media.storage.delete(transcript.media.name)
    assert logged_in(alice).get(url(transcript)).status_code == 404


def test_a_hooked_models_file_is_served(alice: Any) -> None:
    clip = Clip(title="c", uploaded_by=alice)
    clip.file.save("clip.mp3", ContentFile(b"ID3" + BYTES), save=False)
    Clip.objects.bulk_create([clip])  # no upload hook runs: the transcript is linked by hand
    clip = Clip.objects.get()
    row = Transcript.objects.create(
        owner=alice,
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(clip.pk),
        source_field="file",
    )
    response = logged_in(alice).get(url(row), HTTP_RANGE="bytes=0-2")
    assert response.status_code == 206 and body(response) == b"ID3"
    assert response["Content-Type"] == "audio/mpeg"


def test_signed_urls_redirect_to_the_storage(alice: Any, bob: Any, transcript: Transcript) -> None:
    with override_settings(VOXTRAL={**TONES_ARE_SPEECH, "SIGNED_MEDIA_URLS": True}):
        response = logged_in(alice).get(url(transcript))
        assert response.status_code == 302
        assert response["Location"] == transcript.media.storage.url(transcript.media.name)
        assert "no-store" in response["Cache-Control"]
        assert logged_in(bob).get(url(transcript)).status_code == 404


def test_a_50_mb_file_is_streamed_in_blocks(alice: Any, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        (tmp_path / "big.mp4").write_bytes(b"")
        with (tmp_path / "big.mp4").open("r+b") as f:
            f.truncate(size)  # sparse: no 50 MB written to the disk
            f.seek(size - 4)
            f.write(b"last")
        row = Transcript.objects.create(owner=alice, media="big.mp4")
        client = logged_in(alice)
        tracemalloc.start()
        try:
            response = client.get(url(row))
            total, largest, tail = 0, 0, b""
            for block in response.streaming_content:
                total += len(block)
                largest = max(largest, len(block))
                tail = block[-4:]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        response.close()
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert total == size and tail == b"last"
    assert largest <= BLOCK_SIZE
    assert peak < 5 * 1024 * 1024, f"peak {peak} bytes while streaming {size}"


def test_parse_range() -> None:
    assert parse_range("", 10) is None
    assert parse_range("bytes=2-4", 10) == (2, 4)
    assert parse_range("bytes = 2 - ", 10) == (2, 9)
    assert parse_range("bytes=-3", 10) == (7, 9)
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-1", 0) is False
