"""Live progress in the status poll: the partial segments of a running transcript and its ETA.

The test client against the real views, rows made directly (chunk results as a worker stores
them); the clock of the estimate is django_voxtral.progress.now, fixed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from django_voxtral import progress
from django_voxtral.models import Segment, Transcript, TranscriptChunk
from django_voxtral.progress import eta_seconds
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db

Status = Transcript.Status
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def detail(pk: Any) -> str:
    return f"/api/transcripts/{pk}/"


def chunk(
    transcript: Transcript,
    index: int,
    segments: Sequence[tuple[float, float, str]],
    *,
    speaker: str | None = None,
) -> TranscriptChunk:
    """Chunk ``index`` (30 s each) as the service answered it: times in the chunk's own timeline."""
    items: list[dict[str, Any]] = []
    for i, (start, end, text) in enumerate(segments):
        item: dict[str, Any] = {"id": i, "start": start, "end": end, "text": text}
        if speaker is not None:
            item["speaker"] = speaker
        items.append(item)
    return TranscriptChunk.objects.create(
        transcript=transcript,
        index=index,
        start=index * 30.0,
        end=(index + 1) * 30.0,
        result={
            "text": " ".join(text for _, _, text in segments),
            "segments": items,
            "language": "en",
        },
    )


@pytest.fixture
def running(alice: Any) -> Transcript:
    """Chunks 2 then 0 of 4 arrived (out of order, as concurrent requests answer), this run."""
    transcript = Transcript.objects.create(
        owner=alice,
        media_name="talk.wav",
        status=Status.RUNNING,
        chunks_total=4,
        chunks_done=2,
        started=timezone.now() - timedelta(minutes=1),
    )
    chunk(transcript, 2, ((0.5, 4.25, "Third chunk."), (5.0, 9.0, "Still third.")))
    chunk(transcript, 0, ((1.0, 2.5, "Hello there."),), speaker="speaker_0")
    return transcript


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch, running: Transcript) -> datetime:
    assert running.started is not None
    at = running.started + timedelta(seconds=90)
    monkeypatch.setattr(progress, "now", lambda: at)
    return at


def test_a_running_poll_shows_the_chunks_so_far_in_the_media_timeline(
    alice: Any, running: Transcript, fixed_clock: datetime
) -> None:
    body = client_for(alice).get(detail(running.pk)).json()
    assert body["status"] == "running"
    assert (body["chunks_done"], body["chunks_total"]) == (2, 4)
    assert body["partial"] == {
        "segments": [
            {"start": 1.0, "end": 2.5, "text": "Hello there.", "speaker": "speaker_0"},
            {"start": 60.5, "end": 64.25, "text": "Third chunk."},
            {"start": 65.0, "end": 69.0, "text": "Still third."},
        ],
        "text": "Hello there. Third chunk. Still third.",
    }
    # 90 s for 2 chunks: 45 s each, 2 chunks left.
    assert body["eta_seconds"] == 90
    assert body["text"] is None and body["result"] is None


def test_a_running_poll_makes_three_queries(
    alice: Any, running: Transcript, fixed_clock: datetime, django_assert_num_queries: Any
) -> None:
    client = client_for(alice)
    with django_assert_num_queries(3):  # the token, the transcript, its chunks
        response = client.get(detail(running.pk))
    assert response.status_code == 200
    assert len(response.json()["partial"]["segments"]) == 3


def test_the_next_polls_of_the_same_stage_read_no_chunks_until_one_more_is_counted(
    alice: Any, running: Transcript, fixed_clock: datetime, django_assert_num_queries: Any
) -> None:
    client = client_for(alice)
    client.get(detail(running.pk))  # reads and merges the chunks once
    with django_assert_num_queries(2):  # the token, the transcript: the partial is cached
        again = client.get(detail(running.pk)).json()
    assert again["partial"]["text"] == "Hello there. Third chunk. Still third."
    chunk(running, 1, ((0.0, 1.0, "Second."),))
    Transcript.objects.filter(pk=running.pk).update(chunks_done=3)
    with django_assert_num_queries(3):  # one more chunk counted: read again
        later = client.get(detail(running.pk)).json()
    assert later["partial"]["text"] == "Hello there. Second. Third chunk. Still third."


def test_partial_collapses_a_repetition_loop_as_the_final_result_does(alice: Any) -> None:
    transcript = Transcript.objects.create(
        owner=alice, status=Status.RUNNING, chunks_total=2, chunks_done=1, started=timezone.now()
    )
    chunk(transcript, 1, ((0.0, 6.0, "we go there we go there we go there we go there"),))
    body = client_for(alice).get(detail(transcript.pk)).json()
    assert body["partial"] == {
        "segments": [{"start": 30.0, "end": 36.0, "text": "we go there"}],
        "text": "we go there",
    }


def test_partial_reads_text_only_chunks_and_leaves_words_out(alice: Any) -> None:
    transcript = Transcript.objects.create(
        owner=alice, status=Status.RUNNING, chunks_total=3, chunks_done=2, started=timezone.now()
    )
    # A service that answers only text; and one whose answer also times its words.
    TranscriptChunk.objects.create(
        transcript=transcript, index=0, start=0.0, end=30.0, result={"text": "Only text."}
    )
    TranscriptChunk.objects.create(
        transcript=transcript,
        index=1,
        start=30.0,
        end=60.0,
        result={
            "text": "Timed words.",
            "segments": [{"id": 0, "start": 1.0, "end": 2.0, "text": "Timed words."}],
            "words": [
                {"start": 1.0, "end": 1.5, "text": "Timed"},
                {"start": 1.5, "end": 2.0, "text": "words."},
            ],
        },
    )
    body = client_for(alice).get(detail(transcript.pk)).json()
    assert body["partial"] == {
        "segments": [{"start": 31.0, "end": 32.0, "text": "Timed words."}],
        "text": "Only text. Timed words.",
    }


def chunk_queries(client: APIClient, pk: Any) -> tuple[dict[str, Any], list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(detail(pk))
    assert response.status_code == 200, response.content
    table = TranscriptChunk._meta.db_table
    return response.json(), [q["sql"] for q in captured.captured_queries if table in q["sql"]]


def test_a_done_transcript_has_no_partial_and_reads_no_chunks(alice: Any) -> None:
    transcript = Transcript.objects.create(
        owner=alice,
        status=Status.DONE,
        text="Hello there.",
        chunks_total=1,
        chunks_done=1,
        started=timezone.now() - timedelta(seconds=5),
        finished=timezone.now(),
    )
    Segment.objects.create(transcript=transcript, index=0, start=1.0, end=2.5, text="Hello there.")
    chunk(transcript, 0, ((1.0, 2.5, "Hello there."),))
    body, queries = chunk_queries(client_for(alice), transcript.pk)
    assert body["partial"] is None and body["eta_seconds"] is None
    assert body["result"]["text"] == "Hello there."
    assert queries == []


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELED])
def test_a_failed_or_canceled_transcript_has_no_partial(alice: Any, status: str) -> None:
    transcript = Transcript.objects.create(
        owner=alice, status=status, chunks_total=4, chunks_done=1, error="Stopped."
    )
    chunk(transcript, 0, ((1.0, 2.5, "Hello there."),))
    body, queries = chunk_queries(client_for(alice), transcript.pk)
    assert body["partial"] is None and body["eta_seconds"] is None
    assert queries == []


def test_a_queued_transcript_without_chunks_is_polled_in_two_queries(
    alice: Any, django_assert_num_queries: Any
) -> None:
    transcript = Transcript.objects.create(owner=alice, media_name="new.wav")
    client = client_for(alice)
    with django_assert_num_queries(2):
        body = client.get(detail(transcript.pk)).json()
    assert body["partial"] == {"segments": [], "text": ""}
    assert body["eta_seconds"] is None


def test_a_running_transcript_before_its_first_chunk_reads_no_chunks(alice: Any) -> None:
    transcript = Transcript.objects.create(
        owner=alice, status=Status.RUNNING, chunks_total=4, started=timezone.now()
    )
    body, queries = chunk_queries(client_for(alice), transcript.pk)
    assert body["partial"] == {"segments": [], "text": ""}
    assert body["eta_seconds"] is None
    assert queries == []


def test_an_interrupted_transcript_back_in_the_queue_shows_its_chunks(alice: Any) -> None:
    transcript = Transcript.objects.create(
        owner=alice, status=Status.QUEUED, chunks_total=4, chunks_done=1, error="Interrupted."
    )
    chunk(transcript, 1, ((2.0, 3.0, "Kept."),))
    body, queries = chunk_queries(client_for(alice), transcript.pk)
    assert body["partial"] == {
        "segments": [{"start": 32.0, "end": 33.0, "text": "Kept."}],
        "text": "Kept.",
    }
    assert body["eta_seconds"] is None  # not running: no clock to go by
    assert len(queries) == 1


def test_a_resumed_run_estimates_only_from_the_chunks_it_sent(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks 0 and 1 were stored by an earlier run; this one started a minute ago.
    started = timezone.now()
    transcript = Transcript.objects.create(
        owner=alice, status=Status.RUNNING, chunks_total=4, chunks_done=2, started=started
    )
    for index in (0, 1):
        chunk(transcript, index, ((0.0, 1.0, f"Earlier {index}."),))
    TranscriptChunk.objects.filter(transcript=transcript).update(
        created=started - timedelta(hours=1)
    )
    monkeypatch.setattr(progress, "now", lambda: started + timedelta(seconds=60))
    client = client_for(alice)
    body = client.get(detail(transcript.pk)).json()
    assert body["eta_seconds"] is None  # resumed chunks took this run no time
    assert body["partial"]["text"] == "Earlier 0. Earlier 1."

    chunk(transcript, 2, ((0.0, 1.0, "Now."),))
    Transcript.objects.filter(pk=transcript.pk).update(chunks_done=3)
    body = client.get(detail(transcript.pk)).json()
    assert body["eta_seconds"] == 60  # 60 s for this run's one chunk, one left
    assert body["partial"]["text"] == "Earlier 0. Earlier 1. Now."


def test_the_list_stays_without_partial_and_eta(alice: Any, running: Transcript) -> None:
    body = client_for(alice).get("/api/transcripts/").json()
    (item,) = body["results"]
    assert item["status"] == "running"
    assert "partial" not in item and "eta_seconds" not in item


def test_the_schema_describes_partial_and_eta(alice: Any) -> None:
    schema = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    detail_props = components["TranscriptDetail"]["properties"]
    assert detail_props["eta_seconds"]["type"] == "integer"
    assert detail_props["eta_seconds"]["nullable"] is True
    assert detail_props["partial"]["nullable"] is True
    partial = components["PartialResult"]["properties"]
    assert set(partial) == {"segments", "text"}
    segment = components["PartialSegment"]
    assert set(segment["properties"]) == {"start", "end", "text", "speaker"}
    assert set(segment["required"]) == {"start", "end", "text"}
    assert "partial" not in components["Transcript"]["properties"]


# --- the estimate, with fixed clocks ------------------------------------------------------


def at_work(done: int, total: int = 4, status: str = Status.RUNNING) -> Transcript:
    return Transcript(status=status, chunks_done=done, chunks_total=total, started=T0)


def test_no_estimate_before_the_first_chunk() -> None:
    assert eta_seconds(at_work(0), T0 + timedelta(seconds=30)) is None
    assert eta_seconds(at_work(0, total=0), T0 + timedelta(seconds=30)) is None


def test_the_estimate_is_the_time_per_chunk_so_far_times_the_chunks_left() -> None:
    assert eta_seconds(at_work(1), T0 + timedelta(seconds=20)) == 60
    assert eta_seconds(at_work(3), T0 + timedelta(seconds=30)) == 10
    # Whole seconds, rounded up: 10 s / 3 chunks * 1 left.
    assert eta_seconds(at_work(3), T0 + timedelta(seconds=10)) == 4


def test_the_estimate_is_zero_once_every_chunk_is_done_and_never_negative() -> None:
    later = T0 + timedelta(seconds=100)
    assert eta_seconds(at_work(4), later) == 0
    assert eta_seconds(at_work(5), later) == 0  # more done than counted: still not negative
    assert eta_seconds(at_work(2), T0 - timedelta(seconds=5)) == 0  # a clock behind started


def test_chunks_carried_from_an_earlier_run_do_not_count_as_this_runs_work() -> None:
    later = T0 + timedelta(seconds=40)
    assert eta_seconds(at_work(3), later, carried=2) == 40
    assert eta_seconds(at_work(3), later, carried=3) is None
    assert eta_seconds(at_work(3), later, carried=5) is None


@pytest.mark.parametrize("status", [Status.QUEUED, Status.DONE, Status.FAILED, Status.CANCELED])
def test_no_estimate_unless_running(status: str) -> None:
    assert eta_seconds(at_work(2, status=status), T0 + timedelta(seconds=30)) is None


def test_no_estimate_without_a_start() -> None:
    transcript = at_work(2)
    transcript.started = None
    assert eta_seconds(transcript, T0) is None
