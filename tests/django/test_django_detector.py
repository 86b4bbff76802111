"""The app with its default speech detector: music alone costs nothing, speech over music is sent.

Never stand in for the detector: real ffmpeg, the vendored Silero model, the dummy backend's outbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache

from django_voxtral.models import Transcript
from django_voxtral.speech.backends import dummy
from tests import make_media as media
from tests.data import JFK
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_detector(settings: Any) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "SPEECH_DETECTOR": "auto"}
    cache.clear()
    dummy.clear_outbox()


@pytest.fixture(scope="module")
def music_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty seconds of a melody over chords, and not a word."""
    folder = tmp_path_factory.mktemp("detector-media")
    return media.write_wav(0.3 * media.music(20.0), folder / "music only.wav")


@pytest.fixture(scope="module")
def jfk_over_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten seconds of music, the JFK clip with music under it, ten more seconds of music."""
    folder = tmp_path_factory.mktemp("detector-jfk")
    speech = media.decode(JFK)
    lead = round(10 * media.RATE)
    audio = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(lead, np.float32)])
    layout = media.Layout(len(audio) / media.RATE, ((10.0, 10.0 + len(speech) / media.RATE),))
    mixed = media.mix(audio, layout, media.music(len(audio) / media.RATE), below_db=15)
    return media.write_wav(0.8 * mixed / float(np.max(np.abs(mixed))), folder / "jfk music.wav")


def upload_and_run(user: Any, path: Path, capture: Any) -> Transcript:
    with capture(execute=True), path.open("rb") as fh:
        response = client_for(user).post("/api/transcripts/", {"audio": fh}, format="multipart")
    assert response.status_code == 202, response.content
    return Transcript.objects.get(pk=response.json()["id"])


def test_music_alone_is_an_empty_transcript_and_nothing_is_sent(
    alice: Any, music_only: Path, django_capture_on_commit_callbacks: Any
) -> None:
    transcript = upload_and_run(alice, music_only, django_capture_on_commit_callbacks)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert transcript.text == ""
    assert transcript.segments.count() == 0
    assert dummy.outbox == []


def test_speech_over_music_is_sent_and_the_music_is_not(
    alice: Any, jfk_over_music: Path, django_capture_on_commit_callbacks: Any
) -> None:
    transcript = upload_and_run(alice, jfk_over_music, django_capture_on_commit_callbacks)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert dummy.outbox, "the speech was sent"
    sent = sum(call.duration for call in dummy.outbox)
    # 11 s of speech in 31 s of media: the chunks hold the speech and a little padding.
    assert 9.0 <= sent <= 14.0, sent
    starts = [c.start for c in transcript.chunks.order_by("index")]
    assert starts and starts[0] >= 9.0, starts
