"""Transcripts run by real workers: django-tasks-db's db_worker, and RQ on Redis (127.0.0.1:6379).

Workers run in this process on the test database; Redis must be running for the RQ test.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction

from django_voxtral.models import Transcript
from django_voxtral.speech.backends import dummy
from django_voxtral.tasks import enqueue
from tests.django_settings import TONES_ARE_SPEECH

REDIS = ("127.0.0.1", 6379)


def _queued(path: Path) -> Transcript:
    with transaction.atomic():
        transcript = Transcript(media_name=path.name)
        transcript.media.save(path.name, ContentFile(path.read_bytes()), save=False)
        transcript.save()
        enqueue(transcript)
    return transcript


@pytest.mark.django_db(transaction=True)
def test_db_worker_runs_a_transcript(long_pause_audio: Path, settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    dummy.outbox.clear()
    transcript = _queued(long_pause_audio)
    assert Transcript.objects.get(pk=transcript.pk).status == Transcript.Status.QUEUED

    call_command("db_worker", batch=True, interval=0.1, startup_delay=False)

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert transcript.segments.exists()
    assert len(dummy.outbox) == transcript.chunks.count() >= 2


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_rq_worker_on_redis_runs_a_transcript(long_pause_audio: Path, settings: Any) -> None:
    if not _redis_up():
        pytest.fail(
            "Redis is not running on 127.0.0.1:6379; start it with: redis-server --daemonize yes "
            "--bind 127.0.0.1 --port 6379 --save '' --appendonly no"
        )
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["voxtral-test"]}
    }
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {"default": {"BACKEND": "dummy", "OPTIONS": {}}},
        "QUEUE_NAME": "voxtral-test",
    }
    import django_rq

    django_rq.get_queue("voxtral-test").empty()
    dummy.outbox.clear()
    transcript = _queued(long_pause_audio)
    assert django_rq.get_queue("voxtral-test").count == 1

    call_command(
        "rqworker",
        "voxtral-test",
        burst=True,
        job_class="django_tasks_rq.Job",
        worker_class="rq.worker.SimpleWorker",
    )

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert transcript.segments.exists()
    assert len(dummy.outbox) == transcript.chunks.count() >= 2


@pytest.mark.django_db(transaction=True)
def test_many_transcripts_are_queued_in_a_few_queries_and_all_run(
    settings: Any, django_assert_max_num_queries: Any
) -> None:
    """A big batch is one task row at commit; db_worker fans it out and runs every transcript."""
    from django_tasks_db.models import DBTaskResult

    from django_voxtral.tasks import FAN_OUT_ABOVE

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    count = FAN_OUT_ABOVE * 2 + 1
    # No media: each run fails at once with its message, which is enough to see it ran.
    with django_assert_max_num_queries(6), transaction.atomic():
        rows = Transcript.objects.bulk_create(
            Transcript(media_name=f"gone-{i}.wav") for i in range(count)
        )
        enqueue(rows)
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", batch=True, interval=0.1, startup_delay=False)

    runs = DBTaskResult.objects.exclude(task_path__endswith=".watch_transcript")
    assert runs.count() == count + 1
    # Each run's watchdog waits for the end of its lease (tests/django/test_django_leases.py).
    watchdogs = DBTaskResult.objects.filter(task_path__endswith=".watch_transcript")
    assert watchdogs.count() == count and not watchdogs.exclude(status="READY").exists()
    statuses = list(Transcript.objects.values_list("status", "error"))
    assert len(statuses) == count
    assert all(s == Transcript.Status.FAILED and "upload it again" in e for s, e in statuses)
