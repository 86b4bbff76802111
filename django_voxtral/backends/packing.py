"""Packs short chunks that arrive together into one Whisper window, and splits the answer back.

Never mix requests with different options in one window, and never move a word to a chunk
it was not said in: each word goes to the chunk its middle falls in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
#: Whisper sees 30 s at a time; packed audio stays a little under so it is one window.
WINDOW_SECONDS = 29.5
#: Silence put between packed chunks, so the model ends a segment there.
GAP_SECONDS = 0.5
#: How long the first request of a window waits for others that arrive with it.
GATHER_SECONDS = 0.03
MAX_GATHER_SECONDS = 0.25

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class EngineWord:
    start: float
    end: float
    text: str  # as the engine gives it, with its leading space


@dataclass(frozen=True, slots=True)
class EngineSegment:
    """One segment as the engine decoded it, with Whisper's own no-speech figures."""

    start: float
    end: float
    text: str
    no_speech_prob: float
    avg_logprob: float
    words: tuple[EngineWord, ...] = ()


@dataclass(frozen=True, slots=True)
class Decoded:
    segments: tuple[EngineSegment, ...]
    language: str | None


#: Runs the engine on 16 kHz samples with the options that ``key`` stands for.
Runner = Callable[[Samples, Hashable], Decoded]


def layout(durations: Sequence[float], gap: float = GAP_SECONDS) -> list[float]:
    """Where each chunk starts in the packed audio (seconds)."""
    offsets: list[float] = []
    at = 0.0
    for duration in durations:
        offsets.append(at)
        at += duration + gap
    return offsets


def _piece_of(t: float, bounds: Sequence[float]) -> int:
    for i, bound in enumerate(bounds):
        if t < bound:
            return i
    return len(bounds)


def unpack(
    decoded: Sequence[EngineSegment], offsets: Sequence[float], durations: Sequence[float]
) -> list[list[EngineSegment]]:
    """Each chunk's own segments, in its own timeline, from the packed window's segments.

    A segment whose words fall in two chunks is cut in two there; its text is rebuilt from
    the engine's words, which carry their punctuation.
    """
    # A chunk owns the packed time from the middle of the gap before it to the middle of the
    # gap after it.
    bounds = [(offsets[i] + durations[i] + offsets[i + 1]) / 2 for i in range(len(offsets) - 1)]
    out: list[list[EngineSegment]] = [[] for _ in offsets]

    def local(t: float, i: int) -> float:
        return min(max(t - offsets[i], 0.0), durations[i])

    for segment in decoded:
        groups: dict[int, list[EngineWord]] = {}
        for word in segment.words:
            groups.setdefault(_piece_of((word.start + word.end) / 2, bounds), []).append(word)
        if len(groups) <= 1:
            middle = (segment.start + segment.end) / 2
            i = next(iter(groups)) if groups else _piece_of(middle, bounds)
            out[i].append(
                replace(
                    segment,
                    start=local(segment.start, i),
                    end=local(segment.end, i),
                    words=tuple(
                        EngineWord(local(w.start, i), local(w.end, i), w.text)
                        for w in segment.words
                    ),
                )
            )
            continue
        for i, words in sorted(groups.items()):
            out[i].append(
                replace(
                    segment,
                    start=local(words[0].start, i),
                    end=local(words[-1].end, i),
                    text="".join(w.text for w in words),
                    words=tuple(
                        EngineWord(local(w.start, i), local(w.end, i), w.text) for w in words
                    ),
                )
            )
    return out


@dataclass(eq=False)
class _Request:
    key: Hashable
    samples: Samples
    duration: float
    done: bool = False
    result: list[EngineSegment] = field(default_factory=list)
    language: str | None = None
    error: BaseException | None = None


class Packer:
    """Gathers concurrent requests and runs them a window at a time on one engine.

    The first caller to find the engine idle runs the next window for everyone waiting (its
    own request may be in a later one); the others sleep until theirs is done. ``parallel``
    windows run at once, each as full as the queue allows: measured, sharing the queue out
    between idle workers gave half-full windows that were no faster and read worse.
    """

    def __init__(
        self,
        run: Runner,
        *,
        window_seconds: float = WINDOW_SECONDS,
        gap_seconds: float = GAP_SECONDS,
        gather_seconds: float = GATHER_SECONDS,
        parallel: int = 1,
    ) -> None:
        self._run = run
        self.window_seconds = window_seconds
        self.gap_seconds = gap_seconds
        self.gather_seconds = gather_seconds
        self._queue: list[_Request] = []
        self.parallel = parallel
        self._running = 0
        self._changed = threading.Condition()

    def transcribe(
        self, samples: Samples, duration: float, key: Hashable
    ) -> tuple[list[EngineSegment], str | None]:
        """This request's segments (in its own timeline) and the window's language."""
        request = _Request(key, samples, duration)
        with self._changed:
            self._queue.append(request)
            self._changed.notify_all()
        while True:
            with self._changed:
                while not request.done and (self._running >= self.parallel or not self._queue):
                    self._changed.wait()
                if request.done:
                    break
                self._running += 1
            try:
                self._gather()
                batch = self._take()
                self._run_window(batch)
            finally:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()
        if request.error is not None:
            raise request.error
        return request.result, request.language

    def _gather(self) -> None:
        # Chunks sent together reach here a few milliseconds apart: wait until none has come
        # for gather_seconds (or enough audio for a window is waiting) before packing.
        if self.gather_seconds <= 0 or self.window_seconds <= 0:
            return
        began = time.monotonic()
        with self._changed:
            while time.monotonic() - began < MAX_GATHER_SECONDS:
                queued = sum(r.duration + self.gap_seconds for r in self._queue)
                if queued >= self.window_seconds:
                    return
                count = len(self._queue)
                self._changed.wait(self.gather_seconds)
                if len(self._queue) == count:
                    return

    def _take(self) -> list[_Request]:
        with self._changed:
            if not self._queue:  # another window took them all while this one gathered
                return []
            first = self._queue.pop(0)
            batch = [first]
            total = first.duration
            if total <= self.window_seconds:
                for request in list(self._queue):
                    if request.key != first.key:
                        continue
                    grown = total + self.gap_seconds + request.duration
                    if grown > self.window_seconds:
                        continue
                    batch.append(request)
                    self._queue.remove(request)
                    total = grown
            return batch

    def _run_window(self, batch: list[_Request]) -> None:
        if not batch:
            return
        try:
            if len(batch) == 1:
                decoded = self._run(batch[0].samples, batch[0].key)
                pieces = [list(decoded.segments)]
            else:
                gap = np.zeros(round(self.gap_seconds * SAMPLE_RATE), dtype=np.float32)
                parts: list[Samples] = []
                for request in batch:
                    parts += [request.samples, gap]
                durations = [r.samples.size / SAMPLE_RATE for r in batch]
                decoded = self._run(np.concatenate(parts[:-1]), batch[0].key)
                offsets = layout(durations, self.gap_seconds)
                pieces = unpack(decoded.segments, offsets, durations)
        except BaseException as exc:
            # Every request of the window gets the error, the leader's own or not; an interrupt
            # still goes on up after that, so that nobody waits for a window that never ends.
            with self._changed:
                for request in batch:
                    request.error = exc
                    request.done = True
            if not isinstance(exc, Exception):
                raise
            return
        with self._changed:
            for request, segments in zip(batch, pieces, strict=True):
                request.result = segments
                request.language = decoded.language
                request.done = True
