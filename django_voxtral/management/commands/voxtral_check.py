"""`manage.py voxtral_check`: ffmpeg found, which speech detector runs, each backend answers.

Reports one OK/FAIL line per check and exits non-zero on any failure; never prints a token.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from django.core.management.base import BaseCommand, CommandError

from ffmpeg_bridge import DETECTORS, detector_problems

from ...conf import get_backend, get_settings
from ...exceptions import UnknownBackend
from ...speech.backends.base import SpeechBackend
from ...speech.backends.errors import AuthenticationFailed, SpeechError
from ...speech.backends.options import TranscriptionOptions

TONE_RATE = 16_000
VERSION_TIMEOUT = 10


def write_tone(path: Path, seconds: float = 1.0) -> Path:
    """A quiet 440 Hz tone: real audio every backend accepts, small enough to cost nothing."""
    t = np.arange(int(seconds * TONE_RATE)) / TONE_RATE
    soundfile.write(str(path), 0.1 * np.sin(2 * np.pi * 440 * t), TONE_RATE, subtype="PCM_16")
    return path


def tool_version(env: str, default: str) -> tuple[bool, str]:
    """(found, detail) for ffmpeg or ffprobe, honouring FFMPEG_BINARY / FFPROBE_BINARY."""
    binary = os.environ.get(env, default)
    found = shutil.which(binary)
    if found is None:
        return False, (
            f"{binary} not found on PATH; install ffmpeg (apt-get install ffmpeg, brew install "
            f"ffmpeg) or set {env} to its full path"
        )
    try:
        # An argument list, no shell: the binary's path comes from PATH or the admin's setting.
        run = subprocess.run(  # noqa: S603
            [found, "-version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{found} does not run: {exc}"
    first = (run.stdout.splitlines() or [""])[0].strip()
    if run.returncode != 0 or not first:
        return False, f"{found} -version failed (exit {run.returncode})"
    return True, f"{first} ({found})"


class Command(BaseCommand):
    help = (
        "Check that ffmpeg and ffprobe are found and that each speech backend of "
        "VOXTRAL['BACKENDS'] loads, is configured, and answers a one-second request (which a "
        "hosted service bills as one second). --offline skips the requests."
    )
    # This command reports what the system checks would; it must run when they fail.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--backend", help="check only this backend alias")
        parser.add_argument(
            "--offline", action="store_true", help="do not send any request to the backends"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.failures = 0
        for env, default in (("FFMPEG_BINARY", "ffmpeg"), ("FFPROBE_BINARY", "ffprobe")):
            ok, detail = tool_version(env, default)
            self.report(ok, default, detail)
        conf = get_settings()
        self.check_detector(conf.speech_detector)
        aliases = [options["backend"]] if options["backend"] else list(conf.backends)
        with tempfile.TemporaryDirectory(prefix="voxtral-check-") as workdir:
            tone = write_tone(Path(workdir) / "tone.wav")
            for alias in aliases:
                self.check_backend(alias, tone, offline=options["offline"])
        if self.failures:
            raise CommandError(f"{self.failures} check(s) failed.")
        self.stdout.write(self.style.SUCCESS("All checks passed."))

    def report(self, ok: bool | None, label: str, detail: str) -> None:
        """One line: OK, FAIL, or SKIP (ok=None)."""
        if ok is None:
            self.stdout.write(self.style.WARNING(f"SKIP  {label}: {detail}"))
        elif ok:
            self.stdout.write(self.style.SUCCESS(f"OK    {label}: {detail}"))
        else:
            self.failures += 1
            self.stdout.write(self.style.ERROR(f"FAIL  {label}: {detail}"))

    def check_detector(self, name: str) -> None:
        label = "speech detector"
        if name not in DETECTORS:
            self.report(False, label, f"{name!r} is not one of {', '.join(DETECTORS)}")
            return
        problems = [] if name == "level" else detector_problems()
        if name == "level":
            self.report(True, label, "level (loudness), as VOXTRAL['SPEECH_DETECTOR'] says")
        elif not problems:
            self.report(True, label, "silero (Silero VAD v6 with onnxruntime)")
        elif name == "silero":
            self.report(False, label, f"silero cannot run: {'; '.join(problems)}")
        else:
            # Works, but worse: a warning line, not a failure.
            self.stdout.write(
                self.style.WARNING(
                    f"WARN  {label}: level (loudness), because {'; '.join(problems)}"
                )
            )

    def check_backend(self, alias: str, tone: Path, *, offline: bool) -> None:
        label = f"backend {alias!r}"
        try:
            backend = get_backend(alias)
        except (UnknownBackend, SpeechError, ImportError, TypeError, ValueError) as exc:
            self.report(False, label, f"does not load: {exc}")
            return
        with backend:
            name = f"{type(backend).__name__}, model {backend.model}"
            problems = backend.configuration_problems()
            for problem in problems:
                self.report(False, label, problem)
            if problems:
                self.report(None, f"{label} request", "not sent: fix the configuration first")
                return
            self.report(True, label, f"loads and is configured ({name})")
            if offline:
                self.report(None, f"{label} request", "not sent (--offline)")
                return
            self.check_request(label, backend, tone)

    def check_request(self, label: str, backend: SpeechBackend, tone: Path) -> None:
        label = f"{label} request"
        started = time.monotonic()
        try:
            result = backend.transcribe(tone, TranscriptionOptions())
        except AuthenticationFailed as exc:
            self.report(False, label, f"token rejected: {exc}")
            return
        except (SpeechError, OSError) as exc:
            self.report(False, label, str(exc))
            return
        seconds = time.monotonic() - started
        self.report(
            True, label, f"answered in {seconds:.1f} s (status {result.inference_status.status})"
        )
