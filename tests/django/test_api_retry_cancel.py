"""POST /api/transcripts/<id>/retry/ and /cancel/: what the admin's actions do, for API clients.

The test client against the real views; work queued on Django's dummy task backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from django_voxtral.models import Transcript
from tests.django.test_admin_actions import with_chunks
from tests.django.test_api_permissions import user_with
from tests.fixtures_api import client_for
from tests.testapp.queue import dummy_queue

pytestmark = pytest.mark.django_db
Status = Transcript.Status


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def queued(settings: Any) -> Iterator[Callable[[], list[str]]]:
    yield from dummy_queue(settings)


def post(client: Any, transcript: Transcript, what: str) -> Any:
    return client.post(f"/api/transcripts/{transcript.pk}/{what}/")


def test_retry_queues_a_failed_transcript_and_keeps_its_chunks(
    alice: Any, queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    failed = with_chunks(
        Transcript.objects.create(owner=alice, status=Status.FAILED, error="HTTP 503"), 3
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(alice), failed, "retry")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["id"], body["status"], body["error"]) == (str(failed.pk), "queued", "")
    assert queued() == [str(failed.pk)]
    assert failed.chunks.count() == 3


def test_cancel_stops_a_queued_transcript(alice: Any) -> None:
    transcript = Transcript.objects.create(owner=alice, status=Status.QUEUED)
    response = post(client_for(alice), transcript, "cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert Transcript.objects.get(pk=transcript.pk).status == Status.CANCELED


@pytest.mark.parametrize(
    ("what", "status", "words"),
    [
        ("retry", Status.DONE, "only failed or canceled transcripts can be retried"),
        ("retry", Status.QUEUED, "only failed or canceled transcripts can be retried"),
        ("cancel", Status.DONE, "only queued or running transcripts can be canceled"),
        ("cancel", Status.FAILED, "only queued or running transcripts can be canceled"),
    ],
)
def test_the_wrong_status_is_409_saying_what_can_be_done(
    alice: Any, queued: Callable[[], list[str]], what: str, status: str, words: str
) -> None:
    transcript = Transcript.objects.create(owner=alice, status=status)
    response = post(client_for(alice), transcript, what)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "wrong_status"
    assert words in body["detail"] and f"is {status}" in body["detail"]
    assert Transcript.objects.get(pk=transcript.pk).status == status
    assert queued() == []


@pytest.mark.parametrize("what", ["retry", "cancel"])
def test_others_transcripts_follow_the_model_permissions(
    alice: Any, django_user_model: Any, queued: Callable[[], list[str]], what: str
) -> None:
    status = Status.FAILED if what == "retry" else Status.QUEUED
    transcript = Transcript.objects.create(owner=alice, status=status)
    stranger = user_with(django_user_model, "stranger", is_staff=True)
    assert post(client_for(stranger), transcript, what).status_code == 404
    viewer = user_with(django_user_model, "viewer", "view_transcript", is_staff=True)
    response = post(client_for(viewer), transcript, what)
    assert response.status_code == 403
    assert "django_voxtral.change_transcript" in response.json()["detail"]
    assert Transcript.objects.get(pk=transcript.pk).status == status
    editor = user_with(django_user_model, "editor", "change_transcript", is_staff=True)
    assert post(client_for(editor), transcript, what).status_code in (200, 202)
    assert Transcript.objects.get(pk=transcript.pk).status != status


def test_anonymous_is_401(client: Any) -> None:
    transcript = Transcript.objects.create(status=Status.FAILED)
    response = client.post(f"/api/transcripts/{transcript.pk}/retry/")
    assert response.status_code == 401
    assert Transcript.objects.get(pk=transcript.pk).status == Status.FAILED


def test_retry_and_cancel_are_not_counted_as_uploads(alice: Any, settings: Any) -> None:
    settings.VOXTRAL = {**getattr(settings, "VOXTRAL", {}), "UPLOAD_THROTTLE_RATE": "1/minute"}
    transcript = Transcript.objects.create(owner=alice, status=Status.QUEUED)
    client = client_for(alice)
    assert post(client, transcript, "cancel").status_code == 200
    assert post(client, transcript, "retry").status_code == 202
    assert post(client, transcript, "cancel").status_code == 200
