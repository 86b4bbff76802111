"""Runs one transcript: claims the row, spools the media, calls the pipeline, saves what comes back.

Thin on purpose: chunking, merging and retries live in the pipeline, never here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ffmpeg_bridge import MediaError

from .backends.errors import SpeechError
from .conf import get_backend, get_settings
from .models import Segment, Transcript, TranscriptChunk
from .pipeline import PipelineError, PipelineProgress, ProgressCallback, transcribe_media
from .results import ChunkResult, TranscriptionResult, Word
from .signals import transcript_failed, transcript_finished, transcript_started
from .spool import spooled

logger = logging.getLogger(__name__)

Status = Transcript.Status


class TranscriptCanceled(Exception):
    """Raised inside the run when somebody canceled the transcript; stops sending chunks."""


class MissingMedia(Exception):
    """The transcript's file, or the instance it came from, is gone."""


def claim(transcript_id: Any) -> bool:
    """Marks a queued transcript as running; only one worker can win (a conditional UPDATE)."""
    return (
        Transcript.objects.filter(pk=transcript_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started=timezone.now(), finished=None, error=""
        )
        == 1
    )


def run_transcript(transcript_id: Any, progress: ProgressCallback | None = None) -> str:
    """Runs the transcript if it is still queued; returns its final status.

    ``progress`` also receives the pipeline's progress (e.g. a command's progress bar).
    """
    if not claim(transcript_id):
        status = Transcript.objects.filter(pk=transcript_id).values_list("status", flat=True)
        return str(status.first() or "missing")
    transcript = Transcript.objects.get(pk=transcript_id)
    transcript_started.send(sender=Transcript, transcript=transcript)
    try:
        result = _transcribe(transcript, progress)
    except TranscriptCanceled:
        return Status.CANCELED
    except Exception as exc:
        _fail(transcript, exc)
        return Status.FAILED
    _save_result(transcript, result)
    transcript_finished.send(sender=Transcript, transcript=transcript)
    return Status.DONE


@dataclass
class _Progress:
    """Saves progress in the worker's own thread, and notices a cancel between chunks."""

    transcript: Transcript
    also: ProgressCallback | None = None
    last_saved: tuple[int, int] = field(default=(-1, -1))

    def __call__(self, p: PipelineProgress) -> None:
        if self.also is not None:
            self.also(p)
        if p.stage != "transcribing":
            return
        key = (p.chunks_done, p.chunks_total)
        if key == self.last_saved:
            return
        self.last_saved = key
        updated = Transcript.objects.filter(pk=self.transcript.pk, status=Status.RUNNING).update(
            chunks_done=p.chunks_done, chunks_total=p.chunks_total
        )
        if not updated:
            raise TranscriptCanceled
        self.transcript.chunks_done, self.transcript.chunks_total = key

    def save_chunk(self, piece: ChunkResult) -> None:
        TranscriptChunk.objects.update_or_create(
            transcript=self.transcript,
            index=piece.index,
            defaults={"start": piece.start, "end": piece.end, "result": piece.result.to_contract()},
        )


def _transcribe(transcript: Transcript, also: ProgressCallback | None) -> TranscriptionResult:
    media = transcript.media_file()
    if media is None:
        raise MissingMedia(
            "The media file of this transcript is gone (deleted, or its object was removed); "
            "upload it again."
        )
    conf = get_settings()
    progress = _Progress(transcript, also)
    with (
        spooled(media, name=transcript.display_name) as local,
        get_backend(transcript.backend) as backend,
    ):
        if transcript.sha256 and transcript.sha256 != local.sha256:
            # A different file under the same transcript: stored chunks belong to the old one.
            transcript.chunks.all().delete()
        Transcript.objects.filter(pk=transcript.pk).update(sha256=local.sha256, model=backend.model)
        transcript.sha256, transcript.model = local.sha256, backend.model
        return transcribe_media(
            local.path,
            backend,
            transcript.options(),
            max_chunk_seconds=conf.max_chunk_seconds,
            concurrency=conf.concurrency,
            max_media_seconds=conf.max_media_seconds,
            progress=progress,
            on_chunk=progress.save_chunk,
            done_chunks=transcript.stored_chunks(),
        )


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
        )
        for i, (seg, words) in enumerate(
            zip(result.segments, words_by_segment(result), strict=True)
        )
    ]


def _save_result(transcript: Transcript, result: TranscriptionResult) -> None:
    with transaction.atomic():
        transcript.segments.all().delete()
        Segment.objects.bulk_create(_segment_rows(transcript, result), batch_size=500)
        transcript.text = result.text
        transcript.detected_language = result.language or ""
        transcript.duration = result.duration
        transcript.cost = Decimal(str(result.inference_status.cost))
        transcript.runtime_ms = result.inference_status.runtime_ms
        transcript.status = Status.DONE
        transcript.chunks_done = transcript.chunks_total
        transcript.finished = timezone.now()
        transcript.error = ""
        transcript.save()


def error_message(exc: BaseException) -> str:
    """What a person is told when a transcript fails: the error's own words, never a traceback."""
    if isinstance(exc, MediaError | SpeechError | PipelineError | MissingMedia):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}. Retry, or report it if it persists."


def _fail(transcript: Transcript, exc: BaseException) -> None:
    if not isinstance(exc, MediaError | SpeechError | PipelineError | MissingMedia):
        logger.exception("transcript %s failed unexpectedly", transcript.pk)
    message = error_message(exc)
    # Only a running transcript fails: one canceled meanwhile stays canceled.
    Transcript.objects.filter(pk=transcript.pk, status=Status.RUNNING).update(
        status=Status.FAILED, error=message, finished=timezone.now()
    )
    transcript.status, transcript.error = Status.FAILED, message
    transcript_failed.send(sender=Transcript, transcript=transcript, error=message)
