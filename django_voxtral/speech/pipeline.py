"""The one place media meets speech: probe, split at silences, send chunks concurrently, merge.

Never import Django here, and never keep state between calls: the Django task persists chunks.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import ffmpeg_bridge
from ffmpeg_bridge import Chunk

from .backends.base import SpeechBackend
from .backends.errors import SpeechError
from .backends.options import TranscriptionOptions
from .repetitions import collapse_repetitions
from .results import ChunkResult, TranscriptionResult, merge_chunk_results

logger = logging.getLogger(__name__)

#: Share of the overall progress given to splitting; sending chunks is the rest.
SPLIT_SHARE = 0.2
#: Chunk times match a stored result when they differ by less than this (seconds).
TIME_TOLERANCE = 0.0015

Stage = Literal["splitting", "transcribing", "done"]


@dataclass(frozen=True, slots=True)
class PipelineProgress:
    """Where a transcription stands; ``fraction`` is the whole job's, from 0 to 1."""

    stage: Stage
    fraction: float
    chunks_done: int = 0
    chunks_total: int = 0


class PipelineError(Exception):
    """Base class of the errors the pipeline adds to those of the floors below."""


class ChunkFailed(PipelineError):
    """A chunk still failed after the backend's retries; names the chunk and its time range."""

    def __init__(self, chunk: Chunk, cause: BaseException) -> None:
        self.chunk_index = chunk.index
        self.start = chunk.start
        self.end = chunk.end
        self.cause = cause
        super().__init__(
            f"chunk {chunk.index} ({format_clock(chunk.start)}-{format_clock(chunk.end)}) "
            f"failed: {cause}"
        )


def format_clock(seconds: float) -> str:
    """H:MM:SS.s for messages a person reads."""
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}"


ProgressCallback = Callable[[PipelineProgress], None]
ChunkCallback = Callable[[ChunkResult], None]
PeaksCallback = Callable[[ffmpeg_bridge.Peaks], None]


def _matches(stored: ChunkResult, chunk: Chunk) -> bool:
    return (
        abs(stored.start - chunk.start) < TIME_TOLERANCE
        and abs(stored.end - chunk.end) < TIME_TOLERANCE
    )


def transcribe_media(
    path: str | Path,
    backend: SpeechBackend,
    options: TranscriptionOptions | None = None,
    *,
    max_chunk_seconds: float = 30,
    concurrency: int = 8,
    progress: ProgressCallback | None = None,
    on_chunk: ChunkCallback | None = None,
    done_chunks: Iterable[ChunkResult] = (),
    max_media_seconds: float | None = None,
    chunk_format: str = "flac",
    detector: str = "auto",
    workdir: str | Path | None = None,
    info: ffmpeg_bridge.MediaInfo | None = None,
    on_peaks: PeaksCallback | None = None,
) -> TranscriptionResult:
    """Transcribes any audio or video file into one result in the media's own timeline.

    ``on_chunk`` is called in the calling thread with each chunk's result as it arrives, so a
    caller can store it; ``done_chunks`` are results stored by an earlier, interrupted run:
    a chunk with the same index and times is not sent again. Raises the media floor's errors
    (not a media file, no audio, too long), the backend's errors for invalid options, and
    ChunkFailed when a chunk still fails after its retries. ``detector`` is how the split finds
    speech (see ffmpeg_bridge.split): only chunks with speech in them are sent. The chunk files
    live in a temporary folder inside ``workdir`` (default: the system's temporary folder),
    removed at the end. ``info`` is the caller's own probe of ``path``, so ffprobe runs once.
    ``on_peaks`` is called once in the calling thread, as soon as the split is done and before
    any chunk is sent, with the waveform's peaks over the whole media (ffmpeg_bridge.Peaks,
    from the same decode); they are not part of the result.
    """
    options = options or TranscriptionOptions()
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, not {concurrency}")
    if not 1 <= max_chunk_seconds <= 30 * 60:
        raise ValueError(f"max_chunk_seconds must be from 1 to 1800, not {max_chunk_seconds}")
    backend.check_options(options)
    report = progress or (lambda _p: None)

    if info is None:
        info = ffmpeg_bridge.probe(path)
    with tempfile.TemporaryDirectory(prefix="voxtral-chunks-", dir=workdir) as chunk_dir:
        report(PipelineProgress("splitting", 0.0))
        chunks = ffmpeg_bridge.split(
            path,
            chunk_dir,
            max_chunk_seconds=max_chunk_seconds,
            fmt=chunk_format,
            detector=detector,
            progress=lambda f: report(PipelineProgress("splitting", SPLIT_SHARE * f)),
            max_media_seconds=max_media_seconds,
            info=info,
        )
        if on_peaks is not None:
            on_peaks(chunks.peaks)
        stored = {piece.index: piece for piece in done_chunks}
        results: list[ChunkResult] = []
        pending: list[Chunk] = []
        for chunk in chunks:
            known = stored.get(chunk.index)
            if known is not None and _matches(known, chunk):
                results.append(known)
            else:
                pending.append(chunk)
        if stored and len(results) < len(stored):
            logger.info(
                "%d stored chunk results did not match this split; they are sent again",
                len(stored) - len(results),
            )

        def step() -> None:
            share = len(results) / len(chunks) if chunks else 1.0
            report(
                PipelineProgress(
                    "transcribing",
                    SPLIT_SHARE + (1 - SPLIT_SHARE) * share,
                    chunks_done=len(results),
                    chunks_total=len(chunks),
                )
            )

        step()
        # closing(): when on_chunk raises, the pool stops and waits for its requests now,
        # before the chunk files they read are removed, not whenever the generator is collected.
        with contextlib.closing(
            _send_concurrently(pending, backend, options, concurrency)
        ) as arriving:
            for piece in arriving:
                results.append(piece)
                if on_chunk is not None:
                    on_chunk(piece)
                step()

    # A WebM recorded in a browser states no duration: the decoder's count is the real one.
    duration = info.duration if info.duration > 0 else chunks.decoded_seconds
    # Stored chunk results stay as the service gave them (what was paid for); loops are
    # collapsed in what is returned, and listed in its ``dropped``.
    cleaned = [replace(p, result=collapse_repetitions(p.result)) for p in results]
    merged = merge_chunk_results(cleaned, duration=duration)
    if merged.language is None and options.language and options.task == "transcribe":
        merged = replace(merged, language=options.language)
    report(PipelineProgress("done", 1.0, chunks_done=len(chunks), chunks_total=len(chunks)))
    return merged


def packs(chunks: list[Chunk], backend: SpeechBackend) -> list[list[Chunk]]:
    """The chunks grouped as the backend packs them (neighbours only; one each for a service
    that bills per request): the grouping depends only on the chunks, never on timing."""
    sizes = backend.pack_sizes([c.duration for c in chunks])
    if sum(sizes) != len(chunks) or any(size < 1 for size in sizes):
        raise ValueError(f"{backend!r}.pack_sizes() must cover the {len(chunks)} chunks in order")
    groups: list[list[Chunk]] = []
    at = 0
    for size in sizes:
        groups.append(chunks[at : at + size])
        at += size
    return groups


def _send_concurrently(
    chunks: list[Chunk], backend: SpeechBackend, options: TranscriptionOptions, concurrency: int
) -> Generator[ChunkResult]:
    """Yields each chunk's result as it arrives, at most ``concurrency`` requests at once.

    A request is one chunk, or a pack of neighbouring chunks for a backend that packs them.
    On the first failure no new request is started; those already in flight are still
    yielded (their results are paid for), then ChunkFailed is raised.
    """
    if not chunks:
        return
    failure: ChunkFailed | None = None

    def send(group: list[Chunk]) -> list[ChunkResult]:
        try:
            if len(group) == 1:
                answers = [backend.transcribe(group[0].path, options)]
            else:
                answers = backend.transcribe_many([c.path for c in group], options)
        except (SpeechError, OSError) as exc:
            raise ChunkFailed(group[0], exc) from exc
        return [
            ChunkResult(chunk.index, chunk.start, chunk.end, answer)
            for chunk, answer in zip(group, answers, strict=True)
        ]

    queue = iter(packs(chunks, backend))
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="voxtral-chunk")
    try:
        in_flight: set[Future[list[ChunkResult]]] = set()

        def fill() -> None:
            while failure is None and len(in_flight) < concurrency:
                group = next(queue, None)
                if group is None:
                    return
                in_flight.add(pool.submit(send, group))

        fill()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                in_flight.discard(future)
                try:
                    pieces = future.result()
                except ChunkFailed as exc:
                    failure = failure or exc
                    continue
                yield from pieces
            fill()
    finally:
        # Reached also when the caller stops early (its on_chunk raised): start nothing new.
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        raise failure
