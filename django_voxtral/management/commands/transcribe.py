"""`manage.py transcribe FILE...`: local files through a configured backend, printed or written out.

A failed file is one line on stderr and the others go on; never let a traceback reach the user.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from ... import transcripts
from ...conf import get_backend, get_settings
from ...exceptions import ACTIONABLE, VoxtralError
from ...models import Transcript
from ...runner import run_transcript
from ...speech import formats
from ...speech.backends.base import SpeechBackend
from ...speech.backends.errors import SpeechError
from ...speech.backends.options import TASKS, TranscriptionOptions
from ...speech.cli import FORMAT_CHOICES, ProgressBar
from ...speech.pipeline import transcribe_media
from ...speech.results import TranscriptionResult

#: What a file can fail with that a person can act on (and the command's own files' OSErrors);
#: anything else is a bug and shows as one.
FILE_ERRORS: tuple[type[Exception], ...] = (*ACTIONABLE, OSError)
#: A backend that cannot be made: a person's settings (a missing package, a wrong option name).
BACKEND_ERRORS: tuple[type[Exception], ...] = (*ACTIONABLE, ImportError, TypeError)


class TranscriptNotDone(VoxtralError):
    """A transcript saved and run by the command did not end done (its error says why)."""


class _Stream:
    """Lets cli.ProgressBar draw on a command's stderr (OutputWrapper adds newlines otherwise)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        # Plain text: a tty's stderr is styled as errors (red) by default.
        self.wrapper.write(text, style_func=_plain, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return bool(self.wrapper.isatty())


def _plain(text: str) -> str:
    return text


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Command(BaseCommand):
    help = (
        "Transcribe local audio or video files with a backend of VOXTRAL['BACKENDS']. Prints the "
        "result, or writes FILE's name with the format's extension into --output-dir. With "
        "--save, each file is stored as a Transcript (media in the default storage) and run here."
    )
    # Runs even when a system check fails (e.g. no token for another backend); errors are ours.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
        parser.add_argument(
            "--backend", default="default", help="backend alias in VOXTRAL['BACKENDS']"
        )
        parser.add_argument("--language", default="", help="spoken language (ISO 639-1)")
        parser.add_argument("--task", choices=TASKS, default="transcribe")
        parser.add_argument("--format", choices=FORMAT_CHOICES, default="txt", dest="fmt")
        parser.add_argument("--output-dir", type=Path, help="write one file per input here")
        parser.add_argument(
            "--save", action="store_true", help="store each as a Transcript and run it here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files: list[Path] = options["files"]
        alias: str = options["backend"]
        self.fmt: str = options["fmt"]
        self.output_dir: Path | None = options["output_dir"]
        self.written: set[Path] = set()
        self.several = len(files) > 1
        try:
            transcription = TranscriptionOptions(
                task=options["task"], language=options["language"] or None
            )
        except ValueError as exc:
            raise CommandError(one_line(exc)) from None
        try:
            backend = get_backend(alias)
        except BACKEND_ERRORS as exc:
            raise CommandError(one_line(exc)) from None
        if self.output_dir is not None:
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CommandError(f"cannot use --output-dir {self.output_dir}: {exc}") from None
        failed = 0
        with backend:
            try:
                backend.check_options(transcription)
            except SpeechError as exc:
                raise CommandError(one_line(exc)) from None
            for path in files:
                try:
                    if not path.is_file():
                        raise FileNotFoundError(f"no such file: {path}")
                    if options["save"]:
                        result = self._save_and_run(path, alias, transcription)
                    else:
                        result = self._transcribe(path, backend, transcription)
                    self._emit(path, result)
                except FILE_ERRORS as exc:
                    failed += 1
                    self.stderr.write(self.style.ERROR(f"{path}: {one_line(exc)}"))
        if failed:
            raise CommandError(f"{failed} of {len(files)} files failed.")

    def _transcribe(
        self, path: Path, backend: SpeechBackend, options: TranscriptionOptions
    ) -> TranscriptionResult:
        bar = ProgressBar(_Stream(self.stderr))  # type: ignore[arg-type]
        try:
            return transcribe_media(
                path,
                backend,
                options,
                **get_settings().pipeline_options(),
                progress=bar,
            )
        finally:
            bar.finish()

    def _save_and_run(
        self, path: Path, alias: str, options: TranscriptionOptions
    ) -> TranscriptionResult:
        with path.open("rb") as handle:
            # Run here, not queued: a worker must not pick it up meanwhile.
            transcript = transcripts.create_from_upload(
                File(handle, name=path.name), options=options, backend=alias, queue=False
            )
        bar = ProgressBar(_Stream(self.stderr))  # type: ignore[arg-type]
        try:
            run_transcript(transcript.pk, progress=bar)
        finally:
            bar.finish()
        transcript.refresh_from_db()
        if transcript.status != Transcript.Status.DONE:
            raise TranscriptNotDone(
                f"transcript {transcript.pk} {transcript.status}: {transcript.error or 'no error'}"
            )
        self.stderr.write(f"{path}: saved as transcript {transcript.pk}")
        return transcript.to_result()

    def _emit(self, path: Path, result: TranscriptionResult) -> None:
        text = formats.render(result, self.fmt)
        if self.output_dir is None:
            if self.several:
                self.stdout.write(f"==> {path} <==")
            self.stdout.write(text, ending="" if text.endswith("\n") or not text else "\n")
            return
        extension = formats.FORMATS[self.fmt].extension
        target = self.output_dir / f"{path.stem}.{extension}"
        n = 2
        while target in self.written:  # two inputs with the same name from different folders
            target = self.output_dir / f"{path.stem}-{n}.{extension}"
            n += 1
        target.write_text(text, encoding="utf-8")
        self.written.add(target)
        self.stdout.write(f"{path} -> {target}")
