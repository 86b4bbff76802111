"""The django.tasks tasks that run transcripts, and how transcripts are put on the queue.

Enqueue only on commit, so a worker never looks for a row that is not yet visible to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.tasks import task, task_backends
from django.utils import timezone

from .conf import get_settings
from .leases import lease_seconds, owned, requeue_expired
from .models import Transcript
from .runner import INTERRUPTED, run_transcript

logger = logging.getLogger(__name__)

#: Up to this many transcripts get their tasks straight at commit (one INSERT each with a
#: database queue); more go through enqueue_transcripts, so a request that queues a thousand
#: rows makes a few queries and the worker enqueues the rest.
FAN_OUT_ABOVE = 20
#: Transcript ids per enqueue_transcripts task.
FAN_OUT_BATCH = 500


#: The watchdog looks this long after a lease's end, so a renewal just made is seen.
WATCH_MARGIN_SECONDS = 1.0


@task()
def transcribe_transcript(transcript_id: str) -> str:
    """Runs the transcript with this id if it is queued, or its worker's lease ran out.

    Returns how the run ended (done, failed, canceled, interrupted, lost), or the transcript's
    status when it was not this task's to run. Each such task first puts back in the queue any
    transcript whose worker died (expired leases).
    """
    recover_expired()
    try:
        outcome = run_transcript(transcript_id, on_claim=_watch)
    except BaseException:
        # The worker is being stopped hard (a second SIGTERM): the run put the row back in the
        # queue; give it a task the next worker will find.
        _resume_later(transcript_id)
        raise
    if outcome == INTERRUPTED:
        _resume_later(transcript_id)
    return outcome


@task()
def watch_transcript(transcript_id: str, token: str) -> str:
    """A run's watchdog, deferred to the end of its lease: puts transcripts of dead workers back
    in the queue, and looks again later while this run's transcript is still running.

    Returns "watching" (rescheduled) or "ended" (the run finished, or another run owns it).
    """
    recover_expired()
    started = datetime.fromisoformat(token)
    lease_end = owned(transcript_id, started).values_list("lease_expires", flat=True).first()
    if lease_end is None:
        return "ended"
    _schedule_watch(transcript_id, token, lease_end)
    return "watching"


def recover_expired() -> list[str]:
    """Queues again the transcripts whose worker's lease ran out, and enqueues their tasks."""
    ids = requeue_expired()
    if ids:
        _enqueue_each(ids)
    return ids


def _defers() -> bool:
    return bool(task_backends[get_settings().task_backend].supports_defer)


def _schedule_watch(transcript_id: str, token: str, lease_end: datetime) -> None:
    if not _defers():
        return  # no deferred tasks (ImmediateBackend): sweeps at task start still recover
    conf = get_settings()
    when = lease_end + timedelta(seconds=WATCH_MARGIN_SECONDS)
    watch_transcript.using(
        backend=conf.task_backend, queue_name=conf.queue_name, run_after=when
    ).enqueue(transcript_id, token)


def _watch(transcript: Transcript) -> None:
    """Called when a run claims its transcript: its watchdog wakes when the lease would end."""
    assert transcript.started is not None
    lease_end = transcript.started + timedelta(seconds=lease_seconds())
    _schedule_watch(str(transcript.pk), transcript.started.isoformat(), lease_end)


def _resume_later(transcript_id: str) -> None:
    """Enqueues an interrupted transcript again, for a worker other than the one stopping."""
    if not _defers():
        return  # nothing else would run it: it waits, queued, for a retry
    conf = get_settings()
    try:
        transcribe_transcript.using(
            backend=conf.task_backend,
            queue_name=conf.queue_name,
            run_after=timezone.now() + timedelta(seconds=WATCH_MARGIN_SECONDS),
        ).enqueue(transcript_id)
    except Exception:  # the broker is away: the transcript waits, queued, for a retry
        logger.exception(
            "transcript %s was interrupted and could not be queued again; retry it",
            transcript_id,
        )


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
