"""transcripts.py, the one place that creates and changes transcripts, called as Python code.

Work is queued on Django's dummy task backend, so each test sees what was queued without running
it; files are real tones in the test storage (InMemoryStorage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from django_voxtral import transcripts
from django_voxtral.exceptions import (
    ACTIONABLE,
    BudgetExceeded,
    UnknownBackend,
    UploadNotStored,
    VoxtralError,
    WrongStatus,
)
from django_voxtral.models import Segment, Transcript, TranscriptChunk
from django_voxtral.speech.backends.errors import UnsupportedOption
from django_voxtral.speech.backends.options import OPTION_FIELDS, TranscriptionOptions
from ffmpeg_bridge import NotAMediaFile
from tests.django.test_admin_actions import with_chunks
from tests.django.test_admin_transcripts import make
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import tone
from tests.testapp.queue import dummy_queue

pytestmark = pytest.mark.django_db
Status = Transcript.Status


@pytest.fixture
def queued(settings: Any) -> Iterator[Callable[[], list[str]]]:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **getattr(settings, "VOXTRAL", {})}
    yield from dummy_queue(settings)


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone(tmp_path_factory.mktemp("transcripts") / "talk.wav", 1.5, 440)


def uploaded(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="audio/wav")


# --- creating ---------------------------------------------------------------------------------


def test_option_fields_cover_every_option() -> None:
    options = TranscriptionOptions(
        task="translate",
        language="fr",
        initial_prompt="Names: Zoë.",
        temperature=0.2,
        chunk_level="word",
        chunk_length_s=20,
    )
    fields = transcripts.option_fields(options)
    assert set(fields) == set(OPTION_FIELDS)
    assert Transcript(**fields).options() == options


def test_create_from_upload_makes_a_queued_row_and_enqueues_it_on_commit(
    alice: Any,
    tone_wav: Path,
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    options = TranscriptionOptions(language="en", initial_prompt="A tone.")
    with django_capture_on_commit_callbacks(execute=True):
        transcript = transcripts.create_from_upload(
            uploaded(tone_wav), options=options, owner=alice
        )
        assert queued() == [], "nothing is queued before the transaction commits"
    assert queued() == [str(transcript.pk)]
    stored = Transcript.objects.get(pk=transcript.pk)
    assert stored.status == Status.QUEUED
    assert stored.owner == alice
    assert stored.media_name == "talk.wav"
    assert stored.duration == pytest.approx(1.5, abs=0.05)
    assert stored.options() == options
    assert stored.media.read() == tone_wav.read_bytes()


@pytest.mark.parametrize(
    ("make_file", "options", "backend", "error"),
    [
        (lambda p: SimpleUploadedFile("x.wav", b"not audio at all"), {}, "default", NotAMediaFile),
        (uploaded, {}, "nope", UnknownBackend),
        (uploaded, {"task": "translate"}, "english_only", UnsupportedOption),
    ],
    ids=["not-media", "unknown-backend", "unsupported-option"],
)
def test_a_refused_upload_leaves_no_row_and_no_file(
    alice: Any,
    tone_wav: Path,
    queued: Callable[[], list[str]],
    settings: Any,
    make_file: Callable[[Path], Any],
    options: dict[str, Any],
    backend: str,
    error: type[Exception],
) -> None:
    settings.VOXTRAL = {
        **settings.VOXTRAL,
        "BACKENDS": {
            "default": {"BACKEND": "dummy"},
            "english_only": {"BACKEND": "tests.testapp.backends.EnglishOnlyBackend"},
        },
    }
    with pytest.raises(error) as caught:
        transcripts.create_from_upload(
            make_file(tone_wav),
            options=TranscriptionOptions(**options),
            backend=backend,
            owner=alice,
        )
    assert isinstance(caught.value, ACTIONABLE)
    assert not Transcript.objects.exists()
    assert queued() == []


def test_a_storage_error_leaves_no_row(
    alice: Any, tone_wav: Path, queued: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Any, name: str, content: Any) -> str:
        raise OSError(36, "File name too long")

    monkeypatch.setattr(InMemoryStorage, "_save", refuse)
    with pytest.raises(UploadNotStored, match="the storage refused it \\(File name too long\\)"):
        transcripts.create_from_upload(
            uploaded(tone_wav), options=TranscriptionOptions(), owner=alice
        )
    assert not Transcript.objects.exists()


def test_the_budget_is_charged_to_who_asks(
    alice: Any, bob: Any, tone_wav: Path, queued: Callable[[], list[str]], settings: Any
) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "USER_MINUTES_PER_DAY": 0.01}
    with pytest.raises(BudgetExceeded, match="Over the daily audio budget"):
        transcripts.create_from_upload(
            uploaded(tone_wav), options=TranscriptionOptions(), owner=alice, charged_to=bob
        )
    assert not Transcript.objects.exists()


def test_a_local_file_gets_its_length_and_is_left_for_the_caller_to_run(
    tone_wav: Path, queued: Callable[[], list[str]]
) -> None:
    with tone_wav.open("rb") as handle:
        transcript = transcripts.create_from_upload(
            File(handle, name=tone_wav.name), options=TranscriptionOptions(), queue=False
        )
    assert transcript.owner is None
    assert transcript.duration == pytest.approx(1.5, abs=0.05)
    assert queued() == [], "queue=False: the caller runs it"


# --- changing ---------------------------------------------------------------------------------


def test_retry_queues_failed_and_canceled_and_keeps_their_chunks(
    queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    failed = with_chunks(make("a.wav", Status.FAILED, error="HTTP 503"), 2)
    canceled = make("b.wav", Status.CANCELED)
    done = make("c.wav")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = transcripts.retry(Transcript.objects.all())
    assert sorted(map(str, outcome.changed)) == sorted([str(failed.pk), str(canceled.pk)])
    assert outcome.left == {transcripts.LEFT_NOT_RETRYABLE: 1}
    assert sorted(queued()) == sorted([str(failed.pk), str(canceled.pk)])
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Status.QUEUED, "")
    assert failed.chunks.count() == 2, "what was paid for is kept"
    done.refresh_from_db()
    assert done.status == Status.DONE


def test_retranscribe_clears_the_result_and_leaves_running_ones(
    queued: Callable[[], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    done = with_chunks(make("a.wav", segments=((0, 1, "old"),), duration=1.0), 2)
    make("b.wav", Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = transcripts.retranscribe(Transcript.objects.all())
    assert outcome.changed == [done.pk]
    assert outcome.left == {transcripts.LEFT_RUNNING: 1}
    assert queued() == [str(done.pk)]
    done.refresh_from_db()
    assert (done.status, done.text, done.duration) == (Status.QUEUED, "", None)
    assert not TranscriptChunk.objects.filter(transcript=done).exists()
    assert not Segment.objects.filter(transcript=done).exists()


def test_retranscribe_over_budget_changes_nothing(alice: Any, settings: Any) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, "USER_MINUTES_PER_DAY": 1}
    done = make("a.wav", segments=((0, 1, "kept"),), duration=600.0, owner=alice)
    with pytest.raises(BudgetExceeded):
        transcripts.retranscribe(Transcript.objects.all(), charged_to=alice)
    done.refresh_from_db()
    assert (done.status, done.text) == (Status.DONE, "kept")


def test_translate_makes_new_transcripts_and_says_what_it_left(
    queued: Callable[[], list[str]], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VOXTRAL = {
        **settings.VOXTRAL,
        "BACKENDS": {
            "default": {"BACKEND": "dummy"},
            "english_only": {"BACKEND": "tests.testapp.backends.EnglishOnlyBackend"},
        },
    }
    source = make("a.wav", duration=2.0, language="fr")
    offline = make("b.wav", backend="english_only")
    translation = make("c.wav", task=Transcript.Task.TRANSLATE)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = transcripts.translate(Transcript.objects.all())
    (made,) = outcome.changed
    assert made.task == Transcript.Task.TRANSLATE
    assert (made.media.name, made.language, made.duration) == (source.media.name, "fr", 2.0)
    assert outcome.left == {
        transcripts.LEFT_TRANSLATION: 1,
        transcripts.LEFT_CANNOT_TRANSLATE: 1,
    }
    count, reason = outcome.refused["english_only"]
    assert count == 1 and "cannot translate" in reason
    assert queued() == [str(made.pk)]
    assert Transcript.objects.get(pk=offline.pk).task == Transcript.Task.TRANSCRIBE
    assert Transcript.objects.filter(pk=translation.pk).exists()


def test_cancel_stops_queued_and_running_and_leaves_finished() -> None:
    queued_one = make("a.wav", Status.QUEUED)
    running = make("b.wav", Status.RUNNING)
    make("c.wav")
    outcome = transcripts.cancel(Transcript.objects.all())
    assert sorted(map(str, outcome.changed)) == sorted([str(queued_one.pk), str(running.pk)])
    assert outcome.left == {transcripts.LEFT_FINISHED: 1}
    statuses = dict(Transcript.objects.values_list("media_name", "status"))
    assert statuses == {"a.wav": Status.CANCELED, "b.wav": Status.CANCELED, "c.wav": Status.DONE}


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        (transcripts.retry_one, Status.DONE, "only failed or canceled transcripts can be retried"),
        (transcripts.retry_one, Status.RUNNING, "Cancel a queued or running one first"),
        (transcripts.cancel_one, Status.FAILED, "only queued or running transcripts can be"),
    ],
)
def test_one_transcript_in_the_wrong_status_is_said(
    change: Callable[[Transcript], Transcript], status: str, words: str
) -> None:
    transcript = make("a.wav", status)
    with pytest.raises(WrongStatus, match=words) as caught:
        change(transcript)
    assert caught.value.status == status
    assert Transcript.objects.get(pk=transcript.pk).status == status


def test_floor_3_errors_are_actionable() -> None:
    for error in (UnknownBackend, BudgetExceeded, UploadNotStored, WrongStatus):
        assert issubclass(error, VoxtralError)
    assert VoxtralError in ACTIONABLE
