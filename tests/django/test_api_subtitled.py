"""GET /api/transcripts/<id>/subtitled/: the video with its subtitles muxed in, ffprobe checks it.

Real worker path with the dummy backend on small generated videos; never a stored server path.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysrt
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from django_voxtral.speech.backends import dummy
from tests import make_media as media
from tests.django.test_api_resource import upload, upload_done
from tests.fixtures_api import client_for, tone

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three seconds of a tone (speech for the level detector) under a test pattern."""
    folder = tmp_path_factory.mktemp("subtitled")
    wav = tone(folder / "tone.wav", 3.0, 440)
    return {
        "mp4": media.encode_video(wav, folder / "my clip.mp4"),
        "webm": media.encode_video(wav, folder / "my clip.webm"),
        "wav": wav,
    }


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    yield
    cache.clear()


def scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("voxtral-subtitled-*")}


def done_id(api: APIClient, path: Path, capture: Any) -> str:
    return str(upload_done(api, path, capture).json()["id"])


def save(response: Any, path: Path) -> dict[str, Any]:
    path.write_bytes(b"".join(response.streaming_content))
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-count_packets", str(path)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    probed: dict[str, Any] = json.loads(done.stdout)
    return probed


def kind(probed: dict[str, Any], codec_type: str) -> list[dict[str, Any]]:
    return [s for s in probed["streams"] if s["codec_type"] == codec_type]


@pytest.mark.parametrize(
    ("source", "container", "codec", "video_codec"),
    [("mp4", None, "mov_text", "h264"), ("mp4", "mkv", "subrip", "h264"),
     ("webm", None, "webvtt", "vp8"), ("webm", "mkv", "subrip", "vp8")],
)  # fmt: skip
def test_the_video_comes_back_with_its_subtitles(
    api: APIClient,
    clips: dict[str, Path],
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
    source: str,
    container: str | None,
    codec: str,
    video_codec: str,
) -> None:
    before = scratch_dirs()
    pk = done_id(api, clips[source], django_capture_on_commit_callbacks)
    query = {"container": container} if container else {}
    response = api.get(f"/api/transcripts/{pk}/subtitled/", query)
    assert response.status_code == 200
    suffix = container or source
    assert response["Content-Disposition"] == f'attachment; filename="my clip.subtitled.{suffix}"'
    assert response["Content-Type"].startswith("video/")
    probed = save(response, tmp_path / f"answer.{suffix}")
    response.close()
    [picture] = kind(probed, "video")
    assert picture["codec_name"] == video_codec
    assert picture["nb_read_packets"] == "30", "3 s at 10 fps, every packet copied"
    assert len(kind(probed, "audio")) == 1
    [sub] = kind(probed, "subtitle")
    assert sub["codec_name"] == codec
    assert sub["tags"]["language"] == "eng"
    assert scratch_dirs() <= before, "the copies are removed"


def test_the_subtitles_are_the_transcripts(
    api: APIClient, clips: dict[str, Path], django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    pk = done_id(api, clips["mp4"], django_capture_on_commit_callbacks)
    response = api.get(f"/api/transcripts/{pk}/subtitled/", {"container": "mkv"})
    out = tmp_path / "answer.mkv"
    save(response, out)
    text = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True, check=True, stdin=subprocess.DEVNULL, text=True,
    ).stdout  # fmt: skip
    muxed = pysrt.from_string(text)
    exported = pysrt.from_string(api.get(f"/api/transcripts/{pk}.srt").content.decode())
    assert [c.text for c in muxed] == [c.text for c in exported] == ["dummy transcript"]
    # ffmpeg shifts every stream alike when a copied stream starts early (AAC priming): the
    # cues keep their place against the picture, within a frame or two of the export's times.
    for ours, theirs in zip(muxed, exported, strict=True):
        assert abs(ours.start.ordinal - theirs.start.ordinal) <= 100
        assert abs(ours.end.ordinal - theirs.end.ordinal) <= 100


def test_bad_containers_are_400(
    api: APIClient, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    pk = done_id(api, clips["mp4"], django_capture_on_commit_callbacks)
    before = scratch_dirs()
    avi = api.get(f"/api/transcripts/{pk}/subtitled/", {"container": "avi"})
    assert avi.status_code == 400
    assert avi.json()["field"] == "container"
    # H.264 and AAC do not go into WebM without re-encoding, which this endpoint never does.
    webm = api.get(f"/api/transcripts/{pk}/subtitled/", {"container": "webm"})
    assert webm.status_code == 400, webm.content
    assert webm.json()["field"] == "container"
    assert "VP8/VP9/AV1" in webm.json()["detail"]
    assert scratch_dirs() <= before


def test_not_done_audio_only_and_others(
    api: APIClient,
    bob: Any,
    clips: dict[str, Path],
    django_capture_on_commit_callbacks: Any,
) -> None:
    queued = upload(api, clips["mp4"]).json()["id"]
    answer = api.get(f"/api/transcripts/{queued}/subtitled/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "not_done"

    audio = done_id(api, clips["wav"], django_capture_on_commit_callbacks)
    answer = api.get(f"/api/transcripts/{audio}/subtitled/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "no_video"
    assert "no video stream" in answer.json()["detail"]

    video = done_id(api, clips["mp4"], django_capture_on_commit_callbacks)
    assert client_for(bob).get(f"/api/transcripts/{video}/subtitled/").status_code == 404
    assert APIClient().get(f"/api/transcripts/{video}/subtitled/").status_code == 401
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.get(f"/api/transcripts/{missing}/subtitled/").status_code == 404
