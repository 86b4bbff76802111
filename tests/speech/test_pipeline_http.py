"""The pipeline against the stand-in of the hosted service over real HTTP on 127.0.0.1.

Checks what crosses the wire: bounded concurrency, per-chunk retries, and times stitched back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ffmpeg_bridge
from django_voxtral.speech.backends import SpeechBackend, load_backend
from django_voxtral.speech.backends.options import TranscriptionOptions
from django_voxtral.speech.pipeline import ChunkFailed, transcribe_media
from tests import make_media as media
from tests.standin import StandIn


def deepinfra(standin: StandIn, token: str) -> SpeechBackend:
    return load_backend(
        "deepinfra", base_url=standin.base_url, token=token, backoff_base=0.01, max_retries=3
    )


def test_chunks_go_concurrently_and_never_more_than_asked(
    many_minutes_video: tuple[Path, media.Layout], standin: StandIn, standin_token: str
) -> None:
    video, layout = many_minutes_video
    standin.latency = 0.3
    with deepinfra(standin, standin_token) as backend:
        result = transcribe_media(video, backend, concurrency=4)
    chunks = len(standin.requests)
    assert chunks >= layout.duration / 30
    assert standin.max_in_flight == 4
    assert result.duration == pytest.approx(layout.duration, abs=0.1)
    # Every segment the service found lies over speech in the source's timeline.
    for segment in result.segments:
        assert any(
            segment.start < end + 0.3 and segment.end > start - 0.3 for start, end in layout.phrases
        ), segment


def test_cost_is_summed_over_chunks(
    long_pause_audio: Path, standin: StandIn, standin_token: str, tmp_path: Path
) -> None:
    with deepinfra(standin, standin_token) as backend:
        result = transcribe_media(long_pause_audio, backend)
    chunks = ffmpeg_bridge.split(long_pause_audio, tmp_path)
    assert len(standin.requests) == len(chunks) == 3
    sent_seconds = sum(c.duration for c in chunks)
    # The stand-in bills $0.003 per audio minute received, as the hosted service does.
    assert result.inference_status.cost == pytest.approx(sent_seconds / 60 * 0.003, rel=1e-2)
    assert result.language == "en"


def test_transient_faults_are_retried_per_chunk(
    long_pause_audio: Path, standin: StandIn, standin_token: str
) -> None:
    standin.inject("429", "503", "drop", retry_after="0")
    with deepinfra(standin, standin_token) as backend:
        result = transcribe_media(long_pause_audio, backend, concurrency=1)
    assert standin.pending_faults == 0
    assert len(standin.requests) == 3 + 3  # three chunks, three retries
    assert len(result.segments) >= 3


def test_a_chunk_that_keeps_failing_fails_the_call_by_name(
    long_pause_audio: Path, standin: StandIn, standin_token: str
) -> None:
    standin.inject("500", "500", "500", "500", "500", "500", "500", "500")
    with (
        deepinfra(standin, standin_token) as backend,
        pytest.raises(ChunkFailed) as caught,
    ):
        transcribe_media(long_pause_audio, backend, concurrency=1)
    assert caught.value.chunk_index == 0
    assert "HTTP 500" in str(caught.value)
    assert standin_token not in str(caught.value)


def test_openai_style_server_through_the_pipeline(
    long_pause_audio: Path, standin: StandIn, standin_token: str
) -> None:
    with load_backend(
        "openai", base_url=standin.openai_base_url, api_key=standin_token, model="whisper-1"
    ) as backend:
        result = transcribe_media(long_pause_audio, backend, TranscriptionOptions(language="en"))
    assert all(r.path.endswith("/audio/transcriptions") for r in standin.requests)
    assert result.segments and result.segments[-1].start > 10
