"""Editing a done transcript: segment text, times and speakers, splits, merges, renames, find and
replace, and the revisions that keep every saved state (number 0: the machine's, kept for good).

The one place for these rules; transcripts.py exposes them. Never decide who may edit here
(callers pass only transcripts the user may change), and never change a transcript that is not done.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from .db_retry import retry_locked
from .exceptions import EditRejected, NotInTranscript, WrongStatus
from .models import SPEAKER_MAX_LENGTH, Revision, Segment, Transcript
from .speech.results import Segment as ResultSegment
from .speech.results import TranscriptionResult, Word, speaker_of
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

#: A segment's saved state: {"index", "start", "end", "text", "speaker", "words"}.
State = dict[str, Any]


@dataclass
class Edited:
    """What an edit did: the revision it saved (None when nothing changed and none was saved,
    then ``latest`` is the transcript's newest), the segments it touched, and for find and
    replace how many places it replaced."""

    revision: int | None
    latest: int | None
    segments: list[State] = field(default_factory=list)
    replaced: int = 0


@dataclass
class _Change:
    segments: list[State]
    summary: str
    changes: list[dict[str, Any]]
    touched: list[int] = field(default_factory=list)
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
    return " ".join(str(s["text"]).strip() for s in segments if str(s["text"]).strip())


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


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


def _write_segments(transcript: Transcript, rows: list[Segment], after: list[State]) -> None:
    """The rows made to match ``after``; the search index follows them (database triggers)."""
    if len(rows) == len(after):
        changed: list[Segment] = []
        for row, state in zip(rows, after, strict=True):
            if state_of(row) != state:
                row.start, row.end, row.text = state["start"], state["end"], state["text"]
                row.speaker, row.words = state["speaker"], state["words"]
                changed.append(row)
        Segment.objects.bulk_update(
            changed, ["start", "end", "text", "speaker", "words"], batch_size=500
        )
        return
    # Split, merge or a restore of another count: the indexes move, so the rows are made
    # again (an in-place shift would trip the unique (transcript, index) on the way).
    Segment.objects.filter(transcript=transcript).delete()
    Segment.objects.bulk_create(
        (
            Segment(
                transcript=transcript,
                index=state["index"],
                start=state["start"],
                end=state["end"],
                text=state["text"],
                speaker=state["speaker"],
                words=state["words"],
            )
            for state in after
        ),
        batch_size=500,
    )


def _save(
    transcript: Transcript, author: Any, make: Callable[[Transcript, list[State]], _Change]
) -> Edited:
    """One edit in one short transaction: the transcript locked, the change made from the
    current segments, the rows and text written, a revision saved (number 0 first, once).

    Tried again while SQLite says the database is locked (db_retry), unless the caller holds a
    transaction of its own."""

    def attempt() -> tuple[Edited, str]:
        with transaction.atomic():
            locked = _locked_done(transcript)
            rows = list(Segment.objects.filter(transcript=locked).order_by("index"))
            before = [state_of(row) for row in rows]
            change = make(locked, before)
            latest = _latest(locked)
            wanted = set(change.touched)
            touched = [s for s in change.segments if s["index"] in wanted]
            if change.segments == before and change.text in (None, locked.text):
                return Edited(None, latest, touched, change.replaced), locked.text
            if latest is None:
                Revision.objects.create(
                    transcript=locked,
                    number=0,
                    author=None,
                    created=locked.finished or timezone.now(),
                    summary="The machine's transcript",
                    text=locked.text,
                    segments=before,
                )
                latest = 0
            _write_segments(locked, rows, change.segments)
            locked.text = change.text if change.text is not None else joined_text(change.segments)
            locked.save(update_fields=["text"])
            number = latest + 1
            Revision.objects.create(
                transcript=locked,
                number=number,
                author=author if getattr(author, "is_authenticated", False) else None,
                summary=change.summary[:200],
                changes=change.changes,
                text=locked.text,
                segments=change.segments,
            )
            return Edited(number, number, touched, change.replaced), locked.text

    edited, transcript.text = retry_locked(attempt, f"transcript {transcript.pk}: edit")
    return edited


def _segment(before: list[State], index: int) -> State:
    if not 0 <= index < len(before):
        raise NotInTranscript(
            f"The transcript has no segment {index}: its segments are 0 to {len(before) - 1}."
            if before
            else f"The transcript has no segment {index}: it has no segments.",
            what="segment",
        )
    return before[index]


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
    before: list[State],
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

    def make(locked: Transcript, before: list[State]) -> _Change:
        old = _segment(before, index)
        s_start = float(old["start"]) if new_start is None else new_start
        s_end = float(old["end"]) if new_end is None else new_end
        if new_start is not None or new_end is not None:
            _check_times(
                locked, before, index, s_start, s_end, (new_start is not None, new_end is not None)
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
        changes = [
            {"index": index, "field": name, "before": old[name], "after": state[name]}
            for name in ("text", "start", "end", "speaker")
            if old[name] != state[name]
        ]
        after = [*before[:index], state, *before[index + 1 :]]
        what = " and ".join(c["field"] for c in changes)
        return _Change(after, f"Edited segment {index} {what}", changes, touched=[index])

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

    def make(locked: Transcript, before: list[State]) -> _Change:
        old = _segment(before, index)
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
        moved = [{**s, "index": s["index"] + 1} for s in before[index + 1 :]]
        after = [*before[:index], _state(index, first), _state(index + 1, second), *moved]
        where = f"at {_seconds(first.end)} s"
        change = {
            "index": index,
            "field": "split",
            "before": old["text"],
            "after": [first.text, second.text],
        }
        return _Change(
            after, f"Split segment {index} {where}", [change], touched=[index, index + 1]
        )

    return _save(transcript, author, make)


def merge_segments(transcript: Transcript, index: int, *, author: Any = None) -> Edited:
    """Joins a segment with the next one; the segments after them move down one index.

    Refused when it is the last segment, or when the two have different speakers (set one
    speaker on both first: nobody's words are given to someone else silently).
    """

    def make(locked: Transcript, before: list[State]) -> _Change:
        first = _segment(before, index)
        if index + 1 >= len(before):
            raise EditRejected(
                f"Segment {index} is the last one: there is no next segment to merge it with. "
                f"Merge segment {index - 1} instead."
                if index
                else "The transcript has one segment: there is nothing to merge it with.",
                field="index",
            )
        second = before[index + 1]
        if first["speaker"] != second["speaker"]:
            raise EditRejected(
                f"Segments {index} and {index + 1} have different speakers "
                f"({first['speaker'] or 'unknown'}, {second['speaker'] or 'unknown'}): give "
                "both the same speaker first, then merge them.",
                field="speaker",
            )
        merged = merge(_timed(first), _timed(second))
        moved = [{**s, "index": s["index"] - 1} for s in before[index + 2 :]]
        after = [*before[:index], _state(index, merged), *moved]
        change = {
            "index": index,
            "field": "merge",
            "before": [first["text"], second["text"]],
            "after": merged.text,
        }
        return _Change(after, f"Merged segments {index} and {index + 1}", [change], [index])

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

    def make(locked: Transcript, before: list[State]) -> _Change:
        known = list(dict.fromkeys(s["speaker"] for s in before if s["speaker"]))
        if old_name not in known:
            raise EditRejected(
                f"No segment has the speaker {old_name!r}; the speakers are: "
                f"{', '.join(repr(k) for k in known) or 'none'}.",
                field="from",
            )
        after: list[State] = []
        touched: list[int] = []
        for state in before:
            words = _renamed_words(state["words"], old_name, new_name)
            if state["speaker"] == old_name:
                touched.append(state["index"])
                after.append({**state, "speaker": new_name, "words": words})
            else:
                after.append({**state, "words": words})
        change = {"index": None, "field": "speaker", "before": old_name, "after": new_name}
        summary = f"Renamed speaker {old_name} to {new_name} ({len(touched)} segments)"
        return _Change(after, summary, [change], touched)

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

    def make(locked: Transcript, before: list[State]) -> _Change:
        after: list[State] = []
        changes: list[dict[str, Any]] = []
        count = 0
        for state in before:
            text, found = pattern.subn(lambda _: replacement, state["text"])
            text = " ".join(text.split())
            count += found
            if not found or text == state["text"]:
                after.append(state)
                continue
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
            after.append({**state, "text": text, "words": [w.to_contract() for w in words]})
            changes.append(
                {"index": state["index"], "field": "text", "before": state["text"], "after": text}
            )
        summary = f"Replaced {find!r} with {replacement!r} ({count} times)"
        touched = [c["index"] for c in changes]
        return _Change(after, summary, changes, touched, replaced=count)

    return _save(transcript, author, make)


def _differences(before: list[State], after: list[State]) -> list[dict[str, Any]]:
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
        changes.extend(
            {"index": i, "field": name, "before": old[name], "after": new[name]}
            for name in ("text", "start", "end", "speaker")
            if old[name] != new[name]
        )
    return changes


def restore_revision(transcript: Transcript, number: int, *, author: Any = None) -> Edited:
    """Makes revision ``number``'s segments and text the current ones again, as a new revision
    ("Restored revision 2"): nothing in between is lost, it can be restored in turn."""

    def make(locked: Transcript, before: list[State]) -> _Change:
        revision = locked.revisions.filter(number=number).first()
        if revision is None:
            raise NotInTranscript(_no_revision(locked, number), what="revision")
        after = [dict(s) for s in revision.segments]
        return _Change(
            after,
            f"Restored revision {number}",
            _differences(before, after),
            touched=[s["index"] for s in after],
            text=revision.text,
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
    """Revision ``number`` of the transcript; NotInTranscript when it has none of that number."""
    found = transcript.revisions.filter(number=number).select_related("author").first()
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
    saved = revision(transcript, number)
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
    "Edited",
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
    "state_of",
]
