"""Packs neighbouring short chunks into one Whisper window, and splits the answer back.

Never let timing decide a pack (the same chunks always pack the same way), and never move a
word to a chunk it was not said in: each word goes to the chunk its middle falls in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
#: Whisper sees 30 s at a time; packed audio stays a little under so it is one window.
WINDOW_SECONDS = 29.5
#: Silence put between packed chunks, so the model ends a segment there.
GAP_SECONDS = 0.5

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
    #: Whether the engine's own words fail Whisper's hallucination test (no_speech.is_anomalous),
    #: judged on the segment as decoded, before any split: like the two figures above.
    anomalous: bool = False


@dataclass(frozen=True, slots=True)
class Decoded:
    segments: tuple[EngineSegment, ...]
    language: str | None


def pack_sizes(
    durations: Sequence[float], window: float = WINDOW_SECONDS, gap: float = GAP_SECONDS
) -> list[int]:
    """How many consecutive chunks go in each window: as many as fit in ``window`` seconds
    with ``gap`` between them (a chunk longer than the window goes alone); 0 packs nothing.

    Only the durations decide, so a file always packs the same way.
    """
    sizes: list[int] = []
    total = 0.0
    for duration in durations:
        grown = total + gap + duration
        if sizes and window > 0 and grown <= window:
            sizes[-1] += 1
            total = grown
        else:
            sizes.append(1)
            total = duration
    return sizes


def pack(pieces: Sequence[Samples], gap: float = GAP_SECONDS) -> tuple[Samples, list[float]]:
    """The pieces one after the other with ``gap`` of silence between, and where each starts."""
    durations = [p.size / SAMPLE_RATE for p in pieces]
    silence = np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32)
    parts: list[Samples] = []
    for piece in pieces:
        parts += [piece, silence]
    joined = np.concatenate(parts[:-1]) if parts else np.zeros(0, dtype=np.float32)
    return joined.astype(np.float32, copy=False), layout(durations, gap)


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
