"""ffmpeg_bridge.mux: subtitle streams muxed into MP4, MKV and WebM, the picture copied, or burned.

Every output is checked with ffprobe; never trust ffmpeg's exit code alone.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ffmpeg_bridge import FFmpegFailed, NotAMediaFile, NoVideoStream, SubtitleTrack, mux
from ffmpeg_bridge.mux import burn_encoder, language_code
from tests import make_media as media
from tests.media import test_bridge_safety as hostile
from tests.media.test_bridge_safety import CountingServer, FifoWatch, hostile_files

# The hostile-upload fixtures: a counting HTTP server and a FIFO that notices being opened.
server = hostile.server
fifo = hostile.fifo

SRT = """1
00:00:00,500 --> 00:00:01,500
Hello there.

2
00:00:02,000 --> 00:00:03,000
General Kenobi.
"""
SRT_FR = SRT.replace("Hello there.", "Bonjour.").replace("General Kenobi.", "Général Kenobi.")
VTT = "WEBVTT\n\n00:00.500 --> 00:01.500\nHello there.\n\n00:02.000 --> 00:03.000\nBye.\n"


def ffprobe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", "-count_packets",
         str(path)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def streams(path: Path, kind: str) -> list[dict[str, Any]]:
    return [s for s in ffprobe(path)["streams"] if s["codec_type"] == kind]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four seconds of test pattern and a tone: H.264/AAC in MP4, VP8/Opus in WebM."""
    folder = tmp_path_factory.mktemp("mux")
    tone = folder / "tone.wav"
    media.ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-ar", "48000", str(tone))
    return {
        "mp4": media.encode_video(tone, folder / "clip.mp4"),
        "webm": media.encode_video(tone, folder / "clip.webm"),
        "wav": tone,
    }


@pytest.fixture
def srt(tmp_path: Path) -> Path:
    path = tmp_path / "en.srt"
    path.write_text(SRT, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("source", "suffix", "codec"),
    [("mp4", ".mp4", "mov_text"), ("mp4", ".mkv", "subrip"), ("webm", ".webm", "webvtt"),
     ("webm", ".mkv", "subrip"), ("mp4", ".mov", "mov_text")],
)  # fmt: skip
def test_subtitles_are_muxed_and_the_picture_copied(
    clip: dict[str, Path], srt: Path, tmp_path: Path, source: str, suffix: str, codec: str
) -> None:
    out = tmp_path / f"sub titled{suffix}"
    assert mux(clip[source], out, [SubtitleTrack(srt, "en", "English")]) == out.absolute()
    before, after = streams(clip[source], "video")[0], streams(out, "video")[0]
    assert after["codec_name"] == before["codec_name"]
    assert after["nb_read_packets"] == before["nb_read_packets"], "every packet copied"
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    assert streams(out, "audio")[0]["codec_name"] == streams(clip[source], "audio")[0]["codec_name"]
    [sub] = streams(out, "subtitle")
    assert sub["codec_name"] == codec
    assert sub["tags"]["language"] == "eng"
    key = "handler_name" if suffix == ".mp4" or suffix == ".mov" else "title"
    assert sub["tags"][key] == "English"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_one_stream_per_language(clip: dict[str, Path], srt: Path, tmp_path: Path) -> None:
    french = tmp_path / "fr.vtt"
    french.write_text(VTT, encoding="utf-8")
    fr_srt = tmp_path / "fr.srt"
    fr_srt.write_text(SRT_FR, encoding="utf-8")
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"two{suffix}"
        mux(clip["mp4"], out, [SubtitleTrack(srt, "en"), SubtitleTrack(french, "fr-FR", "FR")])
        subs = streams(out, "subtitle")
        assert [s["tags"]["language"] for s in subs] == ["eng", "fre"]
    out = tmp_path / "text.mkv"
    mux(clip["mp4"], out, [SubtitleTrack(fr_srt, "fr")])
    text = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True, check=True, stdin=subprocess.DEVNULL, text=True,
    ).stdout  # fmt: skip
    assert "Général Kenobi." in text


def grab_frame(path: Path, second: float) -> bytes:
    frame = ["-ss", str(second), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), *frame],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    ).stdout  # fmt: skip


def test_burning_reencodes_and_adds_no_subtitle_stream(
    clip: dict[str, Path], srt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "burned.mp4"
    mux(clip["mp4"], out, [SubtitleTrack(srt, "en")], burn=True)
    assert streams(out, "subtitle") == []
    [picture] = streams(out, "video")
    assert picture["codec_name"] == ("h264" if burn_encoder("mp4") == "libx264" else "mpeg4")
    assert streams(out, "audio")[0]["codec_name"] == "aac"

    def changed(second: float) -> int:
        source, burned = grab_frame(clip["mp4"], second), grab_frame(out, second)
        return sum(abs(a - b) > 40 for a, b in zip(source, burned, strict=True))

    assert changed(1.0) > 20, "the cue shown at 0.5-1.5 s is drawn into the picture"
    assert changed(1.7) < 5, "nothing drawn between cues"
    with pytest.raises(ValueError, match="one subtitle track"):
        mux(clip["mp4"], tmp_path / "x.mp4", [SubtitleTrack(srt, "en")] * 2, burn=True)


def test_bad_suffixes_are_named(clip: dict[str, Path], srt: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.mp4, \.m4v, \.mov, \.mkv, \.webm"):
        mux(clip["mp4"], tmp_path / "out.avi", [SubtitleTrack(srt, "en")])
    ass = tmp_path / "subs.ass"
    ass.write_text("[Script Info]\n")
    with pytest.raises(ValueError, match=r"\.srt, \.vtt"):
        mux(clip["mp4"], tmp_path / "out.mkv", [SubtitleTrack(ass, "en")])
    with pytest.raises(ValueError, match="at least one"):
        mux(clip["mp4"], tmp_path / "out.mkv", [])
    assert list(tmp_path.glob("out*")) == []


def test_audio_only_is_refused(clip: dict[str, Path], srt: Path, tmp_path: Path) -> None:
    with pytest.raises(NoVideoStream, match="no video stream"):
        mux(clip["wav"], tmp_path / "out.mp4", [SubtitleTrack(srt, "en")])
    assert list(tmp_path.glob("out*")) == []


def test_webm_with_other_codecs_fails_clearly_and_keeps_the_old_file(
    clip: dict[str, Path], srt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.webm"
    out.write_bytes(b"old")
    with pytest.raises(FFmpegFailed, match="VP8/VP9/AV1"):
        mux(clip["mp4"], out, [SubtitleTrack(srt, "en")])
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_hostile_inputs_are_refused_without_reaching_out(
    tmp_path: Path, server: CountingServer, fifo: FifoWatch, srt: Path
) -> None:
    for path in hostile_files(tmp_path, server.server_address[1], fifo.path):
        with pytest.raises(NotAMediaFile):
            mux(path, tmp_path / "out.mkv", [SubtitleTrack(srt, "en")])
    assert server.connections == 0
    assert fifo.stop() is False
    assert list(tmp_path.glob("*out*")) == []


def test_language_codes() -> None:
    assert language_code("en") == "eng"
    assert language_code("pt-BR") == "por"
    assert language_code("de_DE") == "ger"
    assert language_code("fra") == "fra"
    assert language_code("xx") == "und"
    assert language_code("") == "und"
