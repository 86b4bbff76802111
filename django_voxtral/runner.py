"""Runs one transcript: claims the row, spools the media, calls the pipeline, saves what comes back.

Thin on purpose: chunking, merging and retries live in the pipeline, never here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ffmpeg_bridge import MediaInfo, Peaks, encode_peaks, probe

from . import budgets
from .conf import get_backend, get_settings
from .db_retry import is_locked, retry_locked
from .exceptions import MissingMedia, is_actionable
from .leases import LeaseKeeper, StopRequest, claimable, lease_seconds, owned, stop_on_signals
from .models import SPEAKER_MAX_LENGTH, Segment, Transcript, TranscriptChunk
from .reuse import reuse_machine_result
from .signals import transcript_failed, transcript_finished, transcript_started
from .speech.backends.base import AudioPath, SpeechBackend
from .speech.backends.errors import SpeechError
from .speech.backends.options import TranscriptionOptions
from .speech.pipeline import PipelineProgress, ProgressCallback, transcribe_media
from .speech.results import ChunkResult, TranscriptionResult, Word
from .spool import SpooledMedia, StoredFileMissing, remove_dead_runs, spooled

logger = logging.getLogger(__name__)

Status = Transcript.Status

#: What run_transcript returns besides a transcript status: the worker was asked to stop and
#: put the transcript back in the queue ("interrupted"), or another run owns it now ("lost").
INTERRUPTED = "interrupted"
LOST = "lost"


class TranscriptCanceled(Exception):
    """Raised inside the run when somebody canceled the transcript, or another run claimed it."""


class WorkerStopping(SpeechError):
    """No new chunk is sent: the worker was asked to stop, or the run lost its claim."""


def _claim(transcript_id: Any) -> datetime | None:
    """Marks a queued transcript, or a running one whose lease ran out, as running with a new
    lease; only one worker can win (a conditional UPDATE).

    Returns the run's start time, which is also its token: a later claim of the same row (after
    a cancel and a retry, or after this run's lease ran out) sets another one, and the older run
    notices it is no longer the owner.
    """
    started = timezone.now()
    won = retry_locked(
        lambda: (
            Transcript.objects.filter(pk=transcript_id)
            .filter(claimable(started))
            .update(
                status=Status.RUNNING,
                started=started,
                lease_expires=started + timedelta(seconds=lease_seconds()),
                finished=None,
                error="",
            )
        ),
        f"transcript {transcript_id}: claim",
    )
    return started if won == 1 else None


def claim(transcript_id: Any) -> bool:
    """Marks a queued transcript as running; True for the one worker that wins."""
    return _claim(transcript_id) is not None


def _still_ours(transcript: Transcript) -> QuerySet[Transcript]:
    """The row, only while this run owns it: running, and not claimed again since."""
    return owned(transcript.pk, transcript.started)


def run_transcript(
    transcript_id: Any,
    progress: ProgressCallback | None = None,
    *,
    on_claim: Callable[[Transcript], None] | None = None,
) -> str:
    """Runs the transcript if it is queued (or its last worker's lease ran out); returns how the
    run ended: its final status (done, failed, canceled), "interrupted" (the worker was asked to
    stop: the transcript is queued again with its stored chunks), "lost" (another run claimed
    it), or, when it was not claimed, its current status or "missing".

    ``progress`` also receives the pipeline's progress (e.g. a command's progress bar);
    ``on_claim`` is called once the transcript is claimed (e.g. to schedule a watchdog).
    """
    started = _claim(transcript_id)
    if started is None:
        status = Transcript.objects.filter(pk=transcript_id).values_list("status", flat=True)
        return str(status.first() or "missing")
    transcript = Transcript.objects.filter(pk=transcript_id).first()
    if transcript is None:
        return "missing"  # deleted between the claim and now
    transcript.started = started
    if on_claim is not None:
        try:
            on_claim(transcript)
        except Exception:  # the lease still protects the run; a sweep recovers it
            logger.exception("transcript %s: on_claim failed", transcript.pk)
    remove_dead_runs(older_than=lease_seconds())
    transcript_started.send(sender=Transcript, transcript=transcript)
    stop = StopRequest()
    with LeaseKeeper(transcript.pk, started) as lease, stop_on_signals(stop):
        try:
            result = _transcribe(transcript, progress, _Guard(stop, lease.lost))
            _save_result(transcript, result)
        except TranscriptCanceled:
            return _not_ours(transcript)
        except Exception as exc:
            if lease.lost.is_set():
                return _not_ours(transcript)
            if stop:
                return _interrupted(transcript, stop)
            return Status.FAILED if _fail(transcript, exc) else _not_ours(transcript)
        except BaseException:
            # SystemExit or KeyboardInterrupt (e.g. db_worker's second SIGTERM): the row goes
            # back to the queue before the process ends, never left running with no word.
            _interrupted(transcript, stop)
            raise
    transcript_finished.send(sender=Transcript, transcript=transcript)
    return Status.DONE


def _not_ours(transcript: Transcript) -> str:
    """How a run that lost its transcript ended: canceled, or "lost" to another run."""
    status = Transcript.objects.filter(pk=transcript.pk).values_list("status", flat=True).first()
    return Status.CANCELED if status in (Status.CANCELED, None) else LOST


def interrupted_message(stop: StopRequest, transcript: Transcript) -> str:
    """What a transcript says after its worker was asked to stop mid-run."""
    why = f"the worker was asked to stop ({stop.signal_name})" if stop else "the worker stopped"
    return (
        f"Interrupted: {why} after {transcript.chunks_done} of {transcript.chunks_total} chunks. "
        "The chunks already transcribed are kept; the transcript is queued again and the next "
        "worker resumes from them."
    )


def _interrupted(transcript: Transcript, stop: StopRequest) -> str:
    """Puts this run's transcript back in the queue with its stored chunks; INTERRUPTED."""
    message = interrupted_message(stop, transcript)
    queued = retry_locked(
        lambda: _still_ours(transcript).update(
            status=Status.QUEUED, lease_expires=None, error=message
        ),
        f"transcript {transcript.pk}: back to the queue",
    )
    if not queued:
        return _not_ours(transcript)
    transcript.status, transcript.error = Status.QUEUED, message
    logger.warning("transcript %s: %s", transcript.pk, message)
    return INTERRUPTED


class _Guard(SpeechBackend):
    """The run's backend, which starts no new request once the worker is asked to stop or the
    run lost its claim; requests already sent finish, and their results are stored."""

    def __init__(self, stop: StopRequest, lost: threading.Event) -> None:
        super().__init__()
        self.stop = stop
        self.lost = lost
        self.inner: SpeechBackend | None = None

    def wrap(self, inner: SpeechBackend) -> _Guard:
        self.inner = inner
        self.options = inner.options
        return self

    def _backend(self) -> SpeechBackend:
        assert self.inner is not None, "wrap() a backend first"
        if self.stop or self.lost.is_set():
            raise WorkerStopping("The worker is stopping; this chunk is left for the next run.")
        return self.inner

    @property
    def model(self) -> str:
        assert self.inner is not None
        return self.inner.model

    def check_options(self, options: TranscriptionOptions) -> None:
        assert self.inner is not None
        self.inner.check_options(options)

    def pack_sizes(self, durations: Sequence[float]) -> list[int]:
        assert self.inner is not None
        return self.inner.pack_sizes(durations)

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        return self._backend().transcribe(audio, options)

    def transcribe_many(
        self, audios: Sequence[AudioPath], options: TranscriptionOptions
    ) -> list[TranscriptionResult]:
        return self._backend().transcribe_many(audios, options)


@dataclass
class _Progress:
    """Saves progress in the worker's own thread, and notices a cancel between chunks."""

    transcript: Transcript
    also: ProgressCallback | None = None
    guard: _Guard | None = None
    last_saved: tuple[int, int] = field(default=(-1, -1))

    def __call__(self, p: PipelineProgress) -> None:
        if self.also is not None:
            self.also(p)
        if self.guard is not None:
            if self.guard.lost.is_set():
                raise TranscriptCanceled
            if self.guard.stop and p.stage == "splitting":
                raise WorkerStopping("The worker is stopping; nothing was sent yet.")
        if p.stage != "transcribing":
            return
        key = (p.chunks_done, p.chunks_total)
        if key == self.last_saved:
            return
        self.last_saved = key
        updated = retry_locked(
            lambda: _still_ours(self.transcript).update(
                chunks_done=p.chunks_done, chunks_total=p.chunks_total
            ),
            f"transcript {self.transcript.pk}: progress",
        )
        if not updated:
            raise TranscriptCanceled
        self.transcript.chunks_done, self.transcript.chunks_total = key

    def save_chunk(self, piece: ChunkResult) -> None:
        # Paid for: a busy database is waited for, and retried, rather than lose the result.
        retry_locked(
            lambda: TranscriptChunk.objects.update_or_create(
                transcript=self.transcript,
                index=piece.index,
                defaults={
                    "start": piece.start,
                    "end": piece.end,
                    "result": piece.result.to_contract(),
                },
            ),
            f"transcript {self.transcript.pk}: chunk {piece.index}",
        )

    def save_peaks(self, peaks: Peaks) -> None:
        """Stores the waveform as soon as the media is split, before any chunk is sent.

        In encode_peaks()'s compact form (a few KB an hour); readers use decode_peaks().
        """
        data = encode_peaks(peaks)
        updated = retry_locked(
            lambda: _still_ours(self.transcript).update(peaks=data),
            f"transcript {self.transcript.pk}: peaks",
        )
        if not updated:
            raise TranscriptCanceled
        self.transcript.peaks = data


def _transcribe(
    transcript: Transcript, also: ProgressCallback | None, guard: _Guard
) -> TranscriptionResult:
    media = transcript.media_file()
    if media is None:
        raise MissingMedia(
            "The media file of this transcript is gone (deleted, or its object was removed); "
            "upload it again."
        )
    progress = _Progress(transcript, also, guard)
    try:
        with (
            spooled(media, name=transcript.display_name) as local,
            get_backend(transcript.backend) as backend,
        ):
            return _transcribe_local(transcript, local, guard.wrap(backend), progress)
    except StoredFileMissing as exc:  # only spooled() raises it: the storage lost the file
        raise MissingMedia(f"{exc}; upload it again, then retry this transcript.") from None


def _transcribe_local(
    transcript: Transcript, local: SpooledMedia, backend: SpeechBackend, progress: _Progress
) -> TranscriptionResult:
    conf = get_settings()
    other_file: dict[str, Any] = {}
    if transcript.sha256 and transcript.sha256 != local.sha256:
        # A different file under the same transcript: stored chunks belong to the old one,
        # and so does the waveform (the split draws the new one).
        retry_locked(transcript.chunks.all().delete, f"transcript {transcript.pk}: old chunks")
        other_file["peaks"] = transcript.peaks = None
    retry_locked(
        lambda: Transcript.objects.filter(pk=transcript.pk).update(
            sha256=local.sha256, model=backend.model, **other_file
        ),
        f"transcript {transcript.pk}: media hash",
    )
    transcript.sha256, transcript.model = local.sha256, backend.model
    reuse_machine_result(transcript, backend.model)  # a done twin's chunks: none sent again
    info = _measure_within_budget(transcript, local)
    return transcribe_media(
        local.path,
        backend,
        transcript.options(),
        **conf.pipeline_options(),
        progress=progress,
        on_chunk=progress.save_chunk,
        on_peaks=progress.save_peaks,
        done_chunks=transcript.stored_chunks(),
        # Beside the media copy: a killed run's chunks are removed with its folder.
        workdir=local.path.parent,
        info=info,
    )


def _measure_within_budget(transcript: Transcript, local: SpooledMedia) -> MediaInfo:
    """Measures the media before anything is sent and stores its length, so that later budget
    counts include it; BudgetExceeded (nothing sent) when the run would take the transcript's
    owner past their daily budget (budgets.check_before_run: the rule is there). Returns the
    probe, for the pipeline (ffprobe runs once)."""
    info = probe(local.path)
    if not info.has_audio:
        return info  # the pipeline fails with its own words, nothing sent
    budgets.check_before_run(transcript, info.duration)
    stored = retry_locked(
        lambda: _still_ours(transcript).update(duration=info.duration),
        f"transcript {transcript.pk}: media length",
    )
    if not stored:
        raise TranscriptCanceled
    transcript.duration = info.duration
    return info


def words_by_segment(result: TranscriptionResult) -> list[list[Word]]:
    """Each segment's words: those that start inside it (the last segment takes any left over)."""
    buckets: list[list[Word]] = [[] for _ in result.segments]
    if not buckets:
        return buckets
    i = 0
    for word in sorted(result.words, key=lambda w: w.start):
        while i + 1 < len(result.segments) and word.start >= result.segments[i + 1].start:
            i += 1
        buckets[i].append(word)
    return buckets


def _segment_rows(transcript: Transcript, result: TranscriptionResult) -> Sequence[Segment]:
    return [
        Segment(
            transcript=transcript,
            index=i,
            start=seg.start,
            end=seg.end,
            text=seg.text.strip(),
            words=[w.to_contract() for w in words],
            # Cut rather than refused: PostgreSQL rejects a longer label and loses the result.
            speaker=(seg.speaker or "")[:SPEAKER_MAX_LENGTH],
        )
        for i, (seg, words) in enumerate(
            zip(result.segments, words_by_segment(result), strict=True)
        )
    ]


def _save_result(transcript: Transcript, result: TranscriptionResult) -> None:
    """Saves the merged result; TranscriptCanceled when the run was canceled meanwhile."""
    fields: dict[str, Any] = {
        "text": result.text,
        "dropped": [d.to_dict() for d in result.dropped],
        "detected_language": result.language or "",
        "duration": result.duration,
        "cost": Decimal(str(result.inference_status.cost)),
        "runtime_ms": result.inference_status.runtime_ms,
        "status": Status.DONE,
        "chunks_done": transcript.chunks_total,
        "finished": timezone.now(),
        "lease_expires": None,
        "error": "",
    }
    rows = _segment_rows(transcript, result)

    def save() -> None:
        # One short transaction that writes first: with SQLite it takes the lock at once.
        with transaction.atomic():
            # Conditional, like the claim: a cancel during the last chunk is not overwritten.
            if not _still_ours(transcript).update(**fields):
                raise TranscriptCanceled
            transcript.segments.all().delete()
            Segment.objects.bulk_create(rows, batch_size=500)

    retry_locked(save, f"transcript {transcript.pk}: result")
    for name, value in fields.items():
        setattr(transcript, name, value)


def error_message(exc: BaseException) -> str:
    """What a person is told when a transcript fails: the error's own words, never a traceback."""
    if is_actionable(exc):
        return str(exc)
    if is_locked(exc):
        return (
            f"The database stayed locked ({exc}) while this transcript was saved. The chunks "
            "already transcribed are kept: retry it and it resumes without sending them again. "
            "To stop this on SQLite, set the OPTIONS that manage.py check "
            "(django_voxtral.W004) gives."
        )
    return f"Unexpected error ({type(exc).__name__}): {exc}. Retry, or report it if it persists."


def _fail(transcript: Transcript, exc: BaseException) -> bool:
    """Marks this run's transcript failed; False when it is no longer this run's."""
    if not is_actionable(exc):
        logger.exception("transcript %s failed unexpectedly", transcript.pk)
    message = error_message(exc)
    # Refused by the budget: the refusal itself uses none of it (budgets.refused_run_fields).
    also = budgets.refused_run_fields(transcript) if isinstance(exc, budgets.BudgetExceeded) else {}
    # Only this run's transcript fails: one canceled (or claimed again) meanwhile is left alone.
    failed = retry_locked(
        lambda: _still_ours(transcript).update(
            status=Status.FAILED,
            error=message,
            finished=timezone.now(),
            lease_expires=None,
            **also,
        ),
        f"transcript {transcript.pk}: failed",
    )
    if not failed:
        return False
    for name, value in also.items():
        setattr(transcript, name, value)
    transcript.status, transcript.error = Status.FAILED, message
    transcript_failed.send(sender=Transcript, transcript=transcript, error=message)
    return True
