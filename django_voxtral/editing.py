"""Editing a done transcript: segment text, times and speakers, splits, merges, renames, find and
replace, and the revisions that keep every saved state (number 0: the machine's, kept for good).

The one place for these rules; transcripts.py exposes them. Never decide who may edit here
(callers pass only transcripts the user may change), and never change a transcript that is not done.

How revisions are kept: number 0 holds every segment as the machine left it; each later one only
what it changed, as range replacements over the ordered segment list (``delta``: a text edit
replaces one segment by one, a split one by two, a merge two by one, a rename or a replace each
run of touched segments, a restore what differs between the current list and the restored one).
A revision's state is number 0's segments with the deltas of 1 to n applied in order (state_at:
one query, which reads number 0's segments and the deltas before n, small ones).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .db_retry import retry_locked
from .exceptions import EditRejected, NotInTranscript, WrongStatus
from .models import SPEAKER_MAX_LENGTH, Revision, Segment, Transcript
from .speech.results import Segment as ResultSegment
from .speech.results import (
    TranscriptionResult,
    Word,
    join_text,  # the run's rule for a transcript's text
    speaker_of,
)
from .speech.retime import (
    TimedText,
    clamp_words,
    merge,
    retime_words,
    split_at_time,
    split_at_word,
)

#: The longest text one segment may be given (a segment is a sentence or two, not a chapter).
MAX_SEGMENT_TEXT = 10_000
#: The longest text find and replace takes, each.
MAX_FIND_LENGTH = 1_000
#: Times closer than this are the same time (times are kept to the millisecond).
_EPSILON = 0.0005

#: A segment's state: {"index", "start", "end", "text", "speaker", "words"}.
State = dict[str, Any]
#: What a revision keeps of a segment (the index is its place in the list: a split or a merge
#: does not rewrite the segments after it).
STORED_FIELDS = ("start", "end", "text", "speaker", "words")


@dataclass
class Edited:
    """What an edit did: the revision it saved (None when nothing changed and none was saved,
    then ``latest`` is the transcript's newest), the segments it touched, and for find and
    replace how many places it replaced."""

    revision: int | None
    latest: int | None
    segments: list[State] = field(default_factory=list)
    replaced: int = 0


@dataclass(frozen=True)
class SavedState:
    """The transcript as a revision left it: every segment (with its index) and the text."""

    segments: list[State]
    text: str


@dataclass
class _Range:
    """The current segments ``at`` to ``at + len(removed)`` replaced by ``added`` (their new
    states; an index they carry is not kept, their place gives it)."""

    at: int
    removed: list[State]
    added: list[State]


@dataclass
class _Change:
    ranges: list[_Range]
    summary: str
    changes: list[dict[str, Any]]
    #: The segments the edit answers with, as they are after it (with their new indexes).
    touched: list[State] = field(default_factory=list)
    text: str | None = None
    replaced: int = 0


# -- states -----------------------------------------------------------------------------------


def state_of(segment: Segment) -> State:
    return {
        "index": segment.index,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "speaker": segment.speaker,
        "words": list(segment.words or []),
    }


def _stored(state: State) -> State:
    return {name: state[name] for name in STORED_FIELDS}


def _indexed(states: Iterable[State]) -> list[State]:
    return [{"index": i, **_stored(s)} for i, s in enumerate(states)]


def _words(state: State) -> tuple[Word, ...]:
    return tuple(
        Word(float(w["start"]), float(w["end"]), str(w["text"]), speaker_of(w.get("speaker")))
        for w in state["words"]
    )


def _timed(state: State) -> TimedText:
    return TimedText(
        float(state["start"]),
        float(state["end"]),
        str(state["text"]),
        _words(state),
        state["speaker"] or None,
    )


def _state(index: int, timed: TimedText) -> State:
    return {
        "index": index,
        "start": timed.start,
        "end": timed.end,
        "text": timed.text,
        "speaker": timed.speaker or "",
        "words": [w.to_contract() for w in timed.words],
    }


def joined_text(segments: Sequence[State]) -> str:
    """The transcript's text for these segments: their texts joined by spaces, as a run joins."""
    return join_text(s["text"] for s in segments)


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


# -- the current segments, read as an edit needs them -----------------------------------------


class _Current:
    """A transcript's segments during an edit: times, texts and speakers of all of them (one
    query, without words), words only of the segments an edit asks for (one query each time).

    Segments are indexed 0 to n - 1 in order (the runner and every edit keep them so): a place
    in the list is an index.
    """

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        rows = (
            Segment.objects.filter(transcript=transcript)
            .order_by("index")
            .values_list("id", "start", "end", "text", "speaker")
        )
        self.ids: list[int] = []
        #: Every segment's state without its words.
        self.light: list[State] = []
        for index, (pk, start, end, text, speaker) in enumerate(rows):
            self.ids.append(pk)
            self.light.append(
                {"index": index, "start": start, "end": end, "text": text, "speaker": speaker}
            )
        self._words: dict[int, list[dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self.light)

    def check(self, index: int) -> None:
        """NotInTranscript unless the transcript has segment ``index``."""
        if not 0 <= index < len(self.light):
            raise NotInTranscript(
                f"The transcript has no segment {index}: its segments are 0 to "
                f"{len(self.light) - 1}."
                if self.light
                else f"The transcript has no segment {index}: it has no segments.",
                what="segment",
            )

    def states(self, indexes: Iterable[int]) -> list[State]:
        """Segments ``indexes`` with their words (read once, for the ones not read yet)."""
        wanted = list(indexes)
        for index in wanted:
            self.check(index)
        missing = [self.ids[i] for i in dict.fromkeys(wanted) if i not in self._words]
        if missing:
            found = dict(Segment.objects.filter(id__in=missing).values_list("id", "words"))
            for index in wanted:
                if index not in self._words:
                    self._words[index] = list(found[self.ids[index]] or [])
        return [{**self.light[i], "words": self._words[i]} for i in wanted]

    def state(self, index: int) -> State:
        return self.states([index])[0]

    def all(self) -> list[State]:
        """Every segment with its words (one query, for a rename, a restore, revision 0)."""
        if len(self._words) < len(self.light):
            words = (
                Segment.objects.filter(transcript=self.transcript)
                .order_by("index")
                .values_list("words", flat=True)
            )
            self._words = {i: list(w or []) for i, w in enumerate(words)}
        return self.states(range(len(self.light)))


# -- deltas: what a revision keeps, and replaying them ----------------------------------------


def _tidied(ranges: Sequence[_Range]) -> list[_Range]:
    """The ranges less what they leave as it was, touching ones joined: the smallest
    replacements that make the same list (each run of changed segments, for equal counts; what
    lies between the common start and end, for others)."""
    pieces: list[_Range] = []
    for r in sorted(ranges, key=lambda r: r.at):
        old = [_stored(s) for s in r.removed]
        new = [_stored(s) for s in r.added]
        if len(old) == len(new):
            k = 0
            while k < len(old):
                if old[k] == new[k]:
                    k += 1
                    continue
                j = k
                while j < len(old) and old[j] != new[j]:
                    j += 1
                pieces.append(_Range(r.at + k, r.removed[k:j], r.added[k:j]))
                k = j
            continue
        shortest = min(len(old), len(new))
        head = 0
        while head < shortest and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        pieces.append(
            _Range(r.at + head, r.removed[head : len(old) - tail], r.added[head : len(new) - tail])
        )
    joined: list[_Range] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if last is not None and last.at + len(last.removed) == piece.at:
            joined[-1] = _Range(last.at, last.removed + piece.removed, last.added + piece.added)
        else:
            joined.append(piece)
    return joined


def _delta(ranges: Sequence[_Range]) -> list[dict[str, Any]]:
    """The ranges as a revision keeps them: ``at`` in the list as the entries before left it,
    ``removed`` how many segments go, ``added`` the states that take their place."""
    delta: list[dict[str, Any]] = []
    moved = 0
    for r in ranges:
        delta.append(
            {"at": r.at + moved, "removed": len(r.removed), "added": [_stored(s) for s in r.added]}
        )
        moved += len(r.added) - len(r.removed)
    return delta


def _replayed(states: list[State], delta: Sequence[Mapping[str, Any]], number: int) -> None:
    for entry in delta:
        at, removed = entry["at"], entry["removed"]
        if not 0 <= at <= at + removed <= len(states):
            raise RuntimeError(
                f"Revision {number} replaces segments {at} to {at + removed - 1}, but the "
                f"revisions before it leave {len(states)}: its history was changed outside "
                "editing.py, so this revision cannot be rebuilt."
            )
        states[at : at + removed] = entry["added"]


def state_at(transcript: Transcript, number: int) -> SavedState:
    """The segments and text revision ``number`` left: revision 0's segments with the deltas of
    1 to ``number`` applied in order, in one query. NotInTranscript when it has no such one."""
    rows = list(
        transcript.revisions.filter(number__lte=number)
        .order_by("number")
        .values_list("number", "segments", "delta", "text")
    )
    if not rows or rows[-1][0] != number:
        raise NotInTranscript(_no_revision(transcript, number), what="revision")
    states: list[State] = []
    for found, segments, delta, _text in rows:
        if found == 0:
            states = list(segments)
        else:
            _replayed(states, delta, found)
    text = rows[-1][3]
    return SavedState(_indexed(states), joined_text(states) if text is None else text)


# -- the transaction every edit runs in -------------------------------------------------------


def _locked_done(transcript: Transcript) -> Transcript:
    locked = Transcript.objects.select_for_update().get(pk=transcript.pk)
    if locked.status != Transcript.Status.DONE:
        raise WrongStatus(
            f"The transcript is {locked.status}: only a done transcript can be edited. Wait "
            "until it is done (retry it if it failed), then edit it.",
            status=locked.status,
        )
    return locked


def _latest(transcript: Transcript) -> int | None:
    numbers = transcript.revisions.order_by("-number").values_list("number", flat=True)
    return next(iter(numbers[:1]), None)


def _row(transcript: Transcript, index: int, state: State) -> Segment:
    return Segment(
        transcript=transcript,
        index=index,
        start=state["start"],
        end=state["end"],
        text=state["text"],
        speaker=state["speaker"],
        words=state["words"],
    )


def _write_segments(transcript: Transcript, current: _Current, ranges: Sequence[_Range]) -> None:
    """The rows made to match the ranges: each range's rows deleted and its new ones created
    (cheaper than Django's bulk_update of many rows); when counts change, the rows after move
    their indexes twice, first past every index (so the unique (transcript, index) never meets
    two rows), then to their places. The search index follows the rows (database triggers)."""
    gone = [current.ids[r.at + k] for r in ranges for k in range(len(r.removed))]
    Segment.objects.filter(id__in=gone).delete()
    created: list[Segment] = []
    #: The rows kept between ranges (from, until) and how far they move.
    stretches: list[tuple[int, int, int]] = []
    moved = 0
    for n, r in enumerate(ranges):
        created += [_row(transcript, r.at + moved + k, s) for k, s in enumerate(r.added)]
        moved += len(r.added) - len(r.removed)
        until = ranges[n + 1].at if n + 1 < len(ranges) else len(current)
        stretches.append((r.at + len(r.removed), until, moved))
    moving = [n for n, (_, _, by) in enumerate(stretches) if by]
    if moving:
        rows = Segment.objects.filter(transcript=transcript)
        lift = len(current) + len(created) + 1
        rows.filter(index__gte=stretches[moving[0]][0]).update(index=F("index") + lift)
        for since, until, by in stretches[moving[0] :]:
            if since < until:
                rows.filter(index__gte=since + lift, index__lt=until + lift).update(
                    index=F("index") - lift + by
                )
    Segment.objects.bulk_create(created, batch_size=500)


def _save(
    transcript: Transcript, author: Any, make: Callable[[Transcript, _Current], _Change]
) -> Edited:
    """One edit in one short transaction: the transcript locked, the change made from the
    current segments (words read only where it needs them), the rows and text written, a
    revision saved with what changed (number 0 first, once, with every segment).

    Tried again while SQLite says the database is locked (db_retry), unless the caller holds a
    transaction of its own."""

    def attempt() -> tuple[Edited, str]:
        with transaction.atomic():
            locked = _locked_done(transcript)
            current = _Current(locked)
            change = make(locked, current)
            ranges = _tidied(change.ranges)
            latest = _latest(locked)
            if not ranges and change.text in (None, locked.text):
                return Edited(None, latest, change.touched, change.replaced), locked.text
            if latest is None:
                Revision.objects.create(
                    transcript=locked,
                    number=0,
                    author=None,
                    created=locked.finished or timezone.now(),
                    summary="The machine's transcript",
                    text=locked.text,
                    segments=[_stored(s) for s in current.all()],
                )
                latest = 0
            texts: list[str] = [s["text"] for s in current.light]
            for r in reversed(ranges):
                texts[r.at : r.at + len(r.removed)] = [s["text"] for s in r.added]
            joined = join_text(texts)
            _write_segments(locked, current, ranges)
            locked.text = change.text if change.text is not None else joined
            locked.save(update_fields=["text"])
            number = latest + 1
            Revision.objects.create(
                transcript=locked,
                number=number,
                author=author if getattr(author, "is_authenticated", False) else None,
                summary=change.summary[:200],
                changes=change.changes,
                text=None if locked.text == joined else locked.text,
                delta=_delta(ranges),
            )
            return Edited(number, number, change.touched, change.replaced), locked.text

    edited, transcript.text = retry_locked(attempt, f"transcript {transcript.pk}: edit")
    return edited


# -- one segment ------------------------------------------------------------------------------


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise EditRejected(f"{name} must be a string of text.", field=name)
    return value.strip()


def _clean_text(value: Any) -> str:
    text = " ".join(_text(value, "text").split())
    if not text:
        raise EditRejected(
            "text is empty: a segment needs at least one word. To drop its words, merge it "
            "with a neighbour and delete them there.",
            field="text",
        )
    if len(text) > MAX_SEGMENT_TEXT:
        raise EditRejected(
            f"text is {len(text)} characters long; a segment holds at most {MAX_SEGMENT_TEXT}. "
            "Split it first.",
            field="text",
        )
    return text


def _clean_speaker(value: Any, name: str = "speaker") -> str:
    speaker = _text(value, name)
    if len(speaker) > SPEAKER_MAX_LENGTH:
        raise EditRejected(
            f"{name} is {len(speaker)} characters long; give at most {SPEAKER_MAX_LENGTH}.",
            field=name,
        )
    return speaker


def _clean_time(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EditRejected(f"{name} must be a number of seconds, e.g. 12.5.", field=name)
    return round(float(value), 3)


def _check_times(
    transcript: Transcript,
    before: Sequence[State],
    index: int,
    start: float,
    end: float,
    moved: tuple[bool, bool],
) -> None:
    """A segment's new times: inside the media, start before end, clear of its neighbours.

    An overlap the machine left is not made the editor's problem: only a boundary that moves
    further into a neighbour is refused.
    """
    old = before[index]
    if start < 0:
        raise EditRejected(
            f"start is {_seconds(start)} s: a segment cannot start before the media (0 s).",
            field="start",
        )
    duration = transcript.duration
    if duration is not None and end > duration + _EPSILON:
        raise EditRejected(
            f"end is {_seconds(end)} s, past the end of the media ({_seconds(duration)} s).",
            field="end",
        )
    if not start < end:
        raise EditRejected(
            f"start ({_seconds(start)} s) must be before end ({_seconds(end)} s).",
            field="start" if moved[0] else "end",
        )
    if moved[0] and index > 0:
        previous_end = float(before[index - 1]["end"])
        if start < min(previous_end, float(old["start"])) - _EPSILON:
            raise EditRejected(
                f"start is {_seconds(start)} s, but segment {index - 1} ends at "
                f"{_seconds(previous_end)} s: start at {_seconds(previous_end)} s or later, or "
                f"move segment {index - 1}'s end first.",
                field="start",
            )
    if moved[1] and index + 1 < len(before):
        next_start = float(before[index + 1]["start"])
        if end > max(next_start, float(old["end"])) + _EPSILON:
            raise EditRejected(
                f"end is {_seconds(end)} s, but segment {index + 1} starts at "
                f"{_seconds(next_start)} s: end at {_seconds(next_start)} s or earlier, or "
                f"move segment {index + 1}'s start first.",
                field="end",
            )


def _field_changes(index: int, old: State, new: State) -> list[dict[str, Any]]:
    """What a revision records of one segment's edited fields: {"index", "field", "before",
    "after"} for each of text, start, end and speaker that differs."""
    return [
        {"index": index, "field": name, "before": old[name], "after": new[name]}
        for name in ("text", "start", "end", "speaker")
        if old[name] != new[name]
    ]


def _renamed_words(words: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    renamed: list[dict[str, Any]] = []
    for word in words:
        if old and word.get("speaker") == old:
            word = (
                {**word, "speaker": new}
                if new
                else {k: v for k, v in word.items() if k != "speaker"}
            )
        renamed.append(word)
    return renamed


def edit_segment(
    transcript: Transcript,
    index: int,
    *,
    text: Any = None,
    start: Any = None,
    end: Any = None,
    speaker: Any = None,
    author: Any = None,
) -> Edited:
    """Changes one segment's text, start, end or speaker (None: left as it is).

    A new text keeps the times of the words it kept and spreads the new ones over their gap
    (speech.retime); new times keep the words inside the segment. Refused (EditRejected, naming
    the field): an empty text (merge the segment away instead), a start at or after the end,
    times outside the media or moved into a neighbour, a speaker longer than the column.
    """
    new_text = None if text is None else _clean_text(text)
    new_start = None if start is None else _clean_time(start, "start")
    new_end = None if end is None else _clean_time(end, "end")
    new_speaker = None if speaker is None else _clean_speaker(speaker)

    def make(locked: Transcript, current: _Current) -> _Change:
        old = current.state(index)
        s_start = float(old["start"]) if new_start is None else new_start
        s_end = float(old["end"]) if new_end is None else new_end
        if new_start is not None or new_end is not None:
            _check_times(
                locked,
                current.light,
                index,
                s_start,
                s_end,
                (new_start is not None, new_end is not None),
            )
        s_speaker = old["speaker"] if new_speaker is None else new_speaker
        s_text = old["text"] if new_text is None else new_text
        words = list(old["words"])
        if s_speaker != old["speaker"]:
            words = _renamed_words(words, old["speaker"], s_speaker)
        state: State = {**old, "start": s_start, "end": s_end, "speaker": s_speaker}
        if s_text != old["text"]:
            timed = retime_words(
                _words({**old, "words": words}),
                s_text,
                start=s_start,
                end=s_end,
                speaker=s_speaker or None,
            )
            words = [w.to_contract() for w in timed]
        elif (s_start, s_end) != (old["start"], old["end"]):
            words = [
                w.to_contract()
                for w in clamp_words(_words({**old, "words": words}), s_start, s_end)
            ]
        state.update(text=s_text, words=words)
        changes = _field_changes(index, old, state)
        what = " and ".join(c["field"] for c in changes)
        return _Change(
            [_Range(index, [old], [state])],
            f"Edited segment {index} {what}",
            changes,
            touched=[state],
        )

    return _save(transcript, author, make)


def split_segment(
    transcript: Transcript,
    index: int,
    *,
    at: Any = None,
    word: Any = None,
    author: Any = None,
) -> Edited:
    """Cuts one segment in two, at ``at`` seconds or before its word number ``word`` (from 0);
    the segments after it move up one index. Each half keeps its words and their times."""
    if (at is None) == (word is None):
        raise EditRejected(
            "Give either at (the time to split at, in seconds) or word (the number of the word "
            "that starts the second half), not both or neither.",
            field="at",
        )
    cut_at = None if at is None else _clean_time(at, "at")
    if word is not None and (isinstance(word, bool) or not isinstance(word, int)):
        raise EditRejected("word must be a whole number (the first word is 0).", field="word")
    cut_word = 0 if word is None else int(word)

    def make(locked: Transcript, current: _Current) -> _Change:
        old = current.state(index)
        try:
            if cut_at is not None:
                first, second = split_at_time(_timed(old), cut_at)
            else:
                first, second = split_at_word(_timed(old), cut_word)
        except ValueError as exc:
            raise EditRejected(
                f"Segment {index} cannot be split so: {exc}.",
                field="at" if cut_at is not None else "word",
            ) from None
        halves = [_state(index, first), _state(index + 1, second)]
        where = f"at {_seconds(first.end)} s"
        change = {
            "index": index,
            "field": "split",
            "before": old["text"],
            "after": [first.text, second.text],
        }
        return _Change(
            [_Range(index, [old], halves)], f"Split segment {index} {where}", [change], halves
        )

    return _save(transcript, author, make)


def merge_segments(transcript: Transcript, index: int, *, author: Any = None) -> Edited:
    """Joins a segment with the next one; the segments after them move down one index.

    Refused when it is the last segment, or when the two have different speakers (set one
    speaker on both first: nobody's words are given to someone else silently).
    """

    def make(locked: Transcript, current: _Current) -> _Change:
        current.check(index)
        if index + 1 >= len(current):
            raise EditRejected(
                f"Segment {index} is the last one: there is no next segment to merge it with. "
                f"Merge segment {index - 1} instead."
                if index
                else "The transcript has one segment: there is nothing to merge it with.",
                field="index",
            )
        first, second = current.states([index, index + 1])
        if first["speaker"] != second["speaker"]:
            raise EditRejected(
                f"Segments {index} and {index + 1} have different speakers "
                f"({first['speaker'] or 'unknown'}, {second['speaker'] or 'unknown'}): give "
                "both the same speaker first, then merge them.",
                field="speaker",
            )
        merged = merge(_timed(first), _timed(second))
        joined = _state(index, merged)
        change = {
            "index": index,
            "field": "merge",
            "before": [first["text"], second["text"]],
            "after": merged.text,
        }
        return _Change(
            [_Range(index, [first, second], [joined])],
            f"Merged segments {index} and {index + 1}",
            [change],
            [joined],
        )

    return _save(transcript, author, make)


# -- the whole transcript ---------------------------------------------------------------------


def rename_speaker(transcript: Transcript, old: Any, new: Any, *, author: Any = None) -> Edited:
    """Renames a speaker everywhere: every segment and word with ``old`` gets ``new`` (which
    may be a speaker that already exists: the two become one)."""
    old_name = _clean_speaker(old, "from")
    new_name = _clean_speaker(new, "to")
    if not old_name:
        raise EditRejected("from is empty: give the speaker to rename.", field="from")
    if not new_name:
        raise EditRejected(
            "to is empty: give the new name (to clear one segment's speaker, edit the segment).",
            field="to",
        )

    def make(locked: Transcript, current: _Current) -> _Change:
        known = list(dict.fromkeys(s["speaker"] for s in current.light if s["speaker"]))
        if old_name not in known:
            raise EditRejected(
                f"No segment has the speaker {old_name!r}; the speakers are: "
                f"{', '.join(repr(k) for k in known) or 'none'}.",
                field="from",
            )
        # A word may name the speaker in another's segment: every segment's words are read.
        before = current.all()
        after: list[State] = []
        touched: list[State] = []
        for state in before:
            words = _renamed_words(state["words"], old_name, new_name)
            if state["speaker"] == old_name:
                touched.append({**state, "speaker": new_name, "words": words})
                after.append(touched[-1])
            else:
                after.append({**state, "words": words})
        change = {"index": None, "field": "speaker", "before": old_name, "after": new_name}
        summary = f"Renamed speaker {old_name} to {new_name} ({len(touched)} segments)"
        return _Change([_Range(0, before, after)], summary, [change], touched)

    return _save(transcript, author, make)


def replace_text(
    transcript: Transcript, find: Any, replacement: Any, *, match_case: bool, author: Any = None
) -> Edited:
    """Replaces every ``find`` in the segments' texts with ``replacement`` (literally: no
    patterns); ``Edited.replaced`` is how many places. The changed segments' words keep their
    times where they are the same words. Refused when it would empty a segment."""
    if not isinstance(find, str) or not find.strip():
        raise EditRejected("find is empty: give the text to look for.", field="find")
    if not isinstance(replacement, str):
        raise EditRejected("replace must be a string of text (it may be empty).", field="replace")
    for name, value in (("find", find), ("replace", replacement)):
        if len(value) > MAX_FIND_LENGTH:
            raise EditRejected(
                f"{name} is {len(value)} characters long; give at most {MAX_FIND_LENGTH}.",
                field=name,
            )
    pattern = re.compile(re.escape(find), 0 if match_case else re.IGNORECASE)

    def make(locked: Transcript, current: _Current) -> _Change:
        ranges: list[_Range] = []
        changes: list[dict[str, Any]] = []
        count = 0
        found_in: dict[int, str] = {}
        for light in current.light:
            text, found = pattern.subn(lambda _: replacement, light["text"])
            text = " ".join(text.split())
            count += found
            if found and text != light["text"]:
                found_in[light["index"]] = text
        # Only the segments where something was found are read with their words.
        for state in current.states(found_in):
            text = found_in[state["index"]]
            if not text:
                raise EditRejected(
                    f"Replacing would leave segment {state['index']} without words; merge it "
                    "with a neighbour first, or replace with some text.",
                    field="replace",
                )
            words = retime_words(
                _words(state),
                text,
                start=float(state["start"]),
                end=float(state["end"]),
                speaker=state["speaker"] or None,
            )
            new = {**state, "text": text, "words": [w.to_contract() for w in words]}
            ranges.append(_Range(state["index"], [state], [new]))
            changes.append(
                {"index": state["index"], "field": "text", "before": state["text"], "after": text}
            )
        summary = f"Replaced {find!r} with {replacement!r} ({count} times)"
        touched = [r.added[0] for r in ranges]
        return _Change(ranges, summary, changes, touched, replaced=count)

    return _save(transcript, author, make)


def _differences(before: Sequence[State], after: Sequence[State]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for i in range(max(len(before), len(after))):
        old = before[i] if i < len(before) else None
        new = after[i] if i < len(after) else None
        if old is None or new is None:
            changes.append(
                {
                    "index": i,
                    "field": "segment",
                    "before": None if old is None else old["text"],
                    "after": None if new is None else new["text"],
                }
            )
            continue
        changes.extend(_field_changes(i, old, new))
    return changes


def restore_revision(transcript: Transcript, number: int, *, author: Any = None) -> Edited:
    """Makes revision ``number``'s segments and text the current ones again, as a new revision
    ("Restored revision 2"): nothing in between is lost, it can be restored in turn. The new
    revision keeps what differs between the current segments and those (state_at)."""

    def make(locked: Transcript, current: _Current) -> _Change:
        saved = state_at(locked, number)
        before = current.all()
        return _Change(
            [_Range(0, before, saved.segments)],
            f"Restored revision {number}",
            _differences(before, saved.segments),
            touched=saved.segments,
            text=saved.text,
        )

    return _save(transcript, author, make)


# -- reading ----------------------------------------------------------------------------------


def _no_revision(transcript: Transcript, number: int) -> str:
    latest = _latest(transcript)
    if latest is None:
        return (
            f"The transcript has no revision {number}: it was never edited (its first edit "
            "saves the machine's transcript as revision 0)."
        )
    return f"The transcript has no revision {number}: its revisions are 0 to {latest}."


def revision(transcript: Transcript, number: int) -> Revision:
    """Revision ``number`` of the transcript, without its segments or delta (state_at gives
    what it left); NotInTranscript when it has none of that number."""
    found = (
        transcript.revisions.filter(number=number)
        .select_related("author")
        .defer("segments", "delta")
        .first()
    )
    if found is None:
        raise NotInTranscript(_no_revision(transcript, number), what="revision")
    return found


def revision_asked(params: Mapping[str, Any]) -> int | None:
    """The revision an export asks for in its query: ``?original=1`` (revision 0, the
    machine's) or ``?revision=<n>``; None for the current text. EditRejected when malformed."""
    original = str(params.get("original", "")).strip().lower()
    number = str(params.get("revision", "")).strip()
    if original and original not in ("0", "false", "no"):
        if original not in ("1", "true", "yes"):
            raise EditRejected(
                "original is 1 for the machine's transcript (or leave it out).", field="original"
            )
        return 0
    if not number:
        return None
    if not number.isdigit() or len(number) > 9:
        raise EditRejected(
            "revision is the number of a revision (0 is the machine's transcript).",
            field="revision",
        )
    return int(number)


def result_at(transcript: Transcript, number: int | None) -> TranscriptionResult:
    """The transcript as revision ``number`` had it (None: as it is now), for exports.

    Revision 0 of a transcript never edited is its current state: the machine's own.
    """
    current = transcript.to_result()
    if number is None or (number == 0 and _latest(transcript) is None):
        return current
    saved = state_at(transcript, number)
    segments = tuple(
        ResultSegment(
            int(s["index"]),
            float(s["start"]),
            float(s["end"]),
            str(s["text"]),
            s["speaker"] or None,
        )
        for s in saved.segments
    )
    words = tuple(word for s in saved.segments for word in _words(s))
    return replace(current, text=saved.text, segments=segments, words=words)


__all__ = [
    "MAX_FIND_LENGTH",
    "MAX_SEGMENT_TEXT",
    "STORED_FIELDS",
    "Edited",
    "SavedState",
    "edit_segment",
    "joined_text",
    "merge_segments",
    "rename_speaker",
    "replace_text",
    "restore_revision",
    "result_at",
    "revision",
    "revision_asked",
    "split_segment",
    "state_at",
    "state_of",
]
