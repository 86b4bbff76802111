"""split() and the runner when things go wrong: typed errors, killed process groups, no leftovers.

Never leave a test process running: fake ffmpeg scripts here are killed by the code under test.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from ffmpeg_bridge import (
    FFmpegFailed,
    FFmpegNotFound,
    FFmpegTimeout,
    MediaTooLong,
    NoAudioTrack,
    NotAMediaFile,
    split,
)
from ffmpeg_bridge.runner import STDERR_LINES, FFmpegProcess, run


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether the process has ended (a zombie waiting for its reaper counts as ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_video_without_audio(video_without_audio: Path, tmp_path: Path) -> None:
    with pytest.raises(NoAudioTrack, match="no audio track") as caught:
        split(video_without_audio, tmp_path)
    assert caught.value.filename == "mute.mp4"
    assert list(tmp_path.iterdir()) == []


def test_too_long_says_by_how_much(speech_video: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaTooLong) as caught:
        split(speech_video, tmp_path, max_media_seconds=10)
    error = caught.value
    assert error.limit == 10
    assert error.duration > 20
    assert f"{error.duration - 10:.0f} s over the limit of 10 s" in str(error)
    assert list(tmp_path.iterdir()) == []


def test_maximum_from_the_environment(
    speech_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FFMPEG_BRIDGE_MAX_MEDIA_SECONDS", "12")
    with pytest.raises(MediaTooLong, match="over the limit of 12 s"):
        split(speech_video, tmp_path)
    monkeypatch.setenv("FFMPEG_BRIDGE_MAX_MEDIA_SECONDS", "soon")
    with pytest.raises(ValueError, match="FFMPEG_BRIDGE_MAX_MEDIA_SECONDS"):
        split(speech_video, tmp_path)


def test_not_media(tmp_path: Path) -> None:
    text = tmp_path / "talk.mp4"
    text.write_text("This is not a video.\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NotAMediaFile, match=r"talk\.mp4"):
        split(text, out)
    assert list(out.iterdir()) == []


def test_ffmpeg_missing(speech_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG_BINARY", "/nonexistent/ffmpeg")
    with pytest.raises(FFmpegNotFound, match="/nonexistent/ffmpeg was not found"):
        split(speech_wav, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_removes_written_chunks(
    long_pause_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.which("ffmpeg")
    assert real
    # A real decode that writes every chunk, then fails at the very end.
    fake = script(
        tmp_path / "ffmpeg", f'"{real}" "$@"\necho "boom: the decoder exploded" >&2\nexit 1\n'
    )
    monkeypatch.setenv("FFMPEG_BINARY", str(fake))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FFmpegFailed) as caught:
        split(long_pause_audio, out)
    assert caught.value.last_line == "boom: the decoder exploded"
    assert caught.value.returncode == 1
    assert "boom: the decoder exploded" in str(caught.value)
    assert list(out.iterdir()) == []


def test_media_longer_than_probed_is_stopped_while_decoding(
    long_pause_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ffprobe lies (a doctored header): the file claims one second.
    fake = script(
        tmp_path / "ffprobe",
        "cat <<'EOF'\n"
        '{"format": {"format_name": "wav", "duration": "1.0"}, "streams": [{"index": 0,'
        ' "codec_type": "audio", "codec_name": "pcm_s16le", "sample_rate": "22050",'
        ' "channels": 1}]}\nEOF\n',
    )
    monkeypatch.setenv("FFPROBE_BINARY", str(fake))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(MediaTooLong) as caught:
        split(long_pause_audio, out, max_media_seconds=5)
    assert caught.value.duration > 5
    assert list(out.iterdir()) == []


def test_timeout_kills_the_whole_process_group(
    speech_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "child.pid"
    # An ffmpeg that hangs, with a child of its own holding the audio pipe open.
    fake = script(tmp_path / "ffmpeg", f'sleep 300 &\necho $! > "{pidfile}"\nwait\n')
    monkeypatch.setenv("FFMPEG_BINARY", str(fake))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FFmpegTimeout) as caught:
        split(speech_wav, out, timeout=1.5)
    assert caught.value.seconds == 1.5
    assert "took longer than" in str(caught.value)
    assert gone(int(pidfile.read_text()))
    assert list(out.iterdir()) == []


def test_runner_timeout_kills_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    with pytest.raises(FFmpegTimeout):
        run(
            ["sh", "-c", f'sleep 300 & echo $! > "{pidfile}"; wait'],
            what="waiting",
            timeout=0.5,
        )
    assert gone(int(pidfile.read_text()))


def test_runner_keeps_only_the_last_stderr_lines() -> None:
    done = run(
        ["sh", "-c", "i=0; while [ $i -lt 500 ]; do i=$((i+1)); echo line $i >&2; done; exit 3"],
        what="talking",
        timeout=30,
    )
    assert done.returncode == 3
    assert len(done.stderr_lines) == STDERR_LINES
    assert done.last_line == "line 500"


def test_runner_has_no_shell_and_no_stdin(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    # Shell syntax in an argument stays a plain argument.
    done = run(["echo", f"$(touch {marker})"], what="echoing", timeout=30)
    assert done.stdout.decode().strip() == f"$(touch {marker})"
    assert not marker.exists()
    assert run(["cat"], what="reading stdin", timeout=30).stdout == b""


def test_runner_missing_binary() -> None:
    with pytest.raises(FFmpegNotFound):
        FFmpegProcess(["/nonexistent/ffprobe"], what="x", timeout=1)


def test_runner_runs_in_its_own_session() -> None:
    done = run(["sh", "-c", 'cut -d " " -f 6 "/proc/$$/stat"'], what="asking", timeout=30)
    assert int(done.stdout.decode().strip()) != os.getsid(0)
