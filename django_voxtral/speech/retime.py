"""Edited text keeps its times: a segment's new words aligned to its old ones, and segments split
and merged with their words. Pure functions over results.Word.

Never import Django, touch a database, or invent a time outside the segment's own span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from .results import Word, join_text, round_time

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class TimedText:
    """One segment as an editor sees it: its span, its text, its words' times, its speaker."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None


def tokens(text: str) -> list[str]:
    """The words of a text as a person typed them, split at whitespace."""
    return text.split()


def _key(token: str) -> str:
    # "Hello," and "hello" are the same spoken word: case and punctuation do not move a time.
    return _NOT_WORD.sub("", token).casefold() or token


def clamp_words(words: Sequence[Word], start: float, end: float) -> tuple[Word, ...]:
    """The words moved inside [start, end]: a nudged segment never has a word outside it."""
    clamped: list[Word] = []
    for word in words:
        w_start = min(max(word.start, start), end)
        w_end = min(max(word.end, w_start), end)
        clamped.append(replace(word, start=round_time(w_start), end=round_time(w_end)))
    return tuple(clamped)


def retime_words(
    old_words: Sequence[Word],
    new_text: str,
    *,
    start: float,
    end: float,
    speaker: str | None = None,
) -> tuple[Word, ...]:
    """The words of ``new_text`` with times, given the segment's old words and its span.

    Words the edit left as they were (same word, case and punctuation aside) keep their times;
    a run replaced one for one (a spelling fixed) keeps the replaced words' times; any other
    run of new words is spread evenly between the unchanged words around it (or the segment's
    start and end). A segment without word times gets none: no time is invented where the
    service gave none. New words take ``speaker``; kept ones keep theirs.
    """
    new_tokens = tokens(new_text)
    if not new_tokens or not old_words:
        return ()
    old = list(clamp_words(sorted(old_words, key=lambda w: (w.start, w.end)), start, end))
    matcher = SequenceMatcher(
        None, [_key(w.text) for w in old], [_key(t) for t in new_tokens], autojunk=False
    )
    timed: list[Word | None] = [None] * len(new_tokens)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for offset in range(j2 - j1):
                timed[j1 + offset] = replace(old[i1 + offset], text=new_tokens[j1 + offset])
    return tuple(_spread(timed, new_tokens, start=start, end=end, speaker=speaker))


def _spread(
    timed: list[Word | None],
    new_tokens: list[str],
    *,
    start: float,
    end: float,
    speaker: str | None,
) -> list[Word]:
    """Fills each run of untimed words evenly between its timed neighbours."""
    words: list[Word] = []
    j = 0
    while j < len(timed):
        known = timed[j]
        if known is not None:
            words.append(known)
            j += 1
            continue
        run_end = j
        while run_end < len(timed) and timed[run_end] is None:
            run_end += 1
        after = timed[run_end] if run_end < len(timed) else None
        gap_start = words[-1].end if words else start
        gap_end = after.start if after is not None else end
        gap_end = max(gap_end, gap_start)
        step = (gap_end - gap_start) / (run_end - j)
        for k in range(run_end - j):
            words.append(
                Word(
                    round_time(gap_start + k * step),
                    round_time(gap_start + (k + 1) * step),
                    new_tokens[j + k],
                    speaker,
                )
            )
        j = run_end
    return words


def _text_words(segment: TimedText) -> tuple[Word, ...]:
    """The segment's words aligned to its text (none when it has no word times)."""
    return retime_words(
        segment.words, segment.text, start=segment.start, end=segment.end, speaker=segment.speaker
    )


def _token_times(segment: TimedText, timed: Sequence[Word]) -> list[tuple[float, float]]:
    """Each token of the segment's text with a time: its word's (``timed``: _text_words), else
    by its place in the text."""
    parts = tokens(segment.text)
    if len(timed) == len(parts):
        return [(w.start, w.end) for w in timed]
    # No word times: each token by its share of the characters.
    total = sum(len(p) for p in parts) or 1
    span = segment.end - segment.start
    times: list[tuple[float, float]] = []
    done = 0
    for part in parts:
        times.append(
            (segment.start + span * done / total, segment.start + span * (done + len(part)) / total)
        )
        done += len(part)
    return times


def _halves(
    segment: TimedText, words: Sequence[Word], cut: int, at: float
) -> tuple[TimedText, TimedText]:
    parts = tokens(segment.text)
    first_words = clamp_words(words[:cut], segment.start, at) if words else ()
    second_words = clamp_words(words[cut:], at, segment.end) if words else ()
    at = round_time(at)
    return (
        TimedText(segment.start, at, " ".join(parts[:cut]), first_words, segment.speaker),
        TimedText(at, segment.end, " ".join(parts[cut:]), second_words, segment.speaker),
    )


def split_at_time(segment: TimedText, at: float) -> tuple[TimedText, TimedText]:
    """The segment cut in two at ``at`` seconds: the words said before it go first.

    ValueError when ``at`` is not strictly inside the segment or the text has fewer than two
    words; each half keeps at least one word.
    """
    if not segment.start < at < segment.end:
        raise ValueError(
            f"{at:g} s is not inside the segment ({segment.start:g} s to {segment.end:g} s)"
        )
    words = _text_words(segment)
    times = _token_times(segment, words)
    if len(times) < 2:
        raise ValueError("a segment of one word cannot be split")
    before = sum(1 for w_start, w_end in times if (w_start + w_end) / 2 < at)
    return _halves(segment, words, min(max(before, 1), len(times) - 1), at)


def split_at_word(segment: TimedText, word: int) -> tuple[TimedText, TimedText]:
    """The segment cut in two before its word number ``word`` (from 0), at the gap's middle.

    ValueError when ``word`` is not from 1 to the number of words minus one.
    """
    words = _text_words(segment)
    times = _token_times(segment, words)
    if not 1 <= word < len(times):
        raise ValueError(
            f"word {word} cannot start the second half: give 1 to {len(times) - 1}"
            if len(times) > 1
            else "a segment of one word cannot be split"
        )
    at = (times[word - 1][1] + times[word][0]) / 2
    at = min(max(at, segment.start), segment.end)
    if not segment.start < at < segment.end:
        # Word times squeezed to an edge: cut by the text's share instead.
        at = segment.start + (segment.end - segment.start) * word / len(times)
    return _halves(segment, words, word, at)


def merge(first: TimedText, second: TimedText) -> TimedText:
    """Two neighbouring segments as one: from the first's start to the second's end, the texts
    joined by a space, the words of both; the first's speaker."""
    return TimedText(
        start=min(first.start, second.start),
        end=max(first.end, second.end),
        text=join_text((first.text, second.text)),
        words=(*first.words, *second.words),
        speaker=first.speaker,
    )


__all__ = [
    "TimedText",
    "clamp_words",
    "merge",
    "retime_words",
    "split_at_time",
    "split_at_word",
    "tokens",
]
