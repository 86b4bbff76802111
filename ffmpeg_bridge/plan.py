"""Where to cut audio into chunks: pure functions over per-frame energies, testable without audio.

Never read files or run processes here; never depend on how the caller's reads were sized.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
Int16Array = npt.NDArray[np.int16]

#: Lowest level reported for a frame (digital silence), in dBFS.
SILENCE_DB = -100.0
_HIST_STEP = 0.5
_HIST_BINS = int(-SILENCE_DB / _HIST_STEP) + 1


@dataclass(frozen=True, slots=True)
class SplitSettings:
    """How split() finds silences and cuts. Times are seconds; levels are dBFS of 20 ms frames."""

    sample_rate: int = 16000
    #: Length of one analysis frame.
    frame_seconds: float = 0.02
    #: Frames are classified in blocks of this length, each with the level statistics of all
    #: audio up to the block's end: the same file always gives the same classification.
    block_seconds: float = 10.0
    #: A pause at least this long is a place to cut a chunk.
    min_cut_silence: float = 0.2
    #: A pause this long is as good a place to cut as a longer one; among such pauses the
    #: latest wins, so chunks are full and the service hears whole phrases with their context.
    good_pause: float = 0.5
    #: A pause at least this long is not sent: the chunk before it ends, the next starts later.
    long_silence: float = 2.0
    #: Audio kept around speech where a chunk skips a long silence.
    pad: float = 0.25
    #: A chunk with less speech than this (a click in a long silence) is not sent.
    min_speech: float = 0.1
    #: Below this level a frame is silence, however quiet the recording.
    floor_db: float = -70.0
    #: The threshold sits this far (as a share) from the noise level towards the speech level...
    relative_share: float = 0.35
    #: ...but at least this far above the noise level...
    min_margin_db: float = 6.0
    #: ...and at least this far below the speech level, so a loud, flat recording is still speech.
    below_speech_db: float = 10.0
    #: A recording that never rises this far above its own noise, and stays under quiet_db,
    #: is room tone: all silence.
    flat_range_db: float = 6.0
    quiet_db: float = -45.0
    #: Percentiles of frame levels taken as the noise level and as the speech level.
    noise_percentile: float = 10.0
    speech_percentile: float = 95.0

    @property
    def frame(self) -> int:
        return round(self.sample_rate * self.frame_seconds)

    @property
    def block_frames(self) -> int:
        return max(1, round(self.block_seconds / self.frame_seconds))

    def frames(self, seconds: float) -> int:
        return max(1, round(seconds / self.frame_seconds))


DEFAULT_SETTINGS = SplitSettings()


def frame_energy_db(samples: Int16Array, frame: int) -> FloatArray:
    """Mean power of each frame in dBFS; a last, shorter frame counts over its own samples."""
    count = len(samples)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    whole = count // frame
    x = samples.astype(np.float32) * np.float32(1 / 32768)
    power = np.empty(whole + (1 if count % frame else 0), dtype=np.float32)
    if whole:
        body = x[: whole * frame].reshape(whole, frame)
        power[:whole] = np.einsum("ij,ij->i", body, body) / np.float32(frame)
    if count % frame:
        tail = x[whole * frame :]
        power[whole] = np.dot(tail, tail) / np.float32(len(tail))
    floor = np.float32(10 ** (SILENCE_DB / 10))
    result: FloatArray = (np.float32(10) * np.log10(np.maximum(power, floor))).astype(np.float32)
    return result


def speech_threshold(noise_db: float, speech_db: float, s: SplitSettings) -> float:
    """The level above which a frame is speech, given the recording's noise and speech levels."""
    spread = speech_db - noise_db
    if spread < s.flat_range_db and speech_db < s.quiet_db:
        return speech_db + 1.0
    relative = noise_db + max(s.min_margin_db, s.relative_share * spread)
    return max(s.floor_db, min(relative, speech_db - s.below_speech_db))


class LevelClassifier:
    """Classifies frames as speech or silence, block by block, adapting to the recording's level.

    Feed it blocks of exactly `settings.block_frames` frames (the last may be shorter).
    """

    def __init__(self, settings: SplitSettings = DEFAULT_SETTINGS) -> None:
        self.settings = settings
        self.histogram = np.zeros(_HIST_BINS, dtype=np.int64)
        self.thresholds: list[float] = []

    def percentile(self, q: float) -> float:
        total = int(self.histogram.sum())
        if total == 0:
            return SILENCE_DB
        rank = q / 100.0 * (total - 1)
        index = int(np.searchsorted(np.cumsum(self.histogram), rank, side="right"))
        return SILENCE_DB + min(index, _HIST_BINS - 1) * _HIST_STEP

    def classify(self, energy_db: FloatArray) -> BoolArray:
        bins = np.clip(((energy_db - SILENCE_DB) / _HIST_STEP).astype(np.int64), 0, _HIST_BINS - 1)
        self.histogram += np.bincount(bins, minlength=_HIST_BINS)
        s = self.settings
        threshold = speech_threshold(
            self.percentile(s.noise_percentile), self.percentile(s.speech_percentile), s
        )
        self.thresholds.append(threshold)
        speech: BoolArray = energy_db > threshold
        return speech


def classify_all(energy_db: FloatArray, settings: SplitSettings = DEFAULT_SETTINGS) -> BoolArray:
    """Speech mask of a whole recording, exactly as the streaming split computes it."""
    classifier = LevelClassifier(settings)
    step = settings.block_frames
    parts = [classifier.classify(energy_db[i : i + step]) for i in range(0, len(energy_db), step)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.bool_)


def runs(mask: BoolArray) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of True in mask, end exclusive."""
    if len(mask) == 0:
        return
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        yield int(start), int(end)


def choose_cut(energy_db: FloatArray, speech: BoolArray, lo: int, hi: int, s: SplitSettings) -> int:
    """Where to cut a stretch of speech that must end by `hi` (frame index, relative to arrays).

    The best pause in (lo, hi]: the longest (up to `good_pause`), preferably late; the cut is in
    its middle. With no pause, the quietest moment of the window's second half.
    """
    min_run = s.frames(s.min_cut_silence)
    cap = s.frames(s.good_pause)
    width = max(hi - lo, 1)
    best: tuple[float, int] | None = None
    for start, end in runs(~speech[lo + 1 : hi + 1]):
        length = end - start
        if length < min_run or start == 0:  # a pause the chunk starts in is no place to end it
            continue
        middle = lo + 1 + (start + end) // 2
        score = min(length, cap) * (1.0 + (middle - lo) / width)
        if best is None or score > best[0]:
            best = (score, middle)
    if best is not None:
        return best[1]
    first = lo + max(1, width // 2)
    window = energy_db[first : hi + 1].astype(np.float64)
    smooth = np.convolve(window, np.ones(5) / 5, mode="same") if len(window) >= 5 else window
    return first + int(np.argmin(smooth))


class ChunkPlanner:
    """Turns a stream of classified frames into chunk spans (start, end) in frames.

    Decisions depend only on the frames, never on how they were fed: a chunk is decided once the
    frames up to its latest end plus a long silence are known (or the stream ended).
    """

    def __init__(
        self, max_chunk_seconds: float, settings: SplitSettings = DEFAULT_SETTINGS
    ) -> None:
        self.s = settings
        self.max_frames = settings.frames(max_chunk_seconds)
        self.long = settings.frames(settings.long_silence)
        self.pad = min(settings.frames(settings.pad), max(1, self.max_frames // 4))
        self.min_speech = settings.frames(settings.min_speech)
        self.total = 0  # frames fed so far
        self.buf_start = 0  # absolute index of the first buffered frame
        self._energy: FloatArray = np.zeros(0, dtype=np.float32)
        self._speech: BoolArray = np.zeros(0, dtype=np.bool_)
        self.chunk_start: int | None = None
        self.floor = 0  # no chunk may start before this frame (end of the last one)

    @property
    def keep_from(self) -> int:
        """Earliest frame still needed: audio before it may be dropped."""
        return self.buf_start

    def feed(self, energy_db: FloatArray, speech: BoolArray) -> list[tuple[int, int]]:
        self._energy = np.concatenate((self._energy, energy_db))
        self._speech = np.concatenate((self._speech, speech))
        self.total += len(energy_db)
        return self._advance(eof=False)

    def finish(self) -> list[tuple[int, int]]:
        return self._advance(eof=True)

    def _drop_before(self, frame: int) -> None:
        cut = frame - self.buf_start
        if cut > 0:
            self._energy = self._energy[cut:]
            self._speech = self._speech[cut:]
            self.buf_start = frame

    def _emit(self, out: list[tuple[int, int]], start: int, end: int) -> None:
        speech = int(self._speech[start - self.buf_start : end - self.buf_start].sum())
        if end > start and speech >= self.min_speech:
            out.append((start, end))
        self.floor = end

    def _advance(self, *, eof: bool) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        while True:
            if self.chunk_start is None:
                rel = max(self.floor - self.buf_start, 0)
                hits = np.flatnonzero(self._speech[rel:])
                if len(hits) == 0:
                    if not eof:
                        self._drop_before(max(self.floor, self.total - self.pad))
                    return out
                first = self.buf_start + rel + int(hits[0])
                self.chunk_start = max(first - self.pad, self.floor)
                self._drop_before(self.chunk_start)
            start = self.chunk_start
            limit = start + self.max_frames
            if self.total < limit + self.long and not eof:
                return out
            end = self._chunk_end(start, limit, eof)
            if end is None:  # the chunk is too long: cut inside it and go on
                lo, hi = start - self.buf_start, limit - self.buf_start
                cut = self.buf_start + choose_cut(self._energy, self._speech, lo, hi, self.s)
                end, next_start = self._around_cut(cut, start)
                self._emit(out, start, end)
                self.chunk_start = next_start
                self._drop_before(next_start)
                continue
            self._emit(out, start, end)
            self.chunk_start = None
            self._drop_before(end)

    def _around_cut(self, cut: int, start: int) -> tuple[int, int]:
        """Where the chunk before a cut ends and the next begins: with a pause longer than two
        pads, the middle of the pause is sent with neither."""
        base = self.buf_start
        rel = cut - base
        if self._speech[rel]:
            return cut, cut
        before = np.flatnonzero(self._speech[start - base : rel])
        pause_start = start + int(before[-1]) + 1 if len(before) else start
        after = np.flatnonzero(self._speech[rel:])
        pause_end = cut + int(after[0]) if len(after) else self.total
        return min(pause_start + self.pad, cut), max(pause_end - self.pad, cut)

    def _chunk_end(self, start: int, limit: int, eof: bool) -> int | None:
        """End of the chunk at `start` if speech stops before `limit`, else None."""
        base = self.buf_start
        known = self.total
        speech = self._speech[start - base : min(limit + self.long, known) - base]
        for run_start, run_end in runs(~speech):
            silence_start = start + run_start
            if silence_start > limit:
                break
            long_enough = run_end - run_start >= self.long
            reaches_eof = eof and start + run_end >= known
            if run_start > 0 and (long_enough or reaches_eof):
                return min(silence_start + self.pad, limit, known)
        if eof and known <= limit:
            return known
        return None


def plan_chunks(
    energy_db: FloatArray,
    max_chunk_seconds: float,
    settings: SplitSettings = DEFAULT_SETTINGS,
    speech: BoolArray | None = None,
) -> list[tuple[int, int]]:
    """Chunk spans (start, end) in frames for a whole recording's frame energies."""
    if speech is None:
        speech = classify_all(energy_db, settings)
    planner = ChunkPlanner(max_chunk_seconds, settings)
    spans = planner.feed(energy_db, speech)
    return spans + planner.finish()
