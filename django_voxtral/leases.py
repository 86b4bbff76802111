"""Leases on running transcripts: who may claim one, how a run renews its claim, and recovery.

Only rows, a timer thread and signal handlers live here; never run the pipeline or enqueue here.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType, TracebackType
from typing import Any

from django.db import DatabaseError, connections
from django.db.models import Q, QuerySet
from django.utils import timezone

from .conf import get_settings
from .db_retry import retry_locked
from .models import Transcript

logger = logging.getLogger(__name__)

Status = Transcript.Status

#: What a transcript says while it waits again for a worker after its worker died.
EXPIRED_MESSAGE = (
    "The worker running this transcript stopped without finishing (its lease ran out); "
    "it is queued again and resumes from its stored chunks."
)
#: At most this many transcripts are put back in the queue by one sweep.
SWEEP_LIMIT = 100


def lease_seconds() -> float:
    """VOXTRAL["WORKER_LEASE_SECONDS"], at least one second."""
    return max(1.0, get_settings().worker_lease_seconds)


def expired(now: datetime) -> Q:
    """Running transcripts whose worker stopped renewing their lease.

    A running row without a lease (claimed before leases existed) counts as expired once it
    has been running for longer than a lease.
    """
    older = now - timedelta(seconds=lease_seconds())
    no_lease = Q(lease_expires__isnull=True) & (Q(started__lt=older) | Q(started__isnull=True))
    return Q(status=Status.RUNNING) & (Q(lease_expires__lt=now) | no_lease)


def claimable(now: datetime) -> Q:
    """Transcripts a worker may claim: queued ones, and running ones whose lease ran out."""
    return Q(status=Status.QUEUED) | expired(now)


def owned(transcript_id: Any, token: datetime | None) -> QuerySet[Transcript]:
    """The row, only while the run with this token owns it: running, and not claimed since."""
    return Transcript.objects.filter(pk=transcript_id, status=Status.RUNNING, started=token)


def renew(transcript_id: Any, token: datetime) -> bool:
    """Pushes the lease forward (one short UPDATE); False when the run no longer owns the row."""
    until = timezone.now() + timedelta(seconds=lease_seconds())
    renewed = retry_locked(
        lambda: owned(transcript_id, token).update(lease_expires=until),
        f"transcript {transcript_id}: lease",
    )
    return renewed == 1


def requeue_expired(limit: int = SWEEP_LIMIT) -> list[str]:
    """Puts running transcripts whose lease ran out back in the queue; their ids.

    Each row is moved by its own conditional UPDATE, so when several workers sweep at once
    each transcript is put back by exactly one of them (and enqueued once).
    """
    now = timezone.now()
    candidates = list(
        Transcript.objects.filter(expired(now))
        .order_by("lease_expires")
        .values_list("pk", "started")[:limit]
    )
    ids: list[str] = []
    for pk, token in candidates:
        moved = retry_locked(
            lambda: (
                owned(pk, token)  # noqa: B023 (called at once, in this iteration)
                .filter(expired(now))
                .update(status=Status.QUEUED, lease_expires=None, error=EXPIRED_MESSAGE)
            ),
            f"transcript {pk}: back to the queue",
        )
        if moved:
            logger.warning("transcript %s: its worker's lease ran out; queued again", pk)
            ids.append(str(pk))
    return ids


class LeaseKeeper:
    """Renews a run's lease every third of the lease in a background thread, while in use.

    ``lost`` is set when a renewal finds the row no longer this run's (canceled, or claimed
    again after the lease ran out). A failed renewal (database away) is retried next time.
    """

    def __init__(self, transcript_id: Any, token: datetime) -> None:
        self.transcript_id = transcript_id
        self.token = token
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"voxtral-lease-{transcript_id}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._done.wait(lease_seconds() / 3):
                try:
                    if not renew(self.transcript_id, self.token):
                        self.lost.set()
                        return
                except DatabaseError as exc:
                    logger.warning("transcript %s: lease not renewed (%s)", self.transcript_id, exc)
        finally:
            connections.close_all()  # this thread's own connections


class StopRequest:
    """Set when the process is asked to stop (SIGTERM, SIGINT) during a run."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def __bool__(self) -> bool:
        return self.event.is_set()

    def set(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        self.event.set()


_Handler = Callable[[int, FrameType | None], Any]


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """Notes SIGTERM and SIGINT in ``stop``, then hands them to the handler installed before.

    Only where a program (a worker: db_worker, rqworker; or Python's own SIGINT handler) has
    installed a Python handler, and only in the main thread: the worker keeps its own rules
    (db_worker finishes the task on the first signal and exits on the second).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, _Handler] = {}

    def noted(signum: int, frame: FrameType | None) -> None:
        stop.set(signum)
        logger.warning("%s received: no new chunk is sent", signal.Signals(signum).name)
        before = previous.get(signum)
        if before is not None:
            before(signum, frame)

    for which in (signal.SIGTERM, signal.SIGINT):
        before = signal.getsignal(which)
        if callable(before):
            previous[which] = before
            signal.signal(which, noted)
    try:
        yield
    finally:
        for number, handler in previous.items():
            # The worker may have put its own back meanwhile (db_worker does on a second signal).
            if signal.getsignal(number) is noted:
                signal.signal(number, handler)
