"""Live progress of a transcript not finished yet: the text of the chunks stored so far, in the
source's timeline, and an estimate of the time left.

Reads a transcript and its stored chunks; never changes a row, and never queries the database for
a finished transcript or for one with no chunk done.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from .models import Transcript, TranscriptChunk
from .speech.repetitions import collapse_repetitions
from .speech.results import ChunkResult, TranscriptionResult, merge_chunk_results


def now() -> datetime:
    """The clock of the estimates (tests replace it)."""
    return timezone.now()


@dataclass(frozen=True, slots=True)
class Arrived:
    """A stored chunk as a poll reads it (its text and segments, not its words), and when it was
    stored: before the run's start, it is an earlier run's, resumed from."""

    piece: ChunkResult
    created: datetime


def stored_chunks(transcript: Transcript) -> list[Arrived]:
    """The chunks of a transcript not finished, ordered by index: one query, and none when the
    transcript is finished (its result is in its segments) or has no chunk done yet.

    Only the result's text and segments leave the database: its words, about ten times their
    size, are not shown while running, and decoding them would cost most of a poll.
    """
    if transcript.is_finished or not transcript.chunks_done:
        return []
    rows = (
        TranscriptChunk.objects.filter(transcript_id=transcript.pk)
        .order_by("index")
        .values_list(
            "index",
            "start",
            "end",
            "created",
            KeyTextTransform("text", "result"),
            KeyTransform("segments", "result"),
        )
    )
    return [
        Arrived(
            ChunkResult(
                index,
                start,
                end,
                TranscriptionResult.from_contract({"text": text or "", "segments": segments}),
            ),
            created,
        )
        for index, start, end, created, text, segments in rows
    ]


def partial_result(chunks: Sequence[Arrived]) -> dict[str, Any]:
    """The stored chunks as ``{"segments": [{"start", "end", "text", "speaker"?}], "text"}``: in
    the source's timeline and in order, placed and cleaned as the final result will be (each
    chunk's repetition loops collapsed, then merge_chunk_results)."""
    if not chunks:
        return {"segments": [], "text": ""}
    cleaned = [replace(c.piece, result=collapse_repetitions(c.piece.result)) for c in chunks]
    merged = merge_chunk_results(cleaned, duration=0.0)
    segments = []
    for segment in merged.segments:
        item = segment.to_contract()
        del item["id"]  # renumbered as chunks arrive: not a stable name of a segment yet
        segments.append(item)
    return {"segments": segments, "text": merged.text}


def carried_over(transcript: Transcript, chunks: Sequence[Arrived]) -> int:
    """How many of ``chunks`` an earlier run stored: chunks this run resumes from, not sent now."""
    if transcript.started is None:
        return 0
    return sum(1 for c in chunks if c.created < transcript.started)


def eta_seconds(transcript: Transcript, now: datetime, *, carried: int = 0) -> int | None:
    """Seconds left for a running transcript, or None when it cannot be told yet.

    The run's time so far (since ``started``, the split included) per chunk it has transcribed
    itself, times the chunks left. ``carried`` chunks came from an earlier run and took this
    run no time. None when the transcript is not running or no chunk of this run is done yet;
    0 once every chunk is done (the result is being saved); never negative.
    """
    if transcript.status != Transcript.Status.RUNNING or transcript.started is None:
        return None
    total, done = transcript.chunks_total, transcript.chunks_done
    transcribed = done - carried
    if not total or transcribed <= 0:
        return None
    left = max(total - done, 0)
    elapsed = max((now - transcript.started).total_seconds(), 0.0)
    return math.ceil(elapsed * left / transcribed)


@dataclass(frozen=True, slots=True)
class Live:
    """What a status poll shows of a transcript on its way: None for both once it is finished."""

    partial: dict[str, Any] | None
    eta_seconds: int | None


#: How long the partial result of one stage of a run is kept in the cache. Its key changes with
#: each chunk counted (chunks_done) and each run (started), so it is never stale for long: a
#: chunk is stored before it is counted, and a poll in between keeps the newer text.
CACHE_SECONDS = 600


def arrived(transcript: Transcript) -> tuple[dict[str, Any], int]:
    """The partial result and the chunks carried over from an earlier run: read and merged once
    per chunk counted, then from Django's cache (the default one) until the next."""
    run = transcript.started.timestamp() if transcript.started else 0
    key = f"django_voxtral:partial:{transcript.pk}:{run}:{transcript.chunks_done}"
    found: tuple[dict[str, Any], int] | None = cache.get(key)
    if found is None:
        chunks = stored_chunks(transcript)
        found = (partial_result(chunks), carried_over(transcript, chunks))
        if chunks:
            cache.set(key, found, CACHE_SECONDS)
    return found


def live(transcript: Transcript, at: datetime | None = None) -> Live:
    """The partial result and the time left of ``transcript`` at ``at`` (default: now()).

    At most one query (stored_chunks), and none while the chunks counted are those of the last
    poll (arrived); a transcript not finished with nothing stored yet has an empty partial result.
    """
    if transcript.is_finished:
        return Live(None, None)
    partial, carried = arrived(transcript)
    return Live(partial, eta_seconds(transcript, now() if at is None else at, carried=carried))
