"""The `voxtral` command: formats, output files, backends, and one-line failures with exit codes.

Runs the real console script in a subprocess where the exit code and stderr matter.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pysrt
import pytest
import webvtt

from django_voxtral.speech import cli
from django_voxtral.speech.cli import ProgressBar, main
from django_voxtral.speech.pipeline import PipelineProgress
from tests.data import JFK
from tests.standin import StandIn

VOXTRAL = [sys.executable, "-m", "django_voxtral.speech.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VOXTRAL, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_json_to_stdout_is_the_contract(long_pause_audio: Path) -> None:
    done = run("transcribe", str(long_pause_audio), "--backend", "dummy", "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data) == [
        "text", "segments", "language", "input_length_ms", "words", "duration", "request_id",
        "inference_status",
    ]  # fmt: skip
    assert len(data["segments"]) == 3
    assert done.stderr == "", "no progress bar when stderr is not a terminal"


@pytest.mark.parametrize("suffix", ["srt", "vtt", "txt", "json"])
def test_format_follows_the_output_file(
    long_pause_audio: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"subtitles.{suffix}"
    assert main(["transcribe", str(long_pause_audio), "--backend", "dummy", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    if suffix == "srt":
        assert len(pysrt.from_string(text)) == 3
    elif suffix == "vtt":
        assert len(webvtt.from_string(text)) == 3
    elif suffix == "json":
        assert json.loads(text)["duration"] > 15
    else:
        assert "dummy transcript" in text


def test_deepinfra_backend_with_base_url_and_model(
    long_pause_audio: Path, standin: StandIn, standin_token: str
) -> None:
    env = {"DEEPINFRA_TOKEN": standin_token, "PATH": "/usr/bin:/bin"}
    done = run(
        "transcribe", str(long_pause_audio), "--backend", "deepinfra",
        "--base-url", standin.base_url, "--model", "mistralai/Voxtral-Mini-3B-2507",
        "--language", "en", "--concurrency", "2", "-f", "txt", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {r.path for r in standin.requests} == {"/v1/inference/mistralai/Voxtral-Mini-3B-2507"}
    assert all(r.fields["language"] == ["en"] for r in standin.requests)
    assert done.stdout.strip()


def test_chunks_can_be_sent_as_mp3(
    long_pause_audio: Path, standin: StandIn, standin_token: str
) -> None:
    env = {"DEEPINFRA_TOKEN": standin_token, "PATH": "/usr/bin:/bin"}
    done = run(
        "transcribe", str(long_pause_audio), "--backend", "deepinfra",
        "--base-url", standin.base_url, "--chunk-format", "mp3", "-f", "json", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    uploads = [r.files["audio"] for r in standin.requests]
    assert len(uploads) == 3
    assert all(u.content_type == "audio/mpeg" for u in uploads)
    assert len(json.loads(done.stdout)["segments"]) == 3


def test_local_backend_on_jfk(jfk: Path) -> None:
    done = run("transcribe", str(jfk), "--backend", "local", "-f", "txt")
    assert done.returncode == 0, done.stderr
    assert "country" in done.stdout


@pytest.fixture
def jfk() -> Path:
    return JFK


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transcribe", "/nonexistent/file.mp4"], "does not exist"),
        (["transcribe", "/etc/hostname", "--backend", "dummy"], "not an audio or video file"),
        (["transcribe", "{jfk}", "--backend", "local", "--model", "/nonexistent"], "model folder"),
        (["transcribe", "{jfk}", "--backend", "dummy", "--language", "xx"], "language"),
        (["transcribe", "{jfk}", "--backend", "deepinfra"], "DEEPINFRA_TOKEN"),
        (["transcribe", "{jfk}", "--backend", "dummy", "--concurrency", "0"], "concurrency"),
    ],
)
def test_failures_are_one_line(jfk: Path, args: list[str], message: str) -> None:
    env = {"PATH": "/usr/bin:/bin"}  # no DEEPINFRA_TOKEN
    done = run(*[a.replace("{jfk}", str(jfk)) for a in args], env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("voxtral: error: ")
    assert message in lines[0]


def test_bad_arguments_exit_2() -> None:
    done = run("transcribe", "x.mp4", "-f", "docx")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_options_reach_the_backend(long_pause_audio: Path, tmp_path: Path) -> None:
    from django_voxtral.speech.backends import dummy

    dummy.clear_outbox()
    out = tmp_path / "out.txt"
    args = ["transcribe", str(long_pause_audio), "--backend", "dummy", "-o", str(out)]
    args += ["--prompt", "Zebras, wizards", "--language", "en", "--chunk-seconds", "5"]
    assert main(args) == 0
    assert dummy.outbox, "the dummy backend was asked"
    assert {c.options.initial_prompt for c in dummy.outbox} == {"Zebras, wizards"}
    assert {c.options.language for c in dummy.outbox} == {"en"}
    assert max(c.duration for c in dummy.outbox) <= 5.0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    shown, hidden = Terminal(), io.StringIO()
    for stream in (shown, hidden):
        bar = ProgressBar(stream)
        bar(PipelineProgress("splitting", 0.1))
        bar(PipelineProgress("transcribing", 0.6, chunks_done=2, chunks_total=4))
        bar.finish()
    assert hidden.getvalue() == ""
    frames = shown.getvalue().split("\r")
    assert "splitting" in frames[1]
    assert "60%" in frames[2] and "2/4 chunks" in frames[2]
    assert shown.getvalue().endswith("\n")


def test_an_unexpected_error_is_still_one_line(
    long_pause_audio: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(cli, "transcribe_media", broken)
    assert main(["transcribe", str(long_pause_audio), "--backend", "dummy"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("voxtral: error: unexpected RuntimeError: first line second line")


def ffprobe_streams(path: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    streams: list[dict[str, object]] = json.loads(done.stdout)["streams"]
    return streams


@pytest.mark.parametrize(("suffix", "codec"), [("mp4", "mov_text"), ("mkv", "subrip")])
def test_subtitled_copy_of_the_video(
    speech_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, codec: str
) -> None:
    out = tmp_path / f"subtitled.{suffix}"
    args = ["transcribe", str(speech_video), "--backend", "dummy", "--subtitled", str(out)]
    assert main(args) == 0
    assert capsys.readouterr().out == "", "the video is the output: no transcript on stdout"
    streams = ffprobe_streams(out)
    kinds = [s["codec_type"] for s in streams]
    assert kinds.count("video") == 1 and kinds.count("audio") == 1
    [sub] = [s for s in streams if s["codec_type"] == "subtitle"]
    assert sub["codec_name"] == codec
    tags = sub["tags"]
    assert isinstance(tags, dict) and tags["language"] == "eng"
    source = ffprobe_streams(speech_video)
    assert [s["codec_name"] for s in streams if s["codec_type"] == "video"] == [
        s["codec_name"] for s in source if s["codec_type"] == "video"
    ]
    text = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True, check=True, stdin=subprocess.DEVNULL, text=True,
    ).stdout  # fmt: skip
    assert "dummy transcript" in text


def test_subtitled_with_a_transcript_file_and_burned(speech_video: Path, tmp_path: Path) -> None:
    out, srt = tmp_path / "burned.mp4", tmp_path / "subtitles.srt"
    args = ["transcribe", str(speech_video), "--backend", "dummy", "-o", str(srt)]
    assert main([*args, "--subtitled", str(out), "--burn"]) == 0
    assert len(pysrt.from_string(srt.read_text(encoding="utf-8"))) > 0
    kinds = [s["codec_type"] for s in ffprobe_streams(out)]
    assert "subtitle" not in kinds and "video" in kinds


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--subtitled", "{tmp}/out.avi"], "name the video .mp4, .m4v, .mov, .mkv, .webm"),
        (["--burn"], "give --subtitled too"),
    ],
)
def test_subtitled_mistakes_fail_before_transcribing(
    speech_video: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    from django_voxtral.speech.backends import dummy

    dummy.clear_outbox()
    extra = [arg.format(tmp=tmp_path) for arg in extra]
    assert main(["transcribe", str(speech_video), "--backend", "dummy", *extra]) == 1
    assert message in capsys.readouterr().err
    assert not dummy.outbox, "nothing was transcribed"
    assert list(tmp_path.iterdir()) == []


def test_subtitled_needs_a_picture(
    long_pause_audio: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from django_voxtral.speech.backends import dummy

    dummy.clear_outbox()
    out = tmp_path / "out.mp4"
    args = ["transcribe", str(long_pause_audio), "--backend", "dummy", "--subtitled", str(out)]
    assert main(args) == 1
    assert "has no video stream" in capsys.readouterr().err
    assert not dummy.outbox
    assert not out.exists()
