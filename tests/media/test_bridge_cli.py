"""`python -m ffmpeg_bridge`: JSON on stdout, and one line on stderr with exit code 2 on failure.

Never run the CLI in-process here: its contract is what a shell sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ffmpeg_bridge import probe

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ffmpeg_bridge", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def assert_one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_probe_prints_media_info(speech_video: Path) -> None:
    done = cli("probe", str(speech_video))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(probe(speech_video).to_dict()))


def test_split_prints_chunks(long_pause_audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "chunks out"
    done = cli("split", str(long_pause_audio), str(out), "--max-seconds", "4", "--format", "wav")
    assert done.returncode == 0, done.stderr
    chunks = json.loads(done.stdout)
    assert chunks
    for i, chunk in enumerate(chunks):
        assert set(chunk) == {"index", "start", "end", "path"}
        assert chunk["index"] == i
        assert 0 <= chunk["start"] < chunk["end"] <= chunk["start"] + 4
        assert Path(chunk["path"]).parent == out
        assert Path(chunk["path"]).suffix == ".wav"
        assert Path(chunk["path"]).is_file()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"just some text\n", "is not an audio or video file"),
        (b"", "is not an audio or video file"),
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nx.ts\n", "not allowed"),
    ],
)
def test_not_media_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    assert expected in assert_one_line_failure(cli("probe", str(path)))
    assert expected in assert_one_line_failure(cli("split", str(path), str(tmp_path / "o")))


def test_other_failures_are_one_line(video_without_audio: Path, tmp_path: Path) -> None:
    line = assert_one_line_failure(cli("split", str(video_without_audio), str(tmp_path)))
    assert "no audio track" in line
    line = assert_one_line_failure(cli("probe", str(tmp_path / "missing.mp4")))
    assert "no such file" in line
    line = assert_one_line_failure(
        cli("probe", str(video_without_audio), env={"FFPROBE_BINARY": "/nonexistent/ffprobe"})
    )
    assert "apt-get install ffmpeg" in line


def test_usage_errors_are_one_line(speech_wav: Path, tmp_path: Path) -> None:
    line = assert_one_line_failure(cli("split", str(speech_wav), str(tmp_path), "--format", "ogg"))
    assert "invalid choice" in line
    assert_one_line_failure(cli("transcode", str(speech_wav)))
    line = assert_one_line_failure(
        cli("split", str(speech_wav), str(tmp_path), "--max-seconds", "0")
    )
    assert "at least 1 second" in line


def test_detector_says_what_auto_means() -> None:
    done = cli("detector")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"auto": "silero", "silero_problems": []}


def test_split_takes_a_detector(long_pause_audio: Path, tmp_path: Path) -> None:
    done = cli("split", str(long_pause_audio), str(tmp_path / "out"), "--detector", "level")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 3
    refused = cli("split", str(long_pause_audio), str(tmp_path / "out"), "--detector", "webrtc")
    assert "invalid choice" in assert_one_line_failure(refused)
