"""The admin action "Download with subtitles": ffprobe reads what the browser would save.

Small generated videos stored through the storage API, the action posted to the change list as a
browser does; never a stored server path, never a stand-in for ffmpeg.
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pysrt
import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_voxtral.models import Segment, Transcript
from tests import make_media as media
from tests.fixtures_api import tone

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_voxtral_transcript_changelist"
ACTION = "download_subtitled"
Status = Transcript.Status


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Two seconds of a tone under a test pattern (H.264/AAC, 10 fps), a WebM, and the tone."""
    folder = tmp_path_factory.mktemp("admin-subtitled")
    wav = tone(folder / "tone.wav", 2.0, 440)
    return {
        "mp4": media.encode_video(wav, folder / "clip.mp4").read_bytes(),
        "webm": media.encode_video(wav, folder / "clip.webm").read_bytes(),
        "wav": wav.read_bytes(),
    }


def stored(
    name: str, content: bytes, status: str = Status.DONE, language: str = "fr", **fields: Any
) -> Transcript:
    """A transcript whose media is content, stored under name, with two French cues."""
    transcript = Transcript(
        media_name=name, status=status, detected_language=language, duration=2.0, **fields
    )
    transcript.media.save(name, ContentFile(content), save=False)
    transcript.text = "Bonjour. Au revoir."
    transcript.save()
    Segment.objects.bulk_create(
        [
            Segment(transcript=transcript, index=0, start=0.0, end=0.9, text="Bonjour."),
            Segment(transcript=transcript, index=1, start=1.0, end=1.9, text="Au revoir."),
        ]
    )
    return transcript


def act(client: Client, transcripts: list[Transcript]) -> tuple[Any, list[str]]:
    response = client.post(
        reverse(CHANGELIST),
        {"action": ACTION, "_selected_action": [str(t.pk) for t in transcripts], "index": 0},
    )
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def ffprobe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-count_packets", str(path)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    probed: dict[str, Any] = json.loads(done.stdout)
    return probed


def kind(probed: dict[str, Any], codec_type: str) -> list[dict[str, Any]]:
    return [s for s in probed["streams"] if s["codec_type"] == codec_type]


def cues(path: Path) -> list[str]:
    text = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True, check=True, stdin=subprocess.DEVNULL, text=True,
    ).stdout  # fmt: skip
    return [cue.text for cue in pysrt.from_string(text)]


def assert_subtitled(path: Path, video_codec: str, subtitle_codec: str, language: str) -> None:
    probed = ffprobe(path)
    [picture] = kind(probed, "video")
    assert picture["codec_name"] == video_codec
    assert picture["nb_read_packets"] == "20", "2 s at 10 fps, every packet copied"
    assert len(kind(probed, "audio")) == 1
    [sub] = kind(probed, "subtitle")
    assert sub["codec_name"] == subtitle_codec
    # Matroska and WebM leave the tag out when it is "und", their default.
    assert sub.get("tags", {}).get("language", "und") == language
    assert cues(path) == ["Bonjour.", "Au revoir."]


def scratch() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("voxtral-subtitled-*")}


def test_one_video_downloads_as_one_mp4(
    admin_client: Client, clips: dict[str, bytes], tmp_path: Path
) -> None:
    before = scratch()
    video = stored("my talk.mp4", clips["mp4"])
    response, messages = act(admin_client, [video])
    assert response.status_code == 200, messages
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == 'attachment; filename="my talk.subtitled.mp4"'
    out = tmp_path / "answer.mp4"
    out.write_bytes(b"".join(response.streaming_content))
    response.close()
    assert_subtitled(out, "h264", "mov_text", "fre")
    assert messages == []
    assert scratch() <= before, "the copy and its SRT are removed"


def test_several_give_a_zip_and_the_skipped_are_named(
    admin_client: Client, clips: dict[str, bytes], tmp_path: Path
) -> None:
    before = scratch()
    first = stored("talk.mp4", clips["mp4"], language="en")
    second = stored("talk.mp4", clips["mp4"], language="de")  # the same name, told apart
    webm = stored("loop.webm", clips["webm"], language="")  # stays WebM: VP8 has no place in MP4
    audio = stored("podcast.wav", clips["wav"])
    waiting = stored("later.mp4", clips["mp4"], Status.QUEUED)
    gone = stored("gone.mp4", clips["mp4"])
    gone.media.storage.delete(gone.media.name)
    response, messages = act(admin_client, [first, second, webm, audio, waiting, gone])
    assert response.status_code == 200, messages
    assert response["Content-Type"] == "application/zip"
    assert "transcripts-subtitled-" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    response.close()
    infos = {info.filename: info for info in archive.infolist()}
    # The same name twice: the second one met carries its transcript's id.
    twice = {f"talk.subtitled-{str(t.pk)[:8]}.mp4": t for t in (first, second)}
    assert len(infos) == 3 and {"talk.subtitled.mp4", "loop.subtitled.webm"} <= set(infos)
    [(suffixed, other)] = [(n, t) for n, t in twice.items() if n in infos]
    plain = first if other is second else second
    assert {info.compress_type for info in infos.values()} == {zipfile.ZIP_STORED}
    expected = {
        "talk.subtitled.mp4": (
            "h264",
            "mov_text",
            {"en": "eng", "de": "ger"}[plain.detected_language],
        ),
        suffixed: ("h264", "mov_text", {"en": "eng", "de": "ger"}[other.detected_language]),
        "loop.subtitled.webm": ("vp8", "webvtt", "und"),
    }
    for name, (video_codec, subtitle_codec, language) in expected.items():
        out = tmp_path / name
        out.write_bytes(archive.read(name))
        assert_subtitled(out, video_codec, subtitle_codec, language)
    assert len(messages) == 3, messages
    assert any("not done yet: later.mp4" in m for m in messages)
    assert any("audio only" in m and "podcast.wav" in m and "SRT" in m for m in messages)
    assert any("gone from the storage: gone.mp4" in m for m in messages)
    assert scratch() <= before


def test_nothing_to_copy_says_so_and_stays_on_the_list(
    admin_client: Client, clips: dict[str, bytes]
) -> None:
    audio = stored("podcast.wav", clips["wav"])
    waiting = stored("later.mp4", clips["mp4"], Status.RUNNING)
    response, messages = act(admin_client, [audio, waiting])
    assert response.status_code == 302
    assert any("audio only" in m and "podcast.wav" in m for m in messages)
    assert any("not done yet: later.mp4" in m for m in messages)
    assert any(m.startswith("Nothing to download") for m in messages)


def test_view_permission_is_enough_and_none_is_not(
    client: Client, django_user_model: Any, clips: dict[str, bytes]
) -> None:
    video = stored("talk.mp4", clips["mp4"])
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_transcript", content_type__app_label="django_voxtral")
    )
    stranger = django_user_model.objects.create_user("stranger", password="pw", is_staff=True)
    client.force_login(stranger)
    response, _ = act(client, [video])
    assert response.status_code == 403

    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST))
    assert f'value="{ACTION}"' in page.content.decode()
    response, _ = act(client, [video])
    assert response.status_code == 200
    # Last: closing a streamed answer sends request_finished, which closes the connection.
    response.close()
