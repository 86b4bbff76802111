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

from django_voxtral import runner
from django_voxtral.models import Transcript, TranscriptChunk
from django_voxtral.runner import claim, run_transcript, words_by_segment
from django_voxtral.signals import transcript_failed, transcript_finished, transcript_started
from django_voxtral.speech.backends import dummy
from django_voxtral.speech.backends.errors import ServiceUnavailable
from django_voxtral.speech.results import Segment, TranscriptionResult, Word
from django_voxtral.tasks import enqueue
from tests.django_settings import TONES_ARE_SPEECH

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


def make_clip_transcript(title: str, name: str, data: bytes) -> tuple[Any, Transcript]:
    """A test app Clip whose file holds ``data``, and a transcript of that file, not yet run."""
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Clip

    clip = Clip.objects.create(title=title)
    clip.file.save(name, ContentFile(data))
    transcript = Transcript.objects.create(
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(clip.pk),
        source_field="file",
        media_name=clip.file.name,
    )
    return clip, transcript


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
        **TONES_ARE_SPEECH,
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


# --- the media gone, the run overtaken, the file changed ----------------------------------


def test_media_deleted_from_storage_fails_with_a_message(
    long_pause_audio: Path, outbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    transcript = make_transcript(long_pause_audio)
    transcript.media.storage.delete(transcript.media.name)

    assert run_transcript(transcript.pk) == "failed"

    transcript.refresh_from_db()
    assert "missing from the storage" in transcript.error
    assert "upload it again" in transcript.error
    assert "Unexpected" not in transcript.error
    assert outbox == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "not logged as a bug"


def test_hooked_instance_deleted_before_the_worker_runs(
    long_pause_audio: Path, outbox: Any
) -> None:
    clip, transcript = make_clip_transcript("soon gone", "gone.wav", long_pause_audio.read_bytes())
    clip.delete()

    assert run_transcript(transcript.pk) == "failed"

    transcript.refresh_from_db()
    assert "object was removed" in transcript.error and "upload it again" in transcript.error
    assert outbox == []


def test_a_cancel_during_the_last_chunk_is_not_overwritten(
    long_pause_audio: Path, outbox: Any, signals: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = make_transcript(long_pause_audio)
    real = runner.transcribe_media

    def canceled_at_the_end(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.CANCELED)
        return result

    monkeypatch.setattr(runner, "transcribe_media", canceled_at_the_end)

    assert run_transcript(transcript.pk) == "canceled"

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.CANCELED
    assert not transcript.segments.exists() and transcript.text == ""
    assert transcript.chunks.count() == len(outbox) >= 2, "the chunks stay for a retry"
    assert signals.events == [("started", "running")]


def test_an_older_run_stops_once_the_transcript_is_claimed_again(
    long_pause_audio: Path, outbox: Any
) -> None:
    """Cancel, then retry while the first worker is still busy: only the second run goes on."""
    transcript = make_transcript(long_pause_audio)
    claims: list[bool] = []

    def cancel_and_retry(sender: Any, transcript: Transcript, **kwargs: Any) -> None:
        Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.CANCELED)
        Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
        claims.append(claim(transcript.pk))  # a second worker takes it

    transcript_started.connect(cancel_and_retry, weak=False)
    try:
        assert run_transcript(transcript.pk) == "lost", "another run owns it now"
    finally:
        transcript_started.disconnect(cancel_and_retry)

    assert claims == [True]
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.RUNNING, "left to the second run"
    assert outbox == [], "the first run sent nothing once overtaken"


def test_a_retry_after_the_file_changed_sends_every_chunk_again(
    long_pause_audio: Path, outbox: Any
) -> None:
    clip, transcript = make_clip_transcript("edited", "take1.wav", long_pause_audio.read_bytes())
    assert run_transcript(transcript.pk) == "done"
    first_sha = Transcript.objects.get(pk=transcript.pk).sha256
    total = transcript.chunks.count()
    # The worker died after chunk 0 ... and meanwhile the object got another file.
    transcript.chunks.exclude(index=0).delete()
    changed = bytearray(long_pause_audio.read_bytes())
    changed[-2:] = b"\x01\x01"  # one sample differs: another file to the hash
    clip.file.save("take2.wav", ContentFile(bytes(changed)))
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
    outbox.clear()

    assert run_transcript(transcript.pk) == "done"

    transcript.refresh_from_db()
    assert transcript.sha256 != first_sha
    assert len(outbox) == total, "the stored chunk 0 belonged to the old file"


def test_text_left_out_is_stored_with_the_transcript_and_served(
    long_pause_audio: Path, outbox: Any, settings: Any
) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {"default": {"BACKEND": "dummy", "OPTIONS": {"text": "go " * 9}}},
    }
    transcript = make_transcript(long_pause_audio)
    assert run_transcript(transcript.pk) == "done"
    transcript.refresh_from_db()
    chunks = transcript.chunks.count()
    assert transcript.text == " ".join(["go"] * chunks)
    assert len(transcript.dropped) == chunks
    assert {d["reason"] for d in transcript.dropped} == {"repetition"}
    # What was paid for stays as the service gave it.
    assert all(c.result["text"].count("go") == 9 for c in transcript.chunks.all())
    contract = transcript.to_result().to_contract()
    assert [d["text"] for d in contract["dropped"]] == ["go go go go go go go go"] * chunks
