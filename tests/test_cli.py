"""The `voxtral` command: formats, output files, backends, and one-line failures with exit codes.

Runs the real console script in a subprocess where the exit code and stderr matter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pysrt
import pytest
import webvtt

from django_voxtral.cli import main
from tests.standin import StandIn

VOXTRAL = [sys.executable, "-m", "django_voxtral.cli"]


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


def test_local_backend_on_jfk(jfk: Path) -> None:
    done = run("transcribe", str(jfk), "--backend", "local", "-f", "txt")
    assert done.returncode == 0, done.stderr
    assert "country" in done.stdout


@pytest.fixture
def jfk() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "media" / "jfk.flac"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transcribe", "/nonexistent/file.mp4"], "does not exist"),
        (["transcribe", "/etc/hostname", "--backend", "dummy"], "not an audio or video file"),
        (["transcribe", "{jfk}", "--backend", "local", "--task", "translate"], "cannot translate"),
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
