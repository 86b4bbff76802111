"""The Transcript admin through the test client: list, filters, search, change page, downloads, add.

Transcripts are made directly in the database (with media in InMemoryStorage); uploads run the
real pipeline with the dummy speech backend when the work is executed at commit.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import numpy as np
import pytest
import soundfile
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_voxtral.admin.display import format_duration, format_money
from django_voxtral.models import Segment, Transcript
from django_voxtral.speech.backends import dummy
from django_voxtral.speech.formats import format_timestamp

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_voxtral_transcript_changelist"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # admin_client's user is made with the default (deliberately slow) hasher otherwise.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def tone_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.2 * np.sin(2 * np.pi * 440 * t), rate, format="WAV")
    return buffer.getvalue()


def make(
    name: str,
    status: str = Transcript.Status.DONE,
    segments: tuple[tuple[float, float, str], ...] = (),
    **fields: Any,
) -> Transcript:
    transcript = Transcript(media_name=name, status=status, **fields)
    transcript.media.save(name, ContentFile(tone_wav(0.5)), save=False)
    if segments and "text" not in fields:
        transcript.text = " ".join(text for _, _, text in segments)
    transcript.save()
    Segment.objects.bulk_create(
        Segment(transcript=transcript, index=i, start=start, end=end, text=text)
        for i, (start, end, text) in enumerate(segments)
    )
    return transcript


@pytest.fixture
def library() -> dict[str, Transcript]:
    return {
        "done": make(
            "interview.mp4",
            segments=((0.0, 1.5, "Hello world."), (2.0, 3.25, "Second line here.")),
            detected_language="fr",
            duration=3725.4,
            cost=Decimal("0.0123"),
            chunks_total=3,
            chunks_done=3,
        ),
        "failed": make(
            "broken.wav",
            Transcript.Status.FAILED,
            error="The file is not a media file ffmpeg can read.",
            language="de",
        ),
        "queued": make("waiting.ogg", Transcript.Status.QUEUED, chunks_total=4, chunks_done=1),
    }


def names_listed(html: str) -> set[str]:
    return set(re.findall(r'class="field-name_column"><a [^>]*>([^<]+)</a>', html))


def test_changelist_shows_the_columns(admin_client: Client, library: dict[str, Transcript]) -> None:
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    page = response.content.decode()
    assert names_listed(page) == {"interview.mp4", "broken.wav", "waiting.ogg"}
    for status in ("done", "failed", "queued"):
        assert f'class="voxtral-badge voxtral-{status}"' in page
    assert format_duration(3725.4) == "1:02:05"
    assert "1:02:05" in page
    assert format_money(Decimal("0.0123")) in page
    assert "de (asked)" in page  # no language detected: the asked one, marked
    assert 'value="25"' in page  # the queued one's progress: 1 of 4 chunks
    assert "django_voxtral/admin.css" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"broken.wav"}),
        ({"detected_language": "fr"}, {"interview.mp4"}),
        ({"q": "second line"}, {"interview.mp4"}),
        ({"q": "waiting"}, {"waiting.ogg"}),
        ({"backend": "local"}, set()),
    ],
)
def test_changelist_filters_and_search(
    admin_client: Client, library: dict[str, Transcript], query: dict[str, str], expected: set[str]
) -> None:
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    assert names_listed(response.content.decode()) == expected


def test_changelist_date_filter(admin_client: Client, library: dict[str, Transcript]) -> None:
    old = library["failed"]
    Transcript.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=40))
    today = timezone.localdate()
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    # Follow the filter's own "Past 7 days" link, as a person would.
    link = re.search(r'<a href="(\?[^"]*created__gte[^"]*)"[^>]*>Past 7 days</a>', page)
    assert link is not None
    response = admin_client.get(reverse(CHANGELIST) + unescape(link.group(1)))
    assert names_listed(response.content.decode()) == {"interview.mp4", "waiting.ogg"}
    by_year = admin_client.get(reverse(CHANGELIST), {"created__year": str(today.year)})
    assert "interview.mp4" in names_listed(by_year.content.decode())


def test_change_page_lists_segments_in_order_with_downloads(
    admin_client: Client, library: dict[str, Transcript]
) -> None:
    done = library["done"]
    url = reverse("admin:django_voxtral_transcript_change", args=[done.pk])
    html = admin_client.get(url).content.decode()
    first, second = html.index("Hello world."), html.index("Second line here.")
    assert first < second
    assert format_timestamp(3.25, decimal_marker=".") in html
    for fmt in ("srt", "vtt", "txt", "json"):
        assert reverse("admin:django_voxtral_transcript_export", args=[done.pk, fmt]) in html
    # Segments are read-only: no inputs for their text, nothing to delete, none to add.
    assert 'name="segments-0-text"' not in html
    assert 'name="segments-0-DELETE"' not in html
    assert 'name="segments-MAX_NUM_FORMS" value="0"' in html


def test_change_page_of_unfinished_transcript_has_no_downloads(
    admin_client: Client, library: dict[str, Transcript]
) -> None:
    failed = library["failed"]
    html = admin_client.get(
        reverse("admin:django_voxtral_transcript_change", args=[failed.pk])
    ).content.decode()
    assert "voxtral-export" not in html
    assert "not a media file" in html
    export = reverse("admin:django_voxtral_transcript_export", args=[failed.pk, "srt"])
    assert admin_client.get(export).status_code == 404


def export(client: Client, transcript: Transcript, fmt: str) -> Any:
    return client.get(reverse("admin:django_voxtral_transcript_export", args=[transcript.pk, fmt]))


def test_export_srt_and_vtt_hold_each_segment(
    admin_client: Client, library: dict[str, Transcript]
) -> None:
    done = library["done"]
    segments = list(done.segments.order_by("index"))
    srt = export(admin_client, done, "srt")
    assert srt.status_code == 200
    assert srt["Content-Disposition"] == 'attachment; filename="interview.srt"'
    blocks = [b for b in srt.content.decode().split("\n\n") if b.strip()]
    assert len(blocks) == len(segments)
    for n, (block, segment) in enumerate(zip(blocks, segments, strict=True), 1):
        number, times, text = block.split("\n", 2)
        assert int(number) == n
        assert times == f"{format_timestamp(segment.start)} --> {format_timestamp(segment.end)}"
        assert text == segment.text
    vtt = export(admin_client, done, "vtt")
    assert vtt["Content-Type"].startswith("text/vtt")
    assert vtt.content.decode().startswith("WEBVTT")
    assert format_timestamp(segments[1].start, decimal_marker=".") in vtt.content.decode()


def test_export_json_and_txt(admin_client: Client, library: dict[str, Transcript]) -> None:
    done = library["done"]
    body = json.loads(export(admin_client, done, "json").content)
    assert [s["text"] for s in body["segments"]] == list(
        done.segments.order_by("index").values_list("text", flat=True)
    )
    assert body["language"] == "fr"
    txt = export(admin_client, done, "txt")
    assert txt["Content-Disposition"] == 'attachment; filename="interview.txt"'
    assert "Hello world." in txt.content.decode()
    assert export(admin_client, done, "docx").status_code == 404


def test_export_needs_staff(client: Client, library: dict[str, Transcript]) -> None:
    response = export(client, library["done"], "srt")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_add_form_uploads_and_queues_for_the_admin(
    admin_client: Client, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dummy.clear_outbox()
    upload = SimpleUploadedFile("talk.wav", tone_wav(2.0), content_type="audio/wav")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:django_voxtral_transcript_add"),
            {
                "media": upload,
                "backend": "default",
                "task": "transcribe",
                "language": "en",
                "initial_prompt": "",
                "temperature": "0",
                "chunk_level": "segment",
                "chunk_length_s": "30",
                "owner": "",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    transcript = Transcript.objects.get()
    assert transcript.owner == admin_user
    assert transcript.media_name == "talk.wav"
    assert transcript.language == "en"
    # The work ran at commit (ImmediateBackend) through the dummy backend.
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert len(dummy.outbox) == 1
    assert transcript.segments.count() == 1


def test_add_form_refuses_what_the_backend_cannot_do(admin_client: Client) -> None:
    upload = SimpleUploadedFile("talk.wav", tone_wav(0.5), content_type="audio/wav")
    response = admin_client.post(
        reverse("admin:django_voxtral_transcript_add"),
        {
            "media": upload,
            "backend": "english_only",
            "task": "translate",
            "language": "",
            "temperature": "0",
            "chunk_level": "segment",
            "chunk_length_s": "30",
        },
    )
    assert response.status_code == 200
    assert "cannot translate" in response.content.decode()
    assert not Transcript.objects.exists()


def test_add_form_refuses_a_file_that_is_not_media(admin_client: Client) -> None:
    upload = SimpleUploadedFile("notes.mp4", b"meeting notes, not a video\n" * 50)
    response = admin_client.post(
        reverse("admin:django_voxtral_transcript_add"),
        {
            "media": upload,
            "backend": "default",
            "task": "transcribe",
            "language": "",
            "temperature": "0",
            "chunk_level": "segment",
            "chunk_length_s": "30",
        },
    )
    assert response.status_code == 200
    assert "notes.mp4 is not an audio or video file" in response.content.decode()
    assert not Transcript.objects.exists()


def test_add_form_refuses_bad_options(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:django_voxtral_transcript_add"),
        {
            "backend": "default",
            "task": "transcribe",
            "language": "xx",
            "temperature": "0",
            "chunk_level": "segment",
            "chunk_length_s": "31",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required" in html  # no media
    assert "Select a valid choice" in html  # language xx
    assert not Transcript.objects.exists()


def test_changelist_queries_do_not_grow_with_rows(
    admin_client: Client, django_user_model: Any, django_assert_max_num_queries: Any
) -> None:
    """Owners and linked objects of 60 rows: as many queries as for 1 (no query per row)."""
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Clip

    clip_type = ContentType.objects.get_for_model(Clip)
    Transcript.objects.bulk_create(
        Transcript(
            owner=django_user_model.objects.create_user(f"owner{i}"),
            media_name=f"file{i}.wav",
            content_type=clip_type,
            object_id=str(i),
            source_field="file",
            status=Transcript.Status.DONE,
            text="words " * 50,
        )
        for i in range(60)
    )
    admin_client.get(reverse(CHANGELIST))  # warms the per-process caches (content types)
    with django_assert_max_num_queries(12) as captured:
        response = admin_client.get(reverse(CHANGELIST), {"status__exact": "done"})
    assert response.status_code == 200
    assert len(names_listed(response.content.decode())) == 60
    listed = [q["sql"] for q in captured.captured_queries if "voxtral_transcript" in q["sql"]]
    assert listed, "the list was read from the database"
