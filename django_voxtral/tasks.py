"""The django.tasks tasks that run transcripts, and how transcripts are put on the queue.

Enqueue only on commit, so a worker never looks for a row that is not yet visible to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.tasks import task

from .conf import get_settings
from .models import Transcript
from .runner import run_transcript

#: Up to this many transcripts get their tasks straight at commit (one INSERT each with a
#: database queue); more go through enqueue_transcripts, so a request that queues a thousand
#: rows makes a few queries and the worker enqueues the rest.
FAN_OUT_ABOVE = 20
#: Transcript ids per enqueue_transcripts task.
FAN_OUT_BATCH = 500


@task()
def transcribe_transcript(transcript_id: str) -> str:
    """Runs the transcript with this id if it is still queued; returns its final status."""
    return run_transcript(transcript_id)


@task()
def enqueue_transcripts(transcript_ids: list[str]) -> int:
    """Enqueues one transcribe_transcript per id (run by a worker for big batches)."""
    _enqueue_each(transcript_ids)
    return len(transcript_ids)


@task()
def send_webhook(transcript_id: str, message_id: str = "", attempt: int = 1) -> str:
    """One bounded attempt at a transcript's webhook; a failed one queues the next."""
    from .webhooks import deliver_transcript

    return deliver_transcript(transcript_id, message_id=message_id, attempt=attempt)


def enqueue_webhooks(ids: list[str]) -> None:
    """Queues send_webhook for these transcripts once the current transaction commits."""
    from .webhooks import new_message_id

    def now() -> None:
        conf = get_settings()
        sender = send_webhook.using(backend=conf.task_backend, queue_name=conf.queue_name)
        for transcript_id in ids:
            sender.enqueue(transcript_id, new_message_id())

    if ids:
        transaction.on_commit(now)


def _enqueue_each(ids: list[str]) -> None:
    conf = get_settings()
    runner = transcribe_transcript.using(backend=conf.task_backend, queue_name=conf.queue_name)
    for transcript_id in ids:
        runner.enqueue(transcript_id)


def _enqueue_now(ids: list[str]) -> None:
    if len(ids) <= FAN_OUT_ABOVE:
        _enqueue_each(ids)
        return
    conf = get_settings()
    fan_out = enqueue_transcripts.using(backend=conf.task_backend, queue_name=conf.queue_name)
    for start in range(0, len(ids), FAN_OUT_BATCH):
        fan_out.enqueue(ids[start : start + FAN_OUT_BATCH])


def enqueue(transcripts: Transcript | Iterable[Transcript]) -> None:
    """Queues the transcripts' work once the current transaction commits."""
    items = [transcripts] if isinstance(transcripts, Transcript) else list(transcripts)
    ids = [str(t.pk) for t in items]
    if ids:
        transaction.on_commit(partial(_enqueue_now, ids))
