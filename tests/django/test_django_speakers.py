"""Speakers in the Django app: saved with the segments, rebuilt into results, exported, served.

The dummy backend answers as a diarizing service would (its speakers option); real ffmpeg on the
repository's JFK clip (real speech, one chunk), the real views through DRF's APIClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pysrt
import pytest
import webvtt
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from django_voxtral.api.compat_openai import verbose_json
from django_voxtral.api.serializers import SegmentSerializer
from django_voxtral.models import SPEAKER_MAX_LENGTH, Segment, Transcript
from django_voxtral.speech import results
from django_voxtral.speech.backends import dummy
from tests.data import JFK
from tests.django_settings import TONES_ARE_SPEECH

pytestmark = pytest.mark.django_db

TEXT = "Good morning everyone. Hello to you."


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    yield
    cache.clear()
    dummy.clear_outbox()


def use_dummy(settings: Any, **options: Any) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "BACKENDS": {"default": {"BACKEND": "dummy", "OPTIONS": {"text": TEXT, **options}}},
        # The 11 s clip in one chunk: one answer of the dummy, so one set of turns.
        "MAX_CHUNK_SECONDS": 30,
    }


def transcribed(api: APIClient, capture: Any) -> str:
    """Uploads the clip and runs its job at commit, as a worker would; the transcript's id."""
    with capture(execute=True), JFK.open("rb") as fh:
        response = api.post("/api/transcripts/", {"audio": fh}, format="multipart")
    assert response.status_code == 202, response.content
    pk = str(response.json()["id"])
    assert Transcript.objects.get(pk=pk).status == Transcript.Status.DONE
    return pk


def test_speakers_are_saved_exported_and_served(
    api: APIClient, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    use_dummy(settings, speakers=["speaker_0", "speaker_1"])
    pk = transcribed(api, django_capture_on_commit_callbacks)

    rows = list(Segment.objects.filter(transcript_id=pk).order_by("index"))
    assert [(s.text, s.speaker) for s in rows] == [
        ("Good morning everyone.", "speaker_0"),
        ("Hello to you.", "speaker_1"),
    ]
    result = Transcript.objects.get(pk=pk).to_result()
    assert result.speakers == ("speaker_0", "speaker_1")

    # The API gives the service's labels on the result's segments.
    detail = api.get(f"/api/transcripts/{pk}/").json()
    assert [s["speaker"] for s in detail["result"]["segments"]] == ["speaker_0", "speaker_1"]
    assert api.get(f"/api/transcripts/{pk}.json").json() == detail["result"]

    # The subtitles show them as people count: WebVTT voices, an SRT prefix per turn.
    vtt = api.get(f"/api/transcripts/{pk}.vtt").content.decode()
    captions = webvtt.from_string(vtt)
    assert [(c.voice, c.text) for c in captions] == [
        ("Speaker 1", "Good morning everyone."),
        ("Speaker 2", "Hello to you."),
    ]
    srt = pysrt.from_string(api.get(f"/api/transcripts/{pk}.srt").content.decode())
    assert [s.text for s in srt] == [
        "Speaker 1: Good morning everyone.",
        "Speaker 2: Hello to you.",
    ]
    txt = api.get(f"/api/transcripts/{pk}.txt").content.decode()
    assert txt == "Speaker 1: Good morning everyone.\n\nSpeaker 2: Hello to you.\n"


def test_without_speakers_nothing_is_added(
    api: APIClient, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    use_dummy(settings)
    pk = transcribed(api, django_capture_on_commit_callbacks)
    assert list(Segment.objects.filter(transcript_id=pk).values_list("speaker", flat=True)) == [""]
    segments = api.get(f"/api/transcripts/{pk}/").json()["result"]["segments"]
    assert "speaker" not in segments[0]
    assert "<v " not in api.get(f"/api/transcripts/{pk}.vtt").content.decode()
    assert SegmentSerializer(Segment.objects.get(transcript_id=pk)).data["speaker"] == ""


def test_a_label_too_long_to_store_is_cut_not_lost(
    api: APIClient, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    label = "x" * (SPEAKER_MAX_LENGTH + 50)
    use_dummy(settings, speakers=[label])
    pk = transcribed(api, django_capture_on_commit_callbacks)
    (row,) = Segment.objects.filter(transcript_id=pk)
    assert row.speaker == label[:SPEAKER_MAX_LENGTH]


def test_word_speakers_survive_the_round_trip() -> None:
    transcript = Transcript.objects.create(media_name="a.wav", status=Transcript.Status.DONE)
    Segment.objects.create(
        transcript=transcript,
        index=0,
        start=0.0,
        end=2.0,
        text="Is it? Yes.",
        speaker="",
        words=[
            {"start": 0.0, "end": 0.5, "text": "Is", "speaker": "A"},
            {"start": 0.5, "end": 1.0, "text": "it", "speaker": "A"},
            {"start": 1.2, "end": 2.0, "text": "Yes", "speaker": "B"},
        ],
    )
    result = transcript.to_result()
    assert result.segments[0].speaker is None
    assert [w.speaker for w in result.words] == ["A", "A", "B"]


def test_the_admin_shows_the_speaker_of_each_segment(
    admin_client: Client,
) -> None:
    transcript = Transcript.objects.create(media_name="talk.wav", status=Transcript.Status.DONE)
    Segment.objects.create(
        transcript=transcript, index=0, start=0.0, end=1.0, text="Hi.", speaker="speaker_7"
    )
    url = reverse("admin:django_voxtral_transcript_change", args=[transcript.pk])
    page = admin_client.get(url).content.decode()
    assert "speaker_7" in page


def test_openai_verbose_json_gives_speaker_ids_when_known() -> None:
    result = results.TranscriptionResult(
        text="Hi. Hello.",
        segments=(
            results.Segment(0, 0.0, 1.0, "Hi.", "speaker_0"),
            results.Segment(1, 1.5, 2.5, "Hello."),
        ),
        words=(results.Word(0.0, 1.0, "Hi.", "speaker_0"), results.Word(1.5, 2.5, "Hello.")),
        duration=3.0,
    )
    body = verbose_json(result, "transcribe", ["segment", "word"])
    assert body["segments"][0]["speaker_id"] == "speaker_0"
    assert "speaker_id" not in body["segments"][1]
    assert body["words"][0]["speaker_id"] == "speaker_0"
    assert "speaker_id" not in body["words"][1]
