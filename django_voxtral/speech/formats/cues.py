"""Readable subtitle cues from a result: short lines, few of them, shown no longer than speech.

Pure layout on the result's text and times; never write a file format's syntax or invent times
that the result does not imply.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from ..results import TranscriptionResult, Word
from .speakers import turn_prefix
from .text import Unit, clean, join_texts, join_units, match_key, units, width
from .timecode import to_ms

# A pause this long inside a segment is where a cue should end (and must not be spanned).
_PAUSE_MS = 1000
_SHORT_PAUSE_MS = 300


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` (seconds, whole milliseconds), 1+ lines."""

    start: float
    end: float
    lines: tuple[str, ...]
    #: Who says the cue (the result's label, not yet as shown); a cue never has two speakers.
    speaker: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)


@dataclass(frozen=True, slots=True)
class _Layout:
    max_chars: int
    max_lines: int
    max_ms: int
    min_ms: int


@dataclass(frozen=True, slots=True)
class _Timed:
    unit: Unit
    start: int  # ms
    end: int  # ms
    speaker: str | None = None  # the speaker of the word the unit was matched to


@dataclass(frozen=True, slots=True)
class _Span:
    """A stretch of speech to lay out: a segment, or the whole result when it has none."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    speaker: str | None = None


def make_cues(
    result: TranscriptionResult,
    *,
    max_chars_per_line: int = 42,
    max_lines: int = 2,
    max_seconds: float = 7.0,
    min_seconds: float = 0.8,
    speaker_prefixes: bool = False,
) -> list[Cue]:
    """Lays the result out as subtitle cues, in order and never overlapping.

    Each segment becomes one cue or, when long, several: at most ``max_lines`` lines of at most
    ``max_chars_per_line`` columns (a CJK character counts two), shown at most ``max_seconds``.
    Where the result has word times inside a segment, cues split between words at the words'
    own times (a pause is a preferred place to split, and a cue never spans a pause of a second
    or more when it can be avoided); without word times the segment's time is shared in
    proportion to the text's length. Splits prefer sentence ends, then clause ends; lines are
    balanced and break at spaces, inside a word only when the word alone is longer than a line.
    A cue lasts at least ``min_seconds`` unless the next cue starts sooner. A result without
    segments is laid out from its words, or else its text over its whole duration.

    Each cue has one speaker (or none): a segment whose words name different speakers is cut
    where the speaker changes. With ``speaker_prefixes``, the first line of each speaker's turn
    keeps room for the ``Speaker 1: `` prefix that SRT writes there.
    """
    if max_chars_per_line < 2:
        raise ValueError(f"max_chars_per_line must be 2 or more, not {max_chars_per_line}")
    if max_lines < 1:
        raise ValueError(f"max_lines must be 1 or more, not {max_lines}")
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number, not {max_seconds}")
    if not (math.isfinite(min_seconds) and 0 <= min_seconds <= max_seconds):
        raise ValueError(
            f"min_seconds must be from 0 to max_seconds ({max_seconds}), not {min_seconds}"
        )
    layout = _Layout(
        max_chars=max_chars_per_line,
        max_lines=max_lines,
        max_ms=max(to_ms(max_seconds), 1),
        min_ms=max(to_ms(min_seconds), 1),
    )
    raw: list[_Raw] = []
    previous: str | None = None
    for span in _spans(result):
        for speaker, timed in _turns(_timed_units(span, layout.max_chars), span.speaker):
            if speaker_prefixes and speaker is not None and speaker != previous:
                # Room for the prefix on the turn's first line, so that line still fits.
                first = timed[0]
                room = width(turn_prefix(speaker))
                timed[0] = replace(first, unit=replace(first.unit, width=first.unit.width + room))
            previous = speaker
            for a, b in _plan(timed, layout):
                lines = _wrap([t.unit for t in timed[a:b]], layout.max_chars, layout.max_lines)
                raw.append((timed[a].start, timed[b - 1].end, tuple(lines), speaker))
    return _settle(raw, layout)


def _turns(timed: list[_Timed], speaker: str | None) -> list[tuple[str | None, list[_Timed]]]:
    """The span's units cut where the speaker of their words changes, with each turn's speaker.

    Units without a word of their own stay in the turn they are in; when the words name at most
    one speaker, the span is one turn, of the segment's speaker if it has one.
    """
    if not timed:
        return []
    named = {t.speaker for t in timed if t.speaker is not None}
    if len(named) <= 1:
        return [(speaker or next(iter(named), None), timed)]
    turns: list[tuple[str | None, list[_Timed]]] = []
    for t in timed:
        if not turns or (t.speaker is not None and t.speaker != turns[-1][0]):
            if turns and turns[-1][0] is None:
                turns[-1] = (t.speaker, turns[-1][1])  # the units before the first named word
            else:
                turns.append((t.speaker, []))
        turns[-1][1].append(t)
    return turns


def _spans(result: TranscriptionResult) -> list[_Span]:
    words = sorted(result.words, key=lambda w: (w.start, w.end))
    segments = sorted((s for s in result.segments if clean(s.text)), key=lambda s: (s.start, s.end))
    if not segments:
        if words:
            text = join_texts(w.text for w in words)
            if text:
                return [_Span(words[0].start, max(w.end for w in words), text, tuple(words))]
        duration = max(result.duration, result.input_length_ms / 1000)
        text = clean(result.text)
        return [_Span(0.0, duration, text, ())] if text and duration > 0 else []
    starts = [s.start for s in segments]
    owned: list[list[Word]] = [[] for _ in segments]
    for word in words:
        mid = (word.start + word.end) / 2
        i = bisect_right(starts, mid + 1e-3) - 1
        # Overlapping segments: the latest one that still covers the word's middle owns it.
        for k in range(i, max(i - 4, -1), -1):
            if segments[k].end + 1e-3 >= mid:
                owned[k].append(word)
                break
    return [
        _Span(s.start, s.end, clean(s.text), tuple(ws), s.speaker)
        for s, ws in zip(segments, owned, strict=True)
    ]


def _timed_units(span: _Span, max_chars: int) -> list[_Timed]:
    """Gives each unit of the span's text a time: its word's, else interpolated by position."""
    text = span.text
    pieces = units(text, max_width=max_chars)
    keys: list[str] = []
    times: list[tuple[float, float]] = []
    speakers: list[str | None] = []
    for word in span.words:
        word_text = clean(word.text)
        length = max(len(word_text), 1)
        for p in units(word_text):
            key = match_key(p.text)
            if not key:
                continue
            share = word.end - word.start
            keys.append(key)
            speakers.append(word.speaker)
            times.append(
                (
                    word.start + share * p.core_start / length,
                    word.start + share * p.core_end / length,
                )
            )
    matched: dict[int, tuple[float, float]] = {}
    said_by: dict[int, str | None] = {}
    if keys:
        matcher = SequenceMatcher(None, [match_key(p.text) for p in pieces], keys, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                matched[block.a + k] = times[block.b + k]
                said_by[block.a + k] = speakers[block.b + k]
    anchors: list[tuple[int, float]] = []
    for i in sorted(matched):
        t0, t1 = matched[i]
        anchors.append((pieces[i].core_start, t0))
        anchors.append((pieces[i].core_end, max(t0, t1)))
    first = min([span.start] + [t for _, t in anchors[:1]])
    last = max([span.end] + [t for _, t in anchors[-1:]])
    anchors = [(0, first), *anchors, (len(text), last)]
    positions: list[int] = []
    values: list[float] = []
    running = -math.inf
    for pos, t in anchors:
        running = max(running, t)
        positions.append(pos)
        values.append(running)

    def at(pos: int) -> float:
        i = bisect_right(positions, pos)
        if i == 0:
            return values[0]
        if i == len(positions):
            return values[-1]
        p0, p1 = positions[i - 1], positions[i]
        return values[i - 1] + (values[i] - values[i - 1]) * (pos - p0) / (p1 - p0)

    out: list[_Timed] = []
    anchor_index = 1  # values[1 + 2k], values[2 + 2k]: the k-th matched unit's clamped times
    for i, piece in enumerate(pieces):
        if i in matched:
            t0, t1 = values[anchor_index], values[anchor_index + 1]
            anchor_index += 2
        else:
            # Without a word's time, the span's edges belong to its first and last units.
            t0 = at(piece.start if i == 0 else piece.core_start)
            t1 = at(piece.end if i == len(pieces) - 1 else piece.core_end)
        out.append(_Timed(piece, to_ms(t0), max(to_ms(t1), to_ms(t0)), said_by.get(i)))
    return out


def _lines_needed(pieces: Sequence[Unit], max_chars: int) -> int:
    """Fewest lines the pieces fit in (greedy filling is optimal for the count)."""
    lines, used = 1, 0
    for p in pieces:
        extra = p.width + (1 if p.space_before and used else 0)
        if used and used + extra > max_chars:
            lines, used = lines + 1, p.width
        else:
            used += extra
    return lines


def _break_cost(timed: Sequence[_Timed], i: int, penalty: float) -> float:
    """The cost of ending a cue after ``timed[i - 1]``: nothing at a sentence end or a pause."""
    if i >= len(timed):
        return 0.0
    unit = timed[i - 1].unit
    gap = timed[i].start - timed[i - 1].end
    if gap >= _PAUSE_MS or unit.ends_sentence():
        return 0.0
    cost = penalty / 4 if unit.ends_clause() else penalty * (1.5 if unit.is_short_word() else 1)
    return cost / 2 if gap >= _SHORT_PAUSE_MS else cost


def _plan(timed: Sequence[_Timed], layout: _Layout) -> list[tuple[int, int]]:
    """Where cues start and end in the units: fewest, fullest, balanced, at natural breaks.

    Minimum raggedness by dynamic programming: each cue costs its unused room squared, plus a
    penalty for ending mid-sentence or spanning a pause.
    """
    n = len(timed)
    capacity = layout.max_chars * layout.max_lines
    penalty = capacity**2 / 2
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        w = 0
        longest_gap = 0
        ending = _break_cost(timed, i, penalty)
        for j in range(i - 1, -1, -1):
            w += timed[j].unit.width
            if j + 1 < i:
                w += 1 if timed[j + 1].unit.space_before else 0
                longest_gap = max(longest_gap, timed[j + 1].start - timed[j].end)
            if j < i - 1 and (
                w > capacity + layout.max_lines
                or timed[i - 1].end - timed[j].start > layout.max_ms
                or (
                    w > layout.max_chars
                    and _lines_needed([t.unit for t in timed[j:i]], layout.max_chars)
                    > layout.max_lines
                )
            ):
                break
            cost = best[j] + (capacity - w) ** 2 + ending
            if longest_gap >= _PAUSE_MS:
                cost += penalty * 4
            if cost < best[i]:
                best[i], back[i] = cost, j
    cuts: list[tuple[int, int]] = []
    i = n
    while i > 0:
        cuts.append((back[i], i))
        i = back[i]
    cuts.reverse()
    return cuts


def _wrap(pieces: Sequence[Unit], max_chars: int, max_lines: int) -> list[str]:
    """Balanced lines: the fewest that fit, of similar widths, after punctuation when cheap."""
    count = min(_lines_needed(pieces, max_chars), max_lines)
    if count == 1:
        return [join_units(pieces)]
    n = len(pieces)
    nudge = (max_chars / 4) ** 2
    # cost[l][i]: the cheapest way to set pieces[:i] in l lines.
    cost = [[math.inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    cost[0][0] = 0.0
    for lines in range(1, count + 1):
        for i in range(1, n + 1):
            w = 0
            for j in range(i - 1, -1, -1):
                w += pieces[j].width
                if j + 1 < i and pieces[j + 1].space_before:
                    w += 1
                if w > max_chars and j < i - 1:
                    break
                if cost[lines - 1][j] == math.inf:
                    continue
                c = cost[lines - 1][j] + (max_chars - w) ** 2
                if i < n and not (pieces[i - 1].ends_sentence() or pieces[i - 1].ends_clause()):
                    c += nudge * (2 if pieces[i - 1].is_short_word() else 1)
                if c < cost[lines][i]:
                    cost[lines][i], back[lines][i] = c, j
    if cost[count][n] == math.inf:  # cannot happen for a planned cue; greedy lines are valid
        return [join_units(pieces)]
    out: list[str] = []
    i = n
    for lines in range(count, 0, -1):
        j = back[lines][i]
        out.append(join_units(pieces[j:i]))
        i = j
    out.reverse()
    return out


# A cue before settling: start and end (ms), lines, speaker.
_Raw = tuple[int, int, tuple[str, ...], str | None]


def _settle(raw: list[_Raw], layout: _Layout) -> list[Cue]:
    """Orders cues and makes each last long enough, but never into the next or past the cap."""
    raw = sorted(raw, key=lambda c: c[0])
    cues: list[Cue] = []
    previous_end = 0
    for k, (start, end, lines, speaker) in enumerate(raw):
        start = max(start, previous_end)
        end = min(max(end, start + layout.min_ms), start + layout.max_ms)
        if k + 1 < len(raw) and raw[k + 1][0] > start:
            end = min(end, raw[k + 1][0])
        cues.append(Cue(start / 1000, end / 1000, lines, speaker))
        previous_end = end
    return cues
