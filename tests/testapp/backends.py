"""Speech backends for tests: the dummy English only and unable to translate (refusals), and
the dummy answering chunk by chunk when a test says so (live progress).

Never use them outside tests; they stand for real services that refuse or take their time.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from django_voxtral.speech.backends.base import AudioPath
from django_voxtral.speech.backends.dummy import DummyBackend
from django_voxtral.speech.backends.options import TranscriptionOptions
from django_voxtral.speech.results import TranscriptionResult


class EnglishOnlyBackend(DummyBackend):
    name: ClassVar[str] = "english_only"
    supports_translate: ClassVar[bool] = False
    supports_language_detection: ClassVar[bool] = False
    languages: ClassVar[frozenset[str] | None] = frozenset({"en"})


class GatedBackend(DummyBackend):
    """The dummy, answering each chunk only once the test opens the gate for it (``release``).

    For tests that watch a transcript on its way (live progress) chunk by chunk; a chunk left
    waiting 60 s fails, so a test that forgets to release never hangs the suite.
    """

    name: ClassVar[str] = "gated"
    gate: ClassVar[threading.Semaphore] = threading.Semaphore(0)

    @classmethod
    def reset(cls) -> None:
        cls.gate = threading.Semaphore(0)

    @classmethod
    def release(cls, chunks: int = 1) -> None:
        cls.gate.release(chunks)

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        if not type(self).gate.acquire(timeout=60):
            raise TimeoutError("GatedBackend: the test never released this chunk")
        return super().transcribe(audio, options)
