"""Collapses repetition loops: one phrase over and over, a known failure of speech models.

Never drop text silently: every collapsed repeat is listed in the result's ``dropped``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .results import DroppedText, Segment, TranscriptionResult, Word

#: The longest phrase (in words) looked for as the unit of a loop.
MAX_UNIT_WORDS = 16
#: The longest run of whole segments looked for as the unit of a loop.
MAX_UNIT_SEGMENTS = 4

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_TRAILING_PUNCTUATION = re.compile(r"[^\w]*$", re.UNICODE)


def min_repeats(unit_words: int) -> int:
    """How many times a phrase of ``unit_words`` words must occur in a row to be a loop.

    People do say "no no no" or "thank you, thank you": short phrases need more repeats before
    they count as a loop than long ones, which people almost never say three times running.
    """
    if unit_words <= 1:
        return 5
    if unit_words == 2:
        return 4
    return 3


def _key(token: str) -> str:
    # Case and punctuation differ between the repeats of a loop ("Thank you." "thank you,").
    key = _NOT_WORD.sub("", token).casefold()
    return key or token


@dataclass(frozen=True, slots=True)
class Loop:
    """A loop found in a sequence: ``unit`` items from ``start`` occur ``repeats`` times."""

    start: int
    unit: int
    repeats: int

    @property
    def kept_end(self) -> int:
        return self.start + self.unit

    @property
    def end(self) -> int:
        return self.start + self.unit * self.repeats


def find_loops(
    keys: Sequence[str],
    *,
    max_unit: int = MAX_UNIT_WORDS,
    needed: Callable[[int, int], int] | None = None,
) -> list[Loop]:
    """The loops in ``keys``, left to right, never overlapping.

    ``needed(start, unit)`` says how many repeats make a loop of the unit at ``start`` (by
    default ``min_repeats(unit)``); at each place the loop covering the most items wins, and
    among those the shortest unit, so "a a a a a a" is one word six times, not "a a" thrice.
    """
    needed = needed or (lambda _start, unit: min_repeats(unit))
    loops: list[Loop] = []
    i = 0
    count = len(keys)
    while i < count:
        best: Loop | None = None
        for unit in range(1, min(max_unit, (count - i) // 2) + 1):
            repeats = 1
            while (
                i + (repeats + 1) * unit <= count
                and keys[i + repeats * unit : i + (repeats + 1) * unit] == keys[i : i + unit]
            ):
                repeats += 1
            if repeats >= needed(i, unit) and (
                best is None or unit * repeats > best.unit * best.repeats
            ):
                best = Loop(i, unit, repeats)
        if best is None:
            i += 1
        else:
            loops.append(best)
            i = best.end
    return loops


def collapse_text(text: str) -> tuple[str, list[str]]:
    """``text`` with each loop kept once, and the repeats that were removed."""
    tokens = text.split()
    loops = find_loops([_key(t) for t in tokens])
    if not loops:
        return text, []
    kept: list[str] = []
    removed: list[str] = []
    position = 0
    for loop in loops:
        unit = tokens[position : loop.kept_end]
        # The loop's last repeat may end the sentence: the one kept ends it instead.
        ending = _TRAILING_PUNCTUATION.search(tokens[loop.end - 1])
        if ending and ending.group() and unit:
            unit[-1] = _TRAILING_PUNCTUATION.sub("", unit[-1]) + ending.group()
        kept.extend(unit)
        removed.append(" ".join(tokens[loop.kept_end : loop.end]))
        position = loop.end
    kept.extend(tokens[position:])
    return " ".join(kept), removed


def _collapse_words(words: Sequence[Word]) -> list[Word]:
    loops = find_loops([_key(w.text) for w in words])
    kept: list[Word] = []
    position = 0
    for loop in loops:
        kept.extend(words[position : loop.kept_end])
        position = loop.end
    kept.extend(words[position:])
    return kept


def _collapse_segments(segments: Sequence[Segment]) -> tuple[list[Segment], list[DroppedText]]:
    keys = [" ".join(_key(t) for t in s.text.split()) for s in segments]
    sizes = [len(s.text.split()) for s in segments]

    def needed(start: int, unit: int) -> int:
        return min_repeats(sum(sizes[start : start + unit]))

    loops = find_loops(keys, max_unit=MAX_UNIT_SEGMENTS, needed=needed)
    kept: list[Segment] = []
    dropped: list[DroppedText] = []
    position = 0
    for loop in loops:
        kept.extend(segments[position : loop.kept_end])
        gone = segments[loop.kept_end : loop.end]
        dropped.append(
            DroppedText(
                gone[0].start, gone[-1].end, " ".join(s.text.strip() for s in gone), "repetition"
            )
        )
        position = loop.end
    kept.extend(segments[position:])
    within: list[Segment] = []
    for segment in kept:
        text, removed = collapse_text(segment.text)
        if removed:
            dropped.extend(
                DroppedText(segment.start, segment.end, r, "repetition") for r in removed
            )
            segment = replace(segment, text=text)
        within.append(segment)
    return within, dropped


def collapse_repetitions(result: TranscriptionResult) -> TranscriptionResult:
    """``result`` with repetition loops in its segments, words and text kept once.

    Whole segments repeated in a row go first, then loops inside a segment's text (the text
    of a result without segments likewise); what was removed is added to ``dropped`` with its
    segment's times. Words are a time index of the same text: their loops are removed the
    same way and not reported a second time.
    """
    if result.segments:
        segments, dropped = _collapse_segments(result.segments)
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
    else:
        segments = []
        text, removed = collapse_text(result.text)
        dropped = [DroppedText(0.0, float(result.duration), r, "repetition") for r in removed]
    if not dropped:
        return result
    return replace(
        result,
        text=text,
        segments=tuple(replace(s, id=i) for i, s in enumerate(segments)),
        words=tuple(_collapse_words(result.words)),
        dropped=tuple(sorted((*result.dropped, *dropped), key=lambda d: d.start)),
    )
