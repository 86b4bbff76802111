"""How revisions are kept (editing.py): revision 0 every segment, each later one only the range
replacements it made; any revision's state rebuilt from them equals the segments it left.

Rows made directly on the test database (SQLite, or PostgreSQL with DATABASE_URL); no media.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_voxtral import editing, exports, transcripts
from django_voxtral.models import Revision, Segment, Transcript
from tests.django.test_editing import LINES, done_transcript, words_of
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db

#: The machine's text as the service gave it: not its segments' texts joined.
MACHINE_TEXT = "Hello and welcome. Thanks for having. Let us begin now."


def current(t: Transcript) -> editing.SavedState:
    """The transcript's segments (with words) and text as they are now."""
    t.refresh_from_db()
    segments = [editing.state_of(s) for s in Segment.objects.filter(transcript=t)]
    return editing.SavedState(segments, t.text)


def compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def test_every_revision_rebuilt_from_the_deltas_is_what_the_segments_were(
    alice: Any, bob: Any
) -> None:
    t = done_transcript(alice)
    Transcript.objects.filter(pk=t.pk).update(text=MACHINE_TEXT)
    seen = {0: current(t)}
    steps: list[Callable[[], editing.Edited]] = [
        lambda: transcripts.edit_segment(t, 0, text="hi and a warm welcome", author=alice),
        lambda: transcripts.split_segment(t, 2, at=8.5, author=bob),
        lambda: transcripts.rename_speaker(t, "speaker_0", "Alice", author=alice),
        lambda: transcripts.replace_text(t, "n", "N", match_case=True, author=alice),
        lambda: transcripts.merge_segments(t, 2, author=alice),
        lambda: transcripts.edit_segment(t, 1, start=3.6, speaker="Bob", author=bob),
        lambda: transcripts.restore_revision(t, 2, author=alice),
        lambda: transcripts.split_segment(t, 0, word=2, author=alice),
        lambda: transcripts.restore_revision(t, 0, author=bob),
        lambda: transcripts.edit_segment(t, 2, text="let us start", end=9.5, author=alice),
        lambda: transcripts.restore_revision(t, 8, author=alice),
        lambda: transcripts.merge_segments(t, 0, author=alice),
    ]
    for number, step in enumerate(steps, start=1):
        assert step().revision == number
        seen[number] = current(t)
    assert len({len(state.segments) for state in seen.values()}) > 1  # splits and merges
    assert seen[9] == seen[0] and seen[0].text == MACHINE_TEXT
    for number, state in seen.items():
        assert editing.state_at(t, number) == state, number
        assert editing.result_at(t, number).text == state.text
    # Revision 0 keeps every segment and the machine's text; later ones keep a text only when
    # it is not their segments' texts joined (a restore of revision 0 brings the machine's back).
    kept = dict(t.revisions.values_list("number", "text"))
    assert kept == {n: (MACHINE_TEXT if n in (0, 9) else None) for n in seen}


def test_each_edit_keeps_the_ranges_it_replaced(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 1, text="thanks for having me", author=alice)
    transcripts.split_segment(t, 2, word=2, author=alice)
    transcripts.rename_speaker(t, "speaker_0", "Alice", author=alice)
    transcripts.merge_segments(t, 2, author=alice)
    transcripts.restore_revision(t, 1, author=alice)
    deltas = dict(t.revisions.values_list("number", "delta"))
    original = t.revisions.get(number=0)
    assert deltas[0] == [] and len(original.segments) == 3
    assert [s["text"] for s in original.segments] == [line[2] for line in LINES]

    def shape(number: int) -> list[tuple[int, int, list[str]]]:
        return [(e["at"], e["removed"], [s["text"] for s in e["added"]]) for e in deltas[number]]

    assert shape(1) == [(1, 1, ["thanks for having me"])]
    assert shape(2) == [(2, 1, ["let us", "begin now"])]  # a split: one by two
    # A rename: one entry per run of touched segments (0, then 2 and 3); "at" counts in the
    # list as the entries before left it.
    assert shape(3) == [(0, 1, ["hello and welcome"]), (2, 2, ["let us", "begin now"])]
    assert [s["speaker"] for e in deltas[3] for s in e["added"]] == ["Alice"] * 3
    assert shape(4) == [(2, 2, ["let us begin now"])]  # a merge: two by one
    # A restore: what differs between the current list and the restored one.
    assert shape(5) == [(0, 1, ["hello and welcome"]), (2, 1, ["let us begin now"])]
    # Stored states carry no index: a split or merge does not rewrite the segments after it.
    assert all("index" not in s for e in deltas[2] for s in e["added"])


def hour_like(owner: Any, segments: int) -> Transcript:
    """A done transcript of ``segments`` segments of five timed words each."""
    t = Transcript.objects.create(
        owner=owner, status=Transcript.Status.DONE, media_name="long.mp4", duration=segments * 6.0
    )
    Segment.objects.bulk_create(
        Segment(
            transcript=t,
            index=i,
            start=i * 6.0,
            end=i * 6.0 + 5.0,
            text=f"words of segment number {i}",
            speaker="speaker_0",
            words=words_of(i * 6.0, f"words of segment number {i}", "speaker_0"),
        )
        for i in range(segments)
    )
    t.text = " ".join(s.text for s in Segment.objects.filter(transcript=t))
    t.save()
    return t


def test_a_one_segment_edit_keeps_and_reads_as_much_whatever_the_length(alice: Any) -> None:
    sizes: dict[int, list[int]] = {}
    queries: dict[int, list[str]] = {}
    for length in (4, 400):
        t = hour_like(alice, length)
        transcripts.edit_segment(t, 1, text="the first edit", author=alice)  # keeps revision 0
        with CaptureQueriesContext(connection) as captured:
            transcripts.edit_segment(t, 2, text="words of a segment now", author=alice)
            transcripts.split_segment(t, 2, word=3, author=alice)
            transcripts.merge_segments(t, 2, author=alice)
        queries[length] = [q["sql"] for q in captured.captured_queries]
        sizes[length] = [
            compact(delta) + compact(segments)
            for delta, segments in t.revisions.filter(number__gte=2)
            .order_by("number")
            .values_list("delta", "segments")
        ]
        assert t.revisions.get(number=0).segments[length - 1]["text"].endswith(str(length - 1))
    assert sizes[4] == sizes[400]
    assert max(sizes[400]) < 1000
    # As many queries either way, and none reads every segment's words.
    assert len(queries[4]) == len(queries[400])
    table = Segment._meta.db_table
    reads_words = [q for q in queries[400] if q.startswith("SELECT") and '"words"' in q]
    assert reads_words and all(f'"{table}"."id" IN' in q for q in reads_words)


def test_the_api_and_the_exports_answer_from_the_rebuilt_state(alice: Any) -> None:
    t = done_transcript(alice)
    Transcript.objects.filter(pk=t.pk).update(text=MACHINE_TEXT)
    transcripts.split_segment(t, 0, at=1.9, author=alice)
    transcripts.edit_segment(t, 2, text="thanks a lot for having", author=alice)
    api = client_for(alice)
    first = api.get(f"/api/transcripts/{t.pk}/revisions/1/").json()
    assert [s["index"] for s in first["segments"]] == [0, 1, 2, 3]
    assert [s["text"] for s in first["segments"]][1:3] == ["welcome", "thanks for having"]
    assert first["text"] == "hello and welcome thanks for having let us begin now"
    assert first["segments"][1]["words"] == [
        {"start": 2.0, "end": 2.8, "text": "welcome", "speaker": "speaker_0"}
    ]
    restored = api.post(f"/api/transcripts/{t.pk}/revisions/0/restore/", format="json").json()
    assert (restored["revision"], restored["text"]) == (3, MACHINE_TEXT)
    assert [s["text"] for s in restored["segments"]] == [line[2] for line in LINES]
    srt = exports.export_text(t, "srt", revision=2)
    assert "thanks a lot for having" in srt and "welcome" in srt


def test_a_history_changed_outside_editing_is_named(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 0, text="hi", author=alice)
    Revision.objects.filter(transcript=t, number=1).update(
        delta=[{"at": 7, "removed": 1, "added": []}]
    )
    with pytest.raises(RuntimeError, match="Revision 1 replaces segments 7 to 7, but the"):
        editing.state_at(t, 1)
