"""`manage.py transcribe` and `manage.py voxtral_check` through call_command, on real small media.

The dummy backend for speed; the offline local backend once on a short espeak-ng clip.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from django.core.management import call_command
from django.core.management.base import CommandError

from django_voxtral.models import Transcript
from django_voxtral.speech.backends.errors import AuthenticationFailed
from tests import make_media as media
from tests.django_settings import TONES_ARE_SPEECH


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    media.require_tools()
    folder = tmp_path_factory.mktemp("command-media")
    tone = folder / "tone.wav"
    rate = 16000
    t = np.arange(int(2.5 * rate)) / rate
    soundfile.write(str(tone), 0.2 * np.sin(2 * np.pi * 440 * t), rate)
    speech = folder / "fox.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en+f3", "-w", str(speech), "The quick brown fox jumps."],
        check=True,
        capture_output=True,
    )
    garbage = folder / "garbage.mp3"
    garbage.write_bytes(b"this is not audio at all\n" * 40)
    return {"tone": tone, "speech": speech, "garbage": garbage}


class Captured:
    def __init__(self, tty: bool = False) -> None:
        self.out = io.StringIO()
        self.err = TTY() if tty else io.StringIO()

    def run(self, name: str, *args: Any) -> None:
        call_command(name, *args, stdout=self.out, stderr=self.err)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_transcribe_prints_the_result(clips: dict[str, Path]) -> None:
    io_ = Captured()
    io_.run("transcribe", str(clips["tone"]), "--format", "json")
    body = json.loads(io_.out.getvalue())
    assert body["text"] == "dummy transcript"
    assert body["input_length_ms"] == 2500
    assert io_.err.getvalue() == ""  # no progress bar when stderr is not a terminal


def test_transcribe_draws_a_progress_bar_on_a_terminal(clips: dict[str, Path]) -> None:
    io_ = Captured(tty=True)
    io_.run("transcribe", str(clips["tone"]))
    bar = io_.err.getvalue()
    assert "\r" in bar and "transcribing" in bar and "1/1 chunks" in bar
    assert "\x1b[" not in bar  # drawn plain, not styled as an error
    assert io_.out.getvalue().strip() == "dummy transcript"


def test_transcribe_writes_files_and_goes_on_after_errors(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    missing = tmp_path / "missing.wav"
    io_ = Captured()
    with pytest.raises(CommandError, match="2 of 3 files failed"):
        io_.run(
            "transcribe",
            str(missing),
            str(clips["garbage"]),
            str(clips["tone"]),
            "--format",
            "srt",
            "--output-dir",
            str(out_dir),
        )
    errors = io_.err.getvalue().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"{missing}: no such file")
    assert errors[1].startswith(f"{clips['garbage']}: ") and "not an audio or video" in errors[1]
    written = out_dir / "tone.srt"
    assert written.read_text().startswith("1\n00:00:00,000 --> 00:00:02,500\ndummy transcript")
    assert f"-> {written}" in io_.out.getvalue()


def test_transcribe_refuses_bad_options_before_any_file(clips: dict[str, Path]) -> None:
    with pytest.raises(CommandError, match="language"):
        Captured().run("transcribe", str(clips["tone"]), "--language", "xx")
    with pytest.raises(CommandError, match="No speech backend is configured as 'nope'"):
        Captured().run("transcribe", str(clips["tone"]), "--backend", "nope")
    with pytest.raises(CommandError, match="cannot translate"):
        Captured().run(
            "transcribe", str(clips["tone"]), "--backend", "english_only", "--task", "translate"
        )


@pytest.mark.django_db
def test_transcribe_save_stores_and_runs_transcripts(clips: dict[str, Path]) -> None:
    io_ = Captured()
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        io_.run(
            "transcribe", "--save", "--language", "en", str(clips["tone"]), str(clips["garbage"])
        )
    done = Transcript.objects.get(media_name="tone.wav")
    assert done.status == Transcript.Status.DONE, done.error
    assert (done.language, done.text) == ("en", "dummy transcript")
    assert done.segments.count() == 1
    assert done.media.read() == clips["tone"].read_bytes()  # stored in the default storage
    # Refused before a row is made, as on every upload path: nothing stored, one line said.
    assert not Transcript.objects.filter(media_name="garbage.mp3").exists()
    assert f"saved as transcript {done.pk}" in io_.err.getvalue()
    assert f"{clips['garbage']}: garbage.mp3 is not an audio or video file" in io_.err.getvalue()
    assert "==> " in io_.out.getvalue() and "dummy transcript" in io_.out.getvalue()


@pytest.mark.django_db
def test_transcribe_save_draws_a_progress_bar_on_a_terminal(clips: dict[str, Path]) -> None:
    io_ = Captured(tty=True)
    io_.run("transcribe", "--save", str(clips["tone"]))
    bar = io_.err.getvalue()
    assert "\r" in bar and "1/1 chunks" in bar
    assert Transcript.objects.get(media_name="tone.wav").status == Transcript.Status.DONE


def test_transcribe_with_the_offline_engine(clips: dict[str, Path]) -> None:
    io_ = Captured()
    io_.run("transcribe", str(clips["speech"]), "--backend", "local", "--format", "json")
    body = json.loads(io_.out.getvalue())
    duration = soundfile.info(str(clips["speech"])).duration
    assert body["language"] == "en"
    assert body["words"], body
    assert all(0 <= w["start"] < w["end"] <= duration + 0.01 for w in body["words"])
    assert body["text"] == " ".join(s["text"] for s in body["segments"])


def test_check_reports_each_part_ok() -> None:
    io_ = Captured()
    io_.run("voxtral_check")
    lines = io_.out.getvalue().splitlines()
    # ffmpeg, ffprobe, the detector, then each backend of the test settings and its request.
    assert [line.split()[0] for line in lines[:-1]] == ["OK"] * 9
    assert lines[0].startswith("OK    ffmpeg: ffmpeg version")
    assert lines[1].startswith("OK    ffprobe: ffprobe version")
    assert lines[2] == "OK    speech detector: level (loudness), as VOXTRAL['SPEECH_DETECTOR'] says"
    assert any(line.startswith("OK    backend 'local' request: answered") for line in lines)
    assert lines[-1] == "All checks passed."


def test_check_offline_sends_nothing() -> None:
    from django_voxtral.speech.backends import dummy

    dummy.clear_outbox()
    io_ = Captured()
    io_.run("voxtral_check", "--offline", "--backend", "default")
    assert "SKIP  backend 'default' request: not sent (--offline)" in io_.out.getvalue()
    assert dummy.outbox == []


def test_check_fails_on_a_rejected_token_and_a_broken_backend(settings: Any) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {
            "default": {
                "BACKEND": "dummy",
                "OPTIONS": {"error": AuthenticationFailed("Invalid API key", status_code=401)},
            },
            "broken": {"BACKEND": "no.such.Backend"},
            "bad_option": {"BACKEND": "dummy", "OPTIONS": {"colour": "blue"}},
        },
    }
    io_ = Captured()
    with pytest.raises(CommandError, match="3 check"):
        io_.run("voxtral_check")
    report = io_.out.getvalue()
    assert "FAIL  backend 'default' request: token rejected: Invalid API key (HTTP 401)" in report
    assert "FAIL  backend 'broken': does not load: Cannot import speech backend" in report
    assert "FAIL  backend 'bad_option': does not load: Unknown option 'colour'" in report


def test_check_fails_without_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG_BINARY", "/nonexistent/ffmpeg")
    io_ = Captured()
    with pytest.raises(CommandError, match="1 check"):
        io_.run("voxtral_check", "--offline")
    assert "FAIL  ffmpeg: /nonexistent/ffmpeg not found on PATH" in io_.out.getvalue()
