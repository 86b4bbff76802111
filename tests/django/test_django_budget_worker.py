"""Daily budgets checked by the worker, for media whose length nobody knew before it measured it.

Upload hooks (the test app's Clip) queue without a check; the worker measures the media and
refuses, before anything is sent, a run that takes its owner past VOXTRAL["USER_MINUTES_PER_DAY"].
Real ffmpeg on generated speech; the dummy backend's outbox counts what is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

import django_voxtral
from django_voxtral import budgets, hooks, runner
from django_voxtral.models import Transcript
from django_voxtral.runner import run_transcript
from django_voxtral.speech.backends import dummy
from ffmpeg_bridge import probe
from tests.django_settings import TONES_ARE_SPEECH
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_minute_a_day(settings: Any) -> None:
    """One minute a day; the same file twice is sent twice (reuse has a test of its own)."""
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "USER_MINUTES_PER_DAY": 1,
        "REUSE_RESULTS": False,
    }


@pytest.fixture
def outbox() -> Iterator[list[Any]]:
    dummy.outbox.clear()
    yield dummy.outbox
    dummy.outbox.clear()


@pytest.fixture
def registered() -> Iterator[hooks.Hook]:
    hook = django_voxtral.register(Clip, "file", owner=lambda clip: clip.uploaded_by)
    yield hook
    hooks.unregister(Clip)


@pytest.fixture
def seconds(long_pause_audio: Path) -> float:
    """The length of the hooked file (~20 s: a third of the one-minute budget)."""
    return probe(long_pause_audio).duration


def used(user: Any, seconds: float) -> Transcript:
    """A transcript of ``user`` made today, of ``seconds`` of audio."""
    return Transcript.objects.create(
        owner=user, media_name="earlier.wav", duration=seconds, status="done"
    )


def hooked(path: Path, user: Any, capture: Any) -> Transcript:
    """Saves a Clip with ``path`` as ``user``: the hook queues a transcript of unknown length,
    and the ImmediateBackend runs it at commit."""
    with capture(execute=True):
        clip = Clip(title="clip", uploaded_by=user)
        clip.file.save(path.name, ContentFile(path.read_bytes()), save=True)
    (transcript,) = clip.transcripts
    return Transcript.objects.get(pk=transcript.pk)


def test_a_hooked_file_past_the_budget_fails_before_anything_is_sent(
    registered: hooks.Hook,
    long_pause_audio: Path,
    alice: Any,
    outbox: list[Any],
    seconds: float,
    django_capture_on_commit_callbacks: Any,
) -> None:
    used(alice, 45.0)  # 0.75 minutes; the ~20 s file would make ~1.1 of 1
    transcript = hooked(long_pause_audio, alice, django_capture_on_commit_callbacks)

    assert transcript.status == Transcript.Status.FAILED
    assert outbox == []  # no request: nothing paid for
    assert transcript.chunks.count() == 0 and transcript.cost == 0
    resets = budgets.format_reset(budgets.reset_time())
    assert transcript.error == (
        "Daily audio budget reached: 0.8 of the owner's 1 minutes today are used, and this "
        f"transcript needs {budgets.format_minutes(seconds / 60)} more. Nothing was sent or "
        f"paid for. The budget resets at {resets}; retry this transcript then, or ask the "
        "site's administrator for a larger budget."
    )
    # The refusal uses none of the budget: the refused file is not counted.
    assert transcript.duration is None
    assert budgets.minutes_used(alice) == pytest.approx(0.75)

    # After the reset (today's usage moved to yesterday), a retry runs it.
    yesterday = budgets.day_start() - dt.timedelta(minutes=1)
    Transcript.objects.exclude(pk=transcript.pk).update(created=yesterday, started=yesterday)
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
    assert run_transcript(transcript.pk) == "done"
    assert outbox


def test_a_hooked_file_within_the_budget_runs_and_its_length_counts(
    registered: hooks.Hook,
    long_pause_audio: Path,
    alice: Any,
    outbox: list[Any],
    seconds: float,
    django_capture_on_commit_callbacks: Any,
) -> None:
    used(alice, 30.0)
    transcript = hooked(long_pause_audio, alice, django_capture_on_commit_callbacks)

    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert len(outbox) == transcript.chunks.count() > 0
    # Measured by the worker and stored: later uploads are counted against it.
    assert transcript.duration == pytest.approx(seconds, abs=0.01)
    assert budgets.minutes_used(alice) == pytest.approx((30.0 + seconds) / 60, abs=0.001)
    # The next one no longer fits (0.5 + 0.33 + 0.33 of 1).
    again = hooked(long_pause_audio, alice, django_capture_on_commit_callbacks)
    assert again.status == Transcript.Status.FAILED
    assert again.error.startswith("Daily audio budget reached: 0.8 of the owner's 1 minutes")


def test_the_length_is_stored_before_the_run_ends(
    monkeypatch: pytest.MonkeyPatch,
    long_pause_audio: Path,
    alice: Any,
    outbox: list[Any],
    seconds: float,
) -> None:
    """A run that fails once chunks were paid for still counts by its length."""
    transcript = make_transcript(long_pause_audio, owner=alice)
    lengths: list[float | None] = []

    def fail_at_the_first_chunk(progress: Any, piece: Any) -> None:
        lengths.append(Transcript.objects.get(pk=transcript.pk).duration)
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(runner._Progress, "save_chunk", fail_at_the_first_chunk)
    assert run_transcript(transcript.pk) == "failed"
    assert lengths and lengths[0] == pytest.approx(seconds)
    transcript.refresh_from_db()
    assert transcript.duration == pytest.approx(seconds)
    assert budgets.minutes_used(alice) == pytest.approx(seconds / 60)


@pytest.mark.parametrize("how", ["superuser", "permission"])
def test_exempt_owners_run_whatever_they_used(
    registered: hooks.Hook,
    long_pause_audio: Path,
    django_user_model: Any,
    outbox: list[Any],
    how: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    if how == "superuser":
        owner = django_user_model.objects.create_superuser("root")
    else:
        owner = django_user_model.objects.create_user("carol")
        owner.user_permissions.add(Permission.objects.get(codename="unlimited_minutes"))
    used(owner, 600.0)
    transcript = hooked(long_pause_audio, owner, django_capture_on_commit_callbacks)
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert outbox


def test_without_an_owner_there_is_no_budget(
    registered: hooks.Hook,
    long_pause_audio: Path,
    outbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    transcript = hooked(long_pause_audio, None, django_capture_on_commit_callbacks)
    assert transcript.owner is None
    assert transcript.status == Transcript.Status.DONE, transcript.error


def make_transcript(path: Path, **fields: Any) -> Transcript:
    transcript = Transcript(media_name=path.name, **fields)
    transcript.media.save(path.name, ContentFile(path.read_bytes()), save=False)
    transcript.save()
    return transcript


def test_a_resumed_run_counts_only_its_chunks_not_stored(
    long_pause_audio: Path, alice: Any, outbox: list[Any], seconds: float
) -> None:
    transcript = make_transcript(long_pause_audio, owner=alice)
    assert run_transcript(transcript.pk) == "done"
    transcript.refresh_from_db()
    total = transcript.chunks.count()
    assert total == 3, "the long pauses make three chunks"
    # As if the worker had died after two chunks: one is left to send, a third of the file.
    transcript.chunks.filter(index=2).delete()
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
    # 45 s used besides: the whole file again (or the file counted against itself) is too much,
    # its last third is not (45 + ~7 s of 60).
    used(alice, 45.0)
    assert budgets.new_seconds(transcript, seconds) == pytest.approx(seconds / 3)
    outbox.clear()

    assert run_transcript(transcript.pk) == "done", Transcript.objects.get(pk=transcript.pk).error
    assert len(outbox) == 1
    # The transcript still counts once, by its whole length.
    assert budgets.minutes_used(alice) == pytest.approx((45.0 + seconds) / 60, abs=0.001)


def test_a_resumed_run_past_the_budget_keeps_its_chunks_and_its_length(
    long_pause_audio: Path, alice: Any, outbox: list[Any], seconds: float
) -> None:
    transcript = make_transcript(long_pause_audio, owner=alice)
    assert run_transcript(transcript.pk) == "done"
    transcript.chunks.filter(index__gt=0).delete()  # two thirds left to send
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.QUEUED)
    used(alice, 50.0)
    outbox.clear()

    assert run_transcript(transcript.pk) == "failed"
    transcript.refresh_from_db()
    assert outbox == []
    assert transcript.error.startswith("Daily audio budget reached: 0.8 of the owner's 1 minutes")
    assert transcript.chunks.count() == 1  # kept: a retry resumes from it
    assert transcript.duration == pytest.approx(seconds)  # paid in part: still counted


def test_a_reused_result_sends_nothing_and_is_never_refused(
    settings: Any, long_pause_audio: Path, alice: Any, outbox: list[Any]
) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "REUSE_RESULTS": True}
    first = make_transcript(long_pause_audio, owner=alice)
    assert run_transcript(first.pk) == "done"
    used(alice, 60.0)  # used up
    outbox.clear()
    twin = make_transcript(long_pause_audio, owner=alice)

    assert run_transcript(twin.pk) == "done", Transcript.objects.get(pk=twin.pk).error
    assert outbox == []
    assert Transcript.objects.get(pk=twin.pk).reused_from == first
