"""Editing done transcripts through transcripts.py (the rules in editing.py): segments, splits,
merges, speaker renames, find and replace, revisions and restores, exports and search after edits.

Rows made directly on the test database (SQLite, or PostgreSQL with DATABASE_URL); no media.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from django_voxtral import editing, exports, search, transcripts
from django_voxtral.exceptions import EditRejected, NotInTranscript, WrongStatus
from django_voxtral.models import Revision, Segment, Transcript

pytestmark = pytest.mark.django_db
Status = Transcript.Status

#: Three segments of "the machine's" transcript: (start, end, text, speaker), one word a second.
LINES = [
    (0.0, 3.0, "hello and welcome", "speaker_0"),
    (3.5, 6.5, "thanks for having", "speaker_1"),
    (7.0, 10.0, "let us begin now", "speaker_0"),
]


def words_of(start: float, text: str, speaker: str) -> list[dict[str, Any]]:
    return [
        {"start": start + i, "end": start + i + 0.8, "text": word, "speaker": speaker}
        for i, word in enumerate(text.split())
    ]


def done_transcript(owner: Any = None, **fields: Any) -> Transcript:
    t = Transcript.objects.create(
        owner=owner,
        status=fields.pop("status", Status.DONE),
        media_name="talk.mp4",
        duration=12.0,
        detected_language="en",
        text=" ".join(line[2] for line in LINES),
        **fields,
    )
    Segment.objects.bulk_create(
        Segment(
            transcript=t,
            index=i,
            start=start,
            end=end,
            text=text,
            speaker=speaker,
            words=words_of(start, text, speaker),
        )
        for i, (start, end, text, speaker) in enumerate(LINES)
    )
    return t


def rows(t: Transcript) -> list[tuple[int, float, float, str, str]]:
    return [
        (s.index, s.start, s.end, s.text, s.speaker) for s in Segment.objects.filter(transcript=t)
    ]


def word_times(t: Transcript, index: int) -> list[tuple[str, float, float]]:
    segment = Segment.objects.get(transcript=t, index=index)
    return [(w["text"], w["start"], w["end"]) for w in segment.words]


def test_editing_a_text_keeps_the_unchanged_words_times_and_spreads_the_new(alice: Any) -> None:
    t = done_transcript(alice)
    edited = transcripts.edit_segment(t, 0, text="Hello, and a warm welcome", author=alice)
    assert edited.revision == 1
    assert word_times(t, 0) == [
        ("Hello,", 0.0, 0.8),
        ("and", 1.0, 1.8),
        ("a", 1.8, 1.9),  # between "and" (ends 1.8) and "welcome" (starts 2.0)
        ("warm", 1.9, 2.0),
        ("welcome", 2.0, 2.8),
    ]
    t.refresh_from_db()
    assert t.text == "Hello, and a warm welcome thanks for having let us begin now"


def test_the_first_edit_keeps_the_machines_transcript_as_revision_0(alice: Any) -> None:
    t = done_transcript(alice)
    assert not t.revisions.exists()
    transcripts.edit_segment(t, 1, text="thanks for having me", author=alice)
    transcripts.edit_segment(t, 2, speaker="Alice", author=alice)
    numbers = list(t.revisions.order_by("number").values_list("number", "author", "summary"))
    assert numbers == [
        (0, None, "The machine's transcript"),
        (1, alice.pk, "Edited segment 1 text"),
        (2, alice.pk, "Edited segment 2 speaker"),
    ]
    original = t.revisions.get(number=0)
    assert original.text == "hello and welcome thanks for having let us begin now"
    assert [s["text"] for s in original.segments] == [line[2] for line in LINES]
    assert t.revisions.get(number=1).changes == [
        {
            "index": 1,
            "field": "text",
            "before": "thanks for having",
            "after": "thanks for having me",
        }
    ]


def test_an_edit_that_changes_nothing_saves_no_revision(alice: Any) -> None:
    t = done_transcript(alice)
    edited = transcripts.edit_segment(t, 0, text="  hello   and welcome ", author=alice)
    assert (edited.revision, edited.latest) == (None, None)
    assert not Revision.objects.exists()


def test_nudging_times_keeps_words_inside_and_checks_neighbours(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 1, start=3.2, end=6.0, author=alice)
    assert rows(t)[1][1:3] == (3.2, 6.0)
    assert word_times(t, 1)[-1] == ("having", 5.5, 6.0)  # clamped to the new end
    with pytest.raises(EditRejected, match="segment 0 ends at 3 s") as into_previous:
        transcripts.edit_segment(t, 1, start=2.5, author=alice)
    assert into_previous.value.field == "start"
    with pytest.raises(EditRejected, match="segment 2 starts at 7 s") as into_next:
        transcripts.edit_segment(t, 1, end=7.5, author=alice)
    assert into_next.value.field == "end"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"text": "   "}, "text", "text is empty"),
        ({"start": 6.6}, "start", "must be before end"),
        ({"end": 3.0}, "end", "must be before end"),
        ({"start": -1}, "start", "before the media"),
        ({"start": "soon"}, "start", "number of seconds"),
        ({"start": float("nan")}, "start", "number of seconds"),
        ({"speaker": "x" * 101}, "speaker", "at most 100"),
        ({"text": 5}, "text", "string"),
    ],
)
def test_what_cannot_be_saved_is_refused_naming_the_field(
    alice: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    t = done_transcript(alice)
    with pytest.raises(EditRejected, match=words) as refused:
        transcripts.edit_segment(t, 1, author=alice, **changes)
    assert refused.value.field == field
    assert rows(t)[1] == (1, 3.5, 6.5, "thanks for having", "speaker_1")


def test_the_end_must_stay_inside_the_media(alice: Any) -> None:
    t = done_transcript(alice)
    with pytest.raises(EditRejected, match="past the end of the media") as refused:
        transcripts.edit_segment(t, 2, end=12.5, author=alice)
    assert refused.value.field == "end"


def test_a_missing_segment_is_not_in_the_transcript(alice: Any) -> None:
    with pytest.raises(NotInTranscript, match="segments are 0 to 2"):
        transcripts.edit_segment(done_transcript(alice), 3, text="hi", author=alice)


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.FAILED])
def test_only_a_done_transcript_is_edited(alice: Any, status: str) -> None:
    t = done_transcript(alice, status=status)
    with pytest.raises(WrongStatus, match=f"The transcript is {status}"):
        transcripts.edit_segment(t, 0, text="hi", author=alice)
    assert not Revision.objects.exists()


def test_split_reindexes_and_merge_joins_back(alice: Any) -> None:
    t = done_transcript(alice)
    edited = transcripts.split_segment(t, 0, at=1.9, author=alice)
    assert [s["text"] for s in edited.segments] == ["hello and", "welcome"]
    assert rows(t) == [
        (0, 0.0, 1.9, "hello and", "speaker_0"),
        (1, 1.9, 3.0, "welcome", "speaker_0"),
        (2, 3.5, 6.5, "thanks for having", "speaker_1"),
        (3, 7.0, 10.0, "let us begin now", "speaker_0"),
    ]
    assert word_times(t, 1) == [("welcome", 2.0, 2.8)]
    merged = transcripts.merge_segments(t, 0, author=alice)
    assert merged.segments[0]["text"] == "hello and welcome"
    assert rows(t)[0] == (0, 0.0, 3.0, "hello and welcome", "speaker_0")
    assert [r[0] for r in rows(t)] == [0, 1, 2]
    assert word_times(t, 0) == [
        (w["text"], w["start"], w["end"]) for w in words_of(0, LINES[0][2], "")
    ]
    assert list(t.revisions.order_by("-number").values_list("summary", flat=True)) == [
        "Merged segments 0 and 1",
        "Split segment 0 at 1.9 s",
        "The machine's transcript",
    ]


def test_split_before_a_word(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.split_segment(t, 2, word=2, author=alice)
    assert [r[3] for r in rows(t)[2:]] == ["let us", "begin now"]
    assert rows(t)[2][2] == rows(t)[3][1] == 8.9  # between "us" (ends 8.8) and "begin" (9.0)


def test_split_and_merge_refusals(alice: Any) -> None:
    t = done_transcript(alice)
    with pytest.raises(EditRejected, match="not inside the segment") as outside:
        transcripts.split_segment(t, 0, at=5.0, author=alice)
    assert outside.value.field == "at"
    with pytest.raises(EditRejected, match="either at") as both:
        transcripts.split_segment(t, 0, at=1.0, word=1, author=alice)
    assert both.value.field == "at"
    with pytest.raises(EditRejected, match="different speakers") as speakers:
        transcripts.merge_segments(t, 0, author=alice)
    assert speakers.value.field == "speaker"
    with pytest.raises(EditRejected, match="is the last one") as last:
        transcripts.merge_segments(t, 2, author=alice)
    assert last.value.field == "index"
    assert not Revision.objects.exists()


def test_renaming_a_speaker_changes_it_everywhere_at_once(alice: Any) -> None:
    t = done_transcript(alice)
    edited = transcripts.rename_speaker(t, "speaker_0", "Alice", author=alice)
    assert [s["index"] for s in edited.segments] == [0, 2]
    assert [r[4] for r in rows(t)] == ["Alice", "speaker_1", "Alice"]
    words = Segment.objects.get(transcript=t, index=2).words
    assert {w["speaker"] for w in words} == {"Alice"}
    (revision,) = t.revisions.filter(number=1)
    assert revision.summary == "Renamed speaker speaker_0 to Alice (2 segments)"
    assert revision.changes == [
        {"index": None, "field": "speaker", "before": "speaker_0", "after": "Alice"}
    ]
    with pytest.raises(EditRejected, match="the speakers are: 'Alice', 'speaker_1'") as unknown:
        transcripts.rename_speaker(t, "speaker_0", "Bob", author=alice)
    assert unknown.value.field == "from"
    with pytest.raises(EditRejected) as empty:
        transcripts.rename_speaker(t, "Alice", " ", author=alice)
    assert empty.value.field == "to"
    # SRT and WebVTT name the speaker as renamed.
    assert "<v Alice>" in exports.export_text(t, "vtt")


def test_replace_counts_and_keeps_times(alice: Any) -> None:
    t = done_transcript(alice)
    t.segments.filter(index=2).update(text="let us begin now, let us go")
    edited = transcripts.replace_text(t, "LET US", "we will", match_case=False, author=alice)
    assert (edited.replaced, edited.revision) == (2, 1)
    assert rows(t)[2][3] == "we will begin now, we will go"
    assert word_times(t, 2)[2:4] == [("begin", 9.0, 9.8), ("now,", 10.0, 10.0)]
    assert transcripts.replace_text(t, "let us", "x", match_case=True, author=alice).replaced == 0
    assert t.revisions.count() == 2  # nothing found: no revision
    with pytest.raises(EditRejected, match="without words") as emptied:
        transcripts.replace_text(t, "thanks for having", "", match_case=False, author=alice)
    assert emptied.value.field == "replace"
    with pytest.raises(EditRejected) as no_find:
        transcripts.replace_text(t, "", "x", match_case=False, author=alice)
    assert no_find.value.field == "find"


def test_replace_is_literal_not_a_pattern(alice: Any) -> None:
    t = done_transcript(alice)
    t.segments.filter(index=0).update(text="costs $5 (or .5)")
    assert transcripts.replace_text(t, "(or .5)", r"\1", match_case=False, author=alice).replaced
    assert rows(t)[0][3] == r"costs $5 \1"


def test_restoring_a_revision_makes_a_new_one_and_loses_nothing(alice: Any, bob: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 0, text="hi and welcome", author=alice)
    transcripts.split_segment(t, 2, at=8.5, author=bob)
    restored = transcripts.restore_revision(t, 0, author=bob)
    assert restored.revision == 3
    assert rows(t) == [
        (i, start, end, text, speaker) for i, (start, end, text, speaker) in enumerate(LINES)
    ]
    t.refresh_from_db()
    assert t.text == "hello and welcome thanks for having let us begin now"
    latest = t.revisions.get(number=3)
    assert (latest.summary, latest.author) == ("Restored revision 0", bob)
    assert {
        "index": 0,
        "field": "text",
        "before": "hi and welcome",
        "after": "hello and welcome",
    } in latest.changes
    assert {"index": 3, "field": "segment", "before": "begin now", "after": None} in latest.changes
    transcripts.restore_revision(t, 2, author=alice)
    assert len(rows(t)) == 4 and rows(t)[0][3] == "hi and welcome"
    with pytest.raises(NotInTranscript, match="revisions are 0 to 4"):
        transcripts.restore_revision(t, 9, author=alice)


def test_exports_give_the_current_text_and_the_original_on_request(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 1, text="thanks so much for having me", author=alice)
    for fmt in ("srt", "vtt", "txt", "json"):
        current = exports.export_text(t, fmt)
        original = exports.export_text(t, fmt, revision=0)
        assert "thanks so much for having me" in current, fmt
        assert "thanks so much" not in original, fmt
        assert "thanks for having" in original, fmt
    assert "thanks so much" in editing.result_at(t, 1).text


def test_search_follows_every_edit(alice: Any) -> None:
    t = done_transcript(alice)
    assert [h.index for h in search.search(alice, "welcome")] == [0]
    transcripts.edit_segment(t, 0, text="hello and greetings", author=alice)
    assert search.search(alice, "welcome") == []
    assert [(h.transcript_id, h.index) for h in search.search(alice, "greetings")] == [(t.pk, 0)]
    transcripts.split_segment(t, 2, at=8.5, author=alice)
    assert [h.index for h in search.search(alice, "begin")] == [3]
    transcripts.replace_text(t, "thanks", "cheers", match_case=False, author=alice)
    assert [h.index for h in search.search(alice, "cheers")] == [1]
    transcripts.restore_revision(t, 0, author=alice)
    assert [h.index for h in search.search(alice, "welcome")] == [0]
    assert search.search(alice, "greetings") == search.search(alice, "cheers") == []


def test_transcribing_again_forgets_the_revisions(alice: Any) -> None:
    t = done_transcript(alice)
    transcripts.edit_segment(t, 0, text="hi", author=alice)
    transcripts.retranscribe(Transcript.objects.filter(pk=t.pk))
    assert not Revision.objects.filter(transcript=t).exists()


@pytest.mark.django_db(transaction=True)
def test_edits_at_the_same_time_each_get_their_own_revision(alice: Any) -> None:
    """Four editors at once, one thread each: the transcript's lock puts them in a row."""
    t = done_transcript(alice)
    failures: list[BaseException] = []

    def edit(index: int) -> None:
        try:
            transcripts.edit_segment(t, index % 3, speaker=f"editor {index}", author=alice)
        except BaseException as exc:  # collected, then shown by the assert
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    numbers = sorted(t.revisions.values_list("number", flat=True))
    assert numbers == [0, 1, 2, 3, 4]
    assert t.revisions.get(number=0).segments[0]["speaker"] == "speaker_0"
