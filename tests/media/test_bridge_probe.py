"""probe() on generated media with real ffprobe: the fields, and clear errors for non-media.

Never compare against hard-coded durations: expectations come from how the media was made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ffmpeg_bridge
from ffmpeg_bridge import FFmpegNotFound, NotAMediaFile, probe
from tests import make_media as media


def test_probe_video_with_speech(speech_video: Path, speech_layout: media.Layout) -> None:
    info = probe(speech_video)
    assert info.container.split(",")[0] == "mov"
    assert "mp4" in info.container.split(",")
    assert info.has_video is True
    assert info.duration == pytest.approx(speech_layout.duration, abs=0.15)
    assert len(info.audio_streams) == 1
    audio = info.audio_streams[0]
    assert audio.codec == "aac"
    assert audio.sample_rate == media.RATE
    assert audio.channels == 1
    assert audio.language == "eng"
    assert audio.index == 1  # video first, as encode_video muxes it
    assert info.has_audio


def test_probe_plain_audio(long_pause_audio: Path, long_pause_layout: media.Layout) -> None:
    info = probe(str(long_pause_audio))  # a str works as well as a Path
    assert info.container == "wav"
    assert info.has_video is False
    assert info.duration == pytest.approx(long_pause_layout.duration, abs=0.01)
    assert [(s.codec, s.sample_rate, s.channels) for s in info.audio_streams] == [
        ("pcm_s16le", media.RATE, 1)
    ]
    assert info.audio_streams[0].language is None


def test_probe_video_without_audio(video_without_audio: Path) -> None:
    info = probe(video_without_audio)
    assert info.has_video
    assert not info.has_audio
    assert info.audio_streams == ()
    assert info.duration == pytest.approx(3.0, abs=0.2)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        ("mp3", "mp3"),
        ("ogg", "vorbis"),
        ("opus", "opus"),
        ("m4a", "aac"),
        ("flac", "flac"),
        ("mkv", "aac"),
        ("webm", "opus"),
    ],
)
def test_probe_containers(
    container_media: dict[str, Path], long_pause_layout: media.Layout, suffix: str, codec: str
) -> None:
    info = probe(container_media[suffix])
    assert info.audio_streams[0].codec == codec
    assert info.has_video is (suffix in ("mkv", "webm"))
    assert info.duration == pytest.approx(long_pause_layout.duration, abs=0.25)


def test_cover_art_is_not_video(tmp_path: Path, long_pause_audio: Path) -> None:
    cover = tmp_path / "cover.png"
    media.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1", str(cover))
    tagged = tmp_path / "song.mp3"
    media.ffmpeg(
        *("-i", str(long_pause_audio), "-i", str(cover), "-map", "0:a", "-map", "1:v"),
        *("-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", str(tagged)),
    )
    info = probe(tagged)
    assert info.has_audio
    assert info.has_video is False


def test_to_dict_is_json_ready(speech_video: Path) -> None:
    data = probe(speech_video).to_dict()
    assert set(data) == {"container", "duration", "audio_streams", "has_video", "has_audio"}
    assert data["audio_streams"][0]["codec"] == "aac"


def test_odd_file_names(odd_named_media: list[Path]) -> None:
    for path in odd_named_media:
        assert probe(path).container == "wav", path.name


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_text_file_is_not_media(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.mp4", b"Dear diary, today I uploaded a text file.\n" * 20)
    with pytest.raises(NotAMediaFile) as caught:
        probe(path)
    assert "notes.mp4" in str(caught.value)
    assert caught.value.reason  # ffprobe's own words
    assert "Invalid data" in caught.value.reason


def test_empty_file_is_not_media(tmp_path: Path) -> None:
    with pytest.raises(NotAMediaFile) as caught:
        probe(_write(tmp_path / "empty.wav", b""))
    assert caught.value.reason


def test_garbage_bytes_are_not_media(tmp_path: Path) -> None:
    garbage = bytes((i * 7919 + 13) % 251 for i in range(64 * 1024))
    with pytest.raises(NotAMediaFile):
        probe(_write(tmp_path / "garbage.mkv", garbage))


def test_truncated_mp4_is_not_media(tmp_path: Path, speech_video: Path) -> None:
    data = speech_video.read_bytes()
    path = _write(tmp_path / "truncated.mp4", data[: len(data) // 3])
    with pytest.raises(NotAMediaFile) as caught:
        probe(path)
    assert "moov atom not found" in caught.value.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotAMediaFile, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(NotAMediaFile, match="not a regular file"):
        probe(tmp_path)


def test_ffprobe_missing(monkeypatch: pytest.MonkeyPatch, speech_wav: Path) -> None:
    monkeypatch.setenv("FFPROBE_BINARY", "/nonexistent/ffprobe")
    with pytest.raises(FFmpegNotFound) as caught:
        probe(speech_wav)
    assert "/nonexistent/ffprobe" in str(caught.value)
    assert "apt-get install ffmpeg" in str(caught.value)


def test_errors_are_exported() -> None:
    for name in (
        "MediaError",
        "NotAMediaFile",
        "NoAudioTrack",
        "MediaTooLong",
        "FFmpegNotFound",
        "FFmpegFailed",
        "FFmpegTimeout",
    ):
        assert issubclass(getattr(ffmpeg_bridge, name), ffmpeg_bridge.MediaError)
