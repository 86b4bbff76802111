"""The worker side of the Django app: claiming, running, saving chunks, failing, retrying.

Real ffmpeg on generated speech, Django's InMemoryStorage (so no code may use FieldFile.path).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from django_voxtral.backends import dummy
from django_voxtral.backends.errors import ServiceUnavailable
from django_voxtral.models import Transcript, TranscriptChunk
from django_voxtral.results import Segment, TranscriptionResult, Word
from django_voxtral.runner import claim, run_transcript, words_by_segment
from django_voxtral.signals import transcript_failed, transcript_finished, transcript_started
from django_voxtral.tasks import enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox() -> Any:
    dummy.outbox.clear()
    yield dummy.outbox
    dummy.outbox.clear()


def make_transcript(path: Path, **fields: Any) -> Transcript:
    transcript = Transcript(media_name=path.name, **fields)
    transcript.media.save(path.name, ContentFile(path.read_bytes()), save=False)
    transcript.save()
    return transcript


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, signal: Any, sender: Any, transcript: Transcript, **kwargs: Any) -> None:
        self.events.append((self.names[signal], transcript.status))

    names: dict[Any, str] = {
        transcript_started: "started",
        transcript_finished: "finished",
        transcript_failed: "failed",
    }


@pytest.fixture
def signals() -> Any:
    recorder = Recorder()
    for signal in Recorder.names:
        signal.connect(recorder, weak=False)
    yield recorder
    for signal in Recorder.names:
        signal.disconnect(recorder)


def test_run_saves_result_segments_and_chunks(
    long_pause_audio: Path, outbox: Any, signals: Any
) -> None:
    transcript = make_transcript(long_pause_audio)

    assert run_transcript(transcript.pk) == "done"

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE
    assert transcript.error == ""
    assert transcript.started is not None and transcript.finished is not None
    assert transcript.duration == pytest.approx(audio_duration(long_pause_audio), abs=0.1)
    assert len(transcript.sha256) == 64
    chunks = list(transcript.chunks.order_by("index"))
    assert len(chunks) >= 2, "the long pauses must split the file"
    assert len(outbox) == len(chunks)
    assert transcript.chunks_total == transcript.chunks_done == len(chunks)
    assert transcript.progress == 100
    segments = list(transcript.segments.order_by("index"))
    assert [s.index for s in segments] == list(range(len(segments)))
    starts = [s.start for s in segments]
    assert starts == sorted(starts)
    # Segment times are in the media's timeline: the later chunks' segments start later.
    assert segments[-1].start >= chunks[-1].start - 0.01
    assert transcript.text
    assert signals.events == [("started", "running"), ("finished", "done")]
    result = transcript.to_result()
    assert result.to_contract()["inference_status"]["status"] == "succeeded"
    assert len(result.segments) == len(segments)


def audio_duration(path: Path) -> float:
    import soundfile

    return float(soundfile.info(str(path)).duration)


def test_claim_is_atomic_across_threads(long_pause_audio: Path, transactional_db: Any) -> None:
    transcript = make_transcript(long_pause_audio)
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            wins.append(claim(transcript.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
    assert Transcript.objects.get(pk=transcript.pk).status == Transcript.Status.RUNNING


def test_a_claimed_transcript_is_not_run_twice(long_pause_audio: Path, outbox: Any) -> None:
    transcript = make_transcript(long_pause_audio)
    assert run_transcript(transcript.pk) == "done"
    sent = len(outbox)
    assert run_transcript(transcript.pk) == "done"
    assert len(outbox) == sent


def test_not_a_media_file_fails_with_its_error_and_signal(
    tmp_path: Path, outbox: Any, signals: Any
) -> None:
    garbage = tmp_path / "holiday.mp4"
    garbage.write_text("this is not a video\n" * 20)
    transcript = make_transcript(garbage)

    assert run_transcript(transcript.pk) == "failed"

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.FAILED
    assert "holiday.mp4" in transcript.error or "not an audio or video file" in transcript.error
    assert "Traceback" not in transcript.error
    assert transcript.finished is not None
    assert outbox == []
    assert signals.events == [("started", "running"), ("failed", "failed")]


def test_a_failing_service_fails_the_transcript_naming_the_chunk(
    long_pause_audio: Path, outbox: Any, settings: Any, signals: Any
) -> None:
    settings.VOXTRAL = {
        "BACKENDS": {
            "default": {"BACKEND": "dummy", "OPTIONS": {"error": ServiceUnavailable("down")}}
        },
        "CONCURRENCY": 1,
    }
    transcript = make_transcript(long_pause_audio)
    assert run_transcript(transcript.pk) == "failed"
    transcript.refresh_from_db()
    # The message names the chunk and its time range in the media, then the service's error.
    assert re.fullmatch(r"chunk 0 \(0:00:0\d\.\d-0:00:0\d\.\d\) failed: down", transcript.error)
    assert signals.events == [("started", "running"), ("failed", "failed")]


def test_retry_sends_only_the_chunks_not_stored(long_pause_audio: Path, outbox: Any) -> None:
    transcript = make_transcript(long_pause_audio)
    assert run_transcript(transcript.pk) == "done"
    total = transcript.chunks.count()
    assert total >= 2
    # As if the worker had died after the first chunk: only chunk 0 is stored.
    transcript.chunks.exclude(index=0).delete()
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
    outbox.clear()

    assert run_transcript(transcript.pk) == "done"

    assert sorted(Path(call.audio_path).name for call in outbox) == sorted(
        f"chunk-{i:05d}.flac" for i in range(1, total)
    )
    assert transcript.chunks.count() == total
    assert transcript.segments.count() == total


def test_cancel_during_run_stops_and_stays_canceled(long_pause_audio: Path, outbox: Any) -> None:
    transcript = make_transcript(long_pause_audio)

    def cancel(sender: Any, transcript: Transcript, **kwargs: Any) -> None:
        Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.CANCELED)

    transcript_started.connect(cancel, weak=False)
    try:
        assert run_transcript(transcript.pk) == "canceled"
    finally:
        transcript_started.disconnect(cancel)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.CANCELED
    assert outbox == []


def test_missing_media_fails_with_a_message(outbox: Any) -> None:
    transcript = Transcript.objects.create(media_name="gone.mp4")
    assert run_transcript(transcript.pk) == "failed"
    transcript.refresh_from_db()
    assert "upload it again" in transcript.error


def test_enqueue_runs_on_commit(
    long_pause_audio: Path, outbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    transcript = make_transcript(long_pause_audio)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue(transcript)
    assert len(callbacks) == 1
    assert Transcript.objects.get(pk=transcript.pk).status == Transcript.Status.QUEUED
    callbacks[0]()  # the commit: the ImmediateBackend runs the task now
    assert Transcript.objects.get(pk=transcript.pk).status == Transcript.Status.DONE


def test_words_are_given_to_the_segment_they_start_in() -> None:
    result = TranscriptionResult(
        text="a b c",
        segments=(Segment(0, 0.0, 1.0, "a b"), Segment(1, 5.0, 6.0, "c")),
        words=(Word(0.1, 0.4, "a"), Word(0.5, 0.9, "b"), Word(5.1, 5.5, "c")),
    )
    assert [[w.text for w in ws] for ws in words_by_segment(result)] == [["a", "b"], ["c"]]


def test_stored_chunks_round_trip(long_pause_audio: Path, outbox: Any) -> None:
    transcript = make_transcript(long_pause_audio)
    run_transcript(transcript.pk)
    stored = transcript.stored_chunks()
    rows = TranscriptChunk.objects.filter(transcript=transcript).order_by("index")
    assert [c.index for c in stored] == [r.index for r in rows]
    assert stored[0].result.to_contract() == rows[0].result
