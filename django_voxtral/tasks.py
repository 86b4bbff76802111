"""The django.tasks task that runs one transcript, and how transcripts are put on the queue.

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


@task()
def transcribe_transcript(transcript_id: str) -> str:
    """Runs the transcript with this id if it is still queued; returns its final status."""
    return run_transcript(transcript_id)


def _enqueue_now(ids: list[str]) -> None:
    conf = get_settings()
    runner = transcribe_transcript.using(backend=conf.task_backend, queue_name=conf.queue_name)
    for transcript_id in ids:
        runner.enqueue(transcript_id)


def enqueue(transcripts: Transcript | Iterable[Transcript]) -> None:
    """Queues the transcripts' work once the current transaction commits."""
    items = [transcripts] if isinstance(transcripts, Transcript) else list(transcripts)
    ids = [str(t.pk) for t in items]
    if ids:
        transaction.on_commit(partial(_enqueue_now, ids))
