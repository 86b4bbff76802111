"""Identical media with the same options as a done transcript is not sent again: reuse.py.

Real ffmpeg on generated tones, the dummy backend's outbox counting what is sent; no stand-ins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_voxtral.models import Segment, Transcript
from django_voxtral.runner import run_transcript
from django_voxtral.speech.backends import dummy
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db

PRICED = {"BACKEND": "dummy", "OPTIONS": {"price_per_minute": 0.6, "text": "machine words"}}


@pytest.fixture(autouse=True)
def priced(settings: Any) -> None:
    """A dummy that costs something, so "nothing paid" shows; a second dummy alias."""
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {"default": PRICED, "other": PRICED},
    }


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


def done(path: Path, **fields: Any) -> Transcript:
    transcript = make_transcript(path, **fields)
    assert run_transcript(transcript.pk) == "done"
    transcript.refresh_from_db()
    return transcript


def segments(transcript: Transcript) -> list[tuple[float, float, str, list[Any]]]:
    return [(s.start, s.end, s.text, s.words) for s in transcript.segments.order_by("index")]


def test_the_same_file_twice_is_sent_once(long_pause_audio: Path, outbox: Any) -> None:
    first = done(long_pause_audio)
    assert len(outbox) == first.chunks_total >= 2
    assert first.cost > 0 and first.reused_from is None
    outbox.clear()

    second = done(long_pause_audio)

    assert outbox == []
    assert second.reused_from_id == first.pk
    assert second.sha256 == first.sha256 and second.settings_key == first.settings_key
    assert second.text == first.text == " ".join(["machine words"] * first.chunks_total)
    assert segments(second) == segments(first)
    assert second.duration == first.duration
    assert second.cost == 0 and second.runtime_ms == 0
    assert second.chunks_done == second.chunks_total == first.chunks_total
    # Its stored chunks are its own copies: the first can go and the second keeps its result.
    first.delete()
    second.refresh_from_db()
    assert second.reused_from is None
    assert second.chunks.count() == second.chunks_total


def test_edits_of_the_first_transcript_do_not_travel(long_pause_audio: Path, outbox: Any) -> None:
    first = done(long_pause_audio)
    machine = segments(first)
    Segment.objects.filter(transcript=first).update(text="edited by a person")
    Transcript.objects.filter(pk=first.pk).update(text="edited by a person")
    outbox.clear()

    second = done(long_pause_audio)

    assert outbox == []
    assert second.reused_from_id == first.pk
    assert segments(second) == machine
    assert "edited" not in second.text


@pytest.mark.parametrize(
    "change",
    [{"language": "fr"}, {"task": "translate"}, {"backend": "other"}, {"temperature": 0.2}],
    ids=["language", "task", "backend", "temperature"],
)
def test_other_options_or_backend_are_sent(
    long_pause_audio: Path, outbox: Any, change: dict[str, Any]
) -> None:
    first = done(long_pause_audio)
    outbox.clear()

    second = done(long_pause_audio, **change)

    assert len(outbox) == second.chunks_total == first.chunks_total
    assert second.reused_from is None
    assert second.cost > 0


def test_other_split_settings_are_sent(long_pause_audio: Path, outbox: Any, settings: Any) -> None:
    first = done(long_pause_audio)
    outbox.clear()
    settings.VOXTRAL = {**settings.VOXTRAL, "CHUNK_FORMAT": "wav"}

    second = done(long_pause_audio)

    assert len(outbox) == second.chunks_total == first.chunks_total
    assert second.reused_from is None and second.settings_key != first.settings_key


def test_the_setting_turns_it_off(long_pause_audio: Path, outbox: Any, settings: Any) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "REUSE_RESULTS": False}
    first = done(long_pause_audio)
    outbox.clear()

    second = done(long_pause_audio)

    assert len(outbox) == second.chunks_total == first.chunks_total
    assert second.reused_from is None and second.cost > 0


@pytest.mark.parametrize("status", [Transcript.Status.FAILED, Transcript.Status.RUNNING])
def test_a_transcript_not_done_is_not_reused(
    long_pause_audio: Path, outbox: Any, status: str
) -> None:
    first = done(long_pause_audio)
    Transcript.objects.filter(pk=first.pk).update(status=status)
    outbox.clear()

    second = done(long_pause_audio)

    assert len(outbox) == second.chunks_total
    assert second.reused_from is None


def test_a_done_transcript_missing_chunks_is_not_reused(
    long_pause_audio: Path, outbox: Any
) -> None:
    first = done(long_pause_audio)
    first.chunks.filter(index=0).delete()
    outbox.clear()

    second = done(long_pause_audio)

    assert len(outbox) == second.chunks_total
    assert second.reused_from is None


def test_other_media_is_sent(long_pause_audio: Path, speech_wav: Path, outbox: Any) -> None:
    done(long_pause_audio)
    outbox.clear()

    second = done(speech_wav)

    assert len(outbox) == second.chunks_total >= 1
    assert second.reused_from is None


def test_api_and_admin_say_it_was_reused(
    long_pause_audio: Path, outbox: Any, alice: Any, admin_client: Client
) -> None:
    first = done(long_pause_audio, owner=alice)
    second = done(long_pause_audio, owner=alice)

    body = client_for(alice).get(f"/api/transcripts/{second.pk}/").json()
    assert body["reused_from"] == str(first.pk)
    assert body["cost"] == 0
    assert client_for(alice).get(f"/api/transcripts/{first.pk}/").json()["reused_from"] is None

    page = admin_client.get(reverse("admin:django_voxtral_transcript_change", args=[second.pk]))
    assert page.status_code == 200
    assert "machine result reused from" in page.content.decode().lower()
    assert reverse("admin:django_voxtral_transcript_change", args=[first.pk]) in (
        page.content.decode()
    )


def test_another_owners_result_is_not_reused(
    long_pause_audio: Path, outbox: Any, alice: Any, bob: Any
) -> None:
    done(long_pause_audio, owner=alice)
    outbox.clear()
    bobs = done(long_pause_audio, owner=bob)
    assert len(outbox) == bobs.chunks_total >= 1, "bob's copy is sent: alice's stays private"
    assert bobs.reused_from is None
    outbox.clear()
    again = done(long_pause_audio, owner=bob)
    assert outbox == [] and again.reused_from == bobs
