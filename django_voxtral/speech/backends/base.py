"""The one interface every speech backend implements: one audio file in, a TranscriptionResult out.

Backends know HTTP and the speech contract; they never run ffmpeg, split media or import Django.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..results import TranscriptionResult
from .errors import BackendNotConfigured, UnsupportedOption
from .options import TranscriptionOptions

AudioPath = str | Path

_SECRET_WORDS = ("token", "key", "secret", "password", "auth")


class SpeechBackend(ABC):
    """Base class of the backends; subclasses implement ``transcribe``.

    Construct with keyword options (from settings or the CLI). Subclasses declare what they
    can do with the ``supports_*`` flags; ``check_options`` refuses what they cannot.
    """

    name: ClassVar[str] = "base"
    supports_translate: ClassVar[bool] = True
    supports_word_timestamps: ClassVar[bool] = True
    supports_language_detection: ClassVar[bool] = True
    #: Languages the backend understands, or None for every language of the contract.
    languages: ClassVar[frozenset[str] | None] = None
    #: US dollars per audio minute, for cost estimates; None when unknown or free.
    price_per_minute: float | None = None
    #: Options that change how requests travel, run or are billed, never what the service
    #: answers (timeouts, retries, threads, prices, injected transports and sleeps); see
    #: answer_options().
    transport_options: ClassVar[frozenset[str]] = frozenset({"price_per_minute"})

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    def model(self) -> str:
        return str(self.options.get("model") or self.name)

    def check_options(self, options: TranscriptionOptions) -> None:
        """Raises UnsupportedOption when this backend cannot honour ``options``."""
        if options.task == "translate" and not self.supports_translate:
            raise UnsupportedOption(
                f"The {self.name} backend cannot translate; use task=transcribe "
                "or a backend that translates (deepinfra, openai)."
            )
        if (
            self.languages is not None
            and options.language
            and options.language not in self.languages
        ):
            raise UnsupportedOption(
                f"The {self.name} backend understands only {', '.join(sorted(self.languages))}, "
                f"not {options.language!r}; use another backend for that language."
            )

    def refuse_unknown_options(
        self, options: dict[str, Any], allowed: frozenset[str], note: str = ""
    ) -> None:
        """BackendNotConfigured naming the first option not in ``allowed`` (never its value:
        a misspelt option may well hold a token), and listing those that are."""
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise BackendNotConfigured(
                f"Unknown option {unknown[0]!r} for the {self.name} backend{note}; "
                f"it takes: {', '.join(sorted(allowed))}."
            )

    @classmethod
    def answer_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The options of ``options`` that shape what the service answers: all but the
        transport options and anything named like a secret (which never goes into a stored
        key, not even hashed)."""
        return {
            name: value
            for name, value in options.items()
            if name not in cls.transport_options
            and not any(word in name.lower() for word in _SECRET_WORDS)
        }

    def configuration_problems(self) -> list[str]:
        """What stops this backend from working (e.g. no token), for Django's system checks.

        Must not touch the network; an empty list means nothing is known to be wrong.
        """
        return []

    @abstractmethod
    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        """Transcribes one audio file (at most a few minutes: the pipeline sends chunks)."""

    def pack_sizes(self, durations: Sequence[float]) -> list[int]:
        """How the pipeline should group a file's consecutive chunks (of these durations) into
        calls of ``transcribe_many``: the size of each group, in order. Default: one each.

        A hosted service bills each chunk alike whatever the grouping; an engine that pays
        for a fixed window (Whisper's 30 s) gains by packing short chunks together.
        """
        return [1] * len(durations)

    def transcribe_many(
        self, audios: Sequence[AudioPath], options: TranscriptionOptions
    ) -> list[TranscriptionResult]:
        """Neighbouring chunks of one media in one go: one result per file, in order."""
        return [self.transcribe(audio, options) for audio in audios]

    async def atranscribe(
        self, audio: AudioPath, options: TranscriptionOptions
    ) -> TranscriptionResult:
        """The async form; the default runs ``transcribe`` in a worker thread."""
        return await asyncio.to_thread(self.transcribe, audio, options)

    # Deliberately not abstract: a backend without connections has nothing to release.
    def close(self) -> None:  # noqa: B027
        """Releases pooled connections; the backend may not be used afterwards."""

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> SpeechBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.model!r}>"
