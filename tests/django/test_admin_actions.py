"""Actions on transcripts, posted to the admin change list as a browser does.

Work is queued on Django's dummy task backend, so the test sees what was queued without running
it; one test runs the work at commit (ImmediateBackend) to see a re-transcription end to end.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_voxtral.models import Transcript, TranscriptChunk
from django_voxtral.speech.backends import dummy
from tests.django.test_admin_transcripts import make, tone_wav
from tests.django_settings import TONES_ARE_SPEECH
from tests.testapp.queue import dummy_queue

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_voxtral_transcript_changelist"
Status = Transcript.Status


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def queued(settings: Any) -> Iterator[Callable[[], list[str]]]:
    """The ids of the transcripts put on the task queue (which does not run them)."""
    yield from dummy_queue(settings)


def act(
    client: Client, action: str, transcripts: list[Transcript], capture: Any
) -> tuple[Any, list[str]]:
    with capture(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {"action": action, "_selected_action": [str(t.pk) for t in transcripts], "index": 0},
        )
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def with_chunks(transcript: Transcript, count: int) -> Transcript:
    TranscriptChunk.objects.bulk_create(
        TranscriptChunk(
            transcript=transcript,
            index=i,
            start=i * 30.0,
            end=(i + 1) * 30.0,
            result={"text": f"chunk {i}", "segments": [], "language": "en"},
        )
        for i in range(count)
    )
    return transcript


def test_retranscribe_resets_and_queues_but_leaves_running_ones(
    admin_client: Client, queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    done = with_chunks(
        make("a.wav", segments=((0, 1, "old"),), detected_language="en", duration=1.0), 2
    )
    canceled = make("b.wav", Status.CANCELED)
    running = with_chunks(make("c.wav", Status.RUNNING, chunks_total=2, chunks_done=1), 1)
    response, messages = act(
        admin_client, "retranscribe", [done, canceled, running], django_capture_on_commit_callbacks
    )
    assert response.status_code == 302
    assert sorted(queued()) == sorted([str(done.pk), str(canceled.pk)])
    done.refresh_from_db()
    assert (done.status, done.text, done.detected_language, done.duration) == (
        Status.QUEUED,
        "",
        "",
        None,
    )
    assert not done.segments.exists() and not done.chunks.exists()
    running.refresh_from_db()
    assert running.status == Status.RUNNING and running.chunks.count() == 1
    assert "2 transcripts queued to be transcribed again." in messages
    assert any("running and was left alone" in m for m in messages)


def test_retranscribe_runs_again_at_commit(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    done = make("a.wav", segments=((0, 1, "stale text"),))
    dummy.clear_outbox()
    act(admin_client, "retranscribe", [done], django_capture_on_commit_callbacks)
    done.refresh_from_db()
    assert done.status == Status.DONE, done.error
    assert len(dummy.outbox) == 1
    assert list(done.segments.values_list("text", flat=True)) == ["dummy transcript"]


def test_translate_makes_new_transcripts_of_the_same_media(
    admin_client: Client,
    admin_user: Any,
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    source = make("talk.wav", segments=((0, 1, "bonjour"),), language="fr", owner=admin_user)
    offline = make("offline.wav", backend="english_only")
    already = make("english.wav", task=Transcript.Task.TRANSLATE)
    _, messages = act(
        admin_client,
        "translate_to_english",
        [source, offline, already],
        django_capture_on_commit_callbacks,
    )
    made = Transcript.objects.exclude(pk__in=[source.pk, offline.pk, already.pk])
    assert made.count() == 1
    translation = made.get()
    assert translation.task == Transcript.Task.TRANSLATE
    assert translation.status == Status.QUEUED
    assert translation.media.name == source.media.name
    assert (translation.language, translation.owner) == ("fr", admin_user)
    assert queued() == [str(translation.pk)]
    source.refresh_from_db()
    assert source.status == Status.DONE and source.segments.count() == 1
    assert "1 translation into English queued." in messages
    assert any("cannot translate" in m for m in messages)
    assert any("already a translation" in m for m in messages)


def test_retry_failed_keeps_finished_chunks(
    admin_client: Client, queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    failed = with_chunks(make("f.wav", Status.FAILED, error="chunk 2 failed: 503"), 2)
    canceled = with_chunks(make("c.wav", Status.CANCELED), 1)
    done = make("d.wav", segments=((0, 1, "fine"),))
    _, messages = act(
        admin_client, "retry_failed", [failed, canceled, done], django_capture_on_commit_callbacks
    )
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Status.QUEUED, "")
    assert failed.chunks.count() == 2
    canceled.refresh_from_db()
    assert canceled.status == Status.QUEUED and canceled.chunks.count() == 1
    done.refresh_from_db()
    assert done.status == Status.DONE and done.segments.count() == 1
    assert sorted(queued()) == sorted([str(failed.pk), str(canceled.pk)])
    assert "2 transcripts queued again." in messages
    assert any("neither failed nor been canceled" in m for m in messages)


def test_retry_failed_does_not_send_stored_chunks_again(
    admin_client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    """A failed run saved its first chunks; the retry sends only the rest."""
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {"default": {"BACKEND": "dummy"}},
        "MAX_CHUNK_SECONDS": 1,
    }
    transcript = Transcript(media_name="three.wav", status=Status.QUEUED)
    transcript.media.save("three.wav", ContentFile(tone_wav(2.6)), save=True)
    from django_voxtral.runner import run_transcript

    dummy.clear_outbox()
    assert run_transcript(transcript.pk) == Status.DONE
    sent_first = len(dummy.outbox)
    assert sent_first >= 2
    # As if the run had failed after its first chunk: one chunk result kept.
    transcript.refresh_from_db()
    TranscriptChunk.objects.filter(transcript=transcript, index__gt=0).delete()
    Transcript.objects.filter(pk=transcript.pk).update(status=Status.FAILED, error="boom")
    dummy.clear_outbox()
    act(admin_client, "retry_failed", [transcript], django_capture_on_commit_callbacks)
    transcript.refresh_from_db()
    assert transcript.status == Status.DONE, transcript.error
    assert len(dummy.outbox) == sent_first - 1


def test_cancel_only_touches_unfinished(
    admin_client: Client, queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    waiting = make("q.wav", Status.QUEUED)
    running = make("r.wav", Status.RUNNING)
    done = make("d.wav")
    _, messages = act(
        admin_client, "cancel", [waiting, running, done], django_capture_on_commit_callbacks
    )
    statuses = dict(Transcript.objects.values_list("media_name", "status"))
    assert statuses == {"q.wav": Status.CANCELED, "r.wav": Status.CANCELED, "d.wav": Status.DONE}
    assert queued() == []
    assert "2 transcripts canceled." in messages


def test_cancel_from_the_change_page(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    waiting = make("q.wav", Status.QUEUED)
    url = reverse("admin:django_voxtral_transcript_change", args=[waiting.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="CHANGE_FORM-action"' in page
    response = admin_client.post(
        url, {"CHANGE_FORM-action": "cancel", "_selected_action": [str(waiting.pk)]}
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == Status.CANCELED


def test_export_one_gives_a_single_file(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    done = make("one.mp3", segments=((0, 1.5, "Only this."),))
    response, _ = act(admin_client, "export_json", [done], django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="one.json"'
    assert json.loads(response.content)["text"] == "Only this."


def test_export_many_gives_a_zip_of_done_ones(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    first = make("same.wav", segments=((0, 1, "First."),))
    second = make("same.wav", segments=((0, 2, "Second."),))
    third = make("other.ogg", segments=((0, 3, "Third."),))
    failed = make("bad.wav", Status.FAILED)
    response, _ = act(
        admin_client,
        "export_srt",
        [first, second, third, failed],
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len(names) == 3 and len(set(names)) == 3
    assert "other.srt" in names
    texts = sorted(archive.read(name).decode().split("\n")[2] for name in names)
    assert texts == ["First.", "Second.", "Third."]


def test_export_of_nothing_done_says_so(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    failed = make("bad.wav", Status.FAILED)
    response, messages = act(
        admin_client, "export_txt", [failed], django_capture_on_commit_callbacks
    )
    assert response.status_code == 302
    assert any("only done ones can be exported" in m for m in messages)


def test_actions_are_offered_on_the_changelist(admin_client: Client) -> None:
    make("x.wav")
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    for name in ("retranscribe", "translate_to_english", "retry_failed", "cancel", "export_vtt"):
        assert f'value="{name}"' in page
