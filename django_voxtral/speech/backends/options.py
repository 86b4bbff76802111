"""The contract's request options, validated exactly as docs/contract/speech-api.md states.

Validation only: never send anything, and never accept a value the hosted service would refuse.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from .errors import InvalidOption

Task = Literal["transcribe", "translate"]
ChunkLevel = Literal["segment", "word"]

TASKS: tuple[str, ...] = ("transcribe", "translate")
CHUNK_LEVELS: tuple[str, ...] = ("segment", "word")
MIN_CHUNK_LENGTH_S = 1
MAX_CHUNK_LENGTH_S = 30
#: The longest initial_prompt taken, in characters. Whisper reads only the last 224 tokens of a
#: prompt (about 1,000 characters of English) and Voxtral's context is larger; 4,000 leaves room
#: for a glossary of names and terms without storing and resending pages of text per chunk.
MAX_INITIAL_PROMPT_LENGTH = 4000

# Laid out as in the contract, so the two can be compared by eye.
_CONTRACT_LANGUAGES = """
    af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr
    gl gu ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv
    mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn
    so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh
"""
LANGUAGES: frozenset[str] = frozenset(_CONTRACT_LANGUAGES.split())


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """What to ask of the service for one piece of audio. Invalid values raise InvalidOption."""

    task: Task = "transcribe"
    language: str | None = None
    initial_prompt: str | None = None
    temperature: float = 0.0
    chunk_level: ChunkLevel = "segment"
    chunk_length_s: int = 30

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidOption("task", self.task, "one of: transcribe, translate")
        if self.language is not None and (
            not isinstance(self.language, str) or self.language not in LANGUAGES
        ):
            raise InvalidOption(
                "language",
                self.language,
                "a two-letter ISO 639-1 code the service knows (e.g. en, fr, de; "
                "also haw and yue), or empty to detect the language",
            )
        if (
            isinstance(self.initial_prompt, str)
            and len(self.initial_prompt) > MAX_INITIAL_PROMPT_LENGTH
        ):
            raise InvalidOption(
                "initial_prompt",
                f"{len(self.initial_prompt)} characters",
                f"at most {MAX_INITIAL_PROMPT_LENGTH} characters (the service reads only the "
                "end of a longer prompt); keep the names and terms that matter",
            )
        if self.initial_prompt is not None and (
            not isinstance(self.initial_prompt, str) or "\x00" in self.initial_prompt
        ):
            raise InvalidOption(
                "initial_prompt", self.initial_prompt, "text without NUL characters"
            )
        if (
            isinstance(self.temperature, bool)
            or not isinstance(self.temperature, int | float)
            or not math.isfinite(self.temperature)
            or self.temperature < 0
        ):
            raise InvalidOption("temperature", self.temperature, "a number, 0 or more")
        if self.chunk_level not in CHUNK_LEVELS:
            raise InvalidOption("chunk_level", self.chunk_level, "one of: segment, word")
        if (
            isinstance(self.chunk_length_s, bool)
            or not isinstance(self.chunk_length_s, int)
            or not MIN_CHUNK_LENGTH_S <= self.chunk_length_s <= MAX_CHUNK_LENGTH_S
        ):
            raise InvalidOption(
                "chunk_length_s",
                self.chunk_length_s,
                f"a whole number from {MIN_CHUNK_LENGTH_S} to {MAX_CHUNK_LENGTH_S}",
            )

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> TranscriptionOptions:
        """Builds options from string form fields (an HTTP form or a CLI), converting types.

        Empty values mean the default; unknown keys are refused by name.
        """
        known = set(OPTION_FIELDS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidOption(
                unknown[0], data[unknown[0]], f"one of the fields: {', '.join(sorted(known))}"
            )
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if v not in (None, "")}
        if "temperature" in kwargs and isinstance(kwargs["temperature"], str):
            try:
                kwargs["temperature"] = float(kwargs["temperature"])
            except ValueError:
                raise InvalidOption(
                    "temperature", data["temperature"], "a number, 0 or more"
                ) from None
        if "chunk_length_s" in kwargs and isinstance(kwargs["chunk_length_s"], str):
            try:
                kwargs["chunk_length_s"] = int(kwargs["chunk_length_s"])
            except ValueError:
                raise InvalidOption(
                    "chunk_length_s",
                    data["chunk_length_s"],
                    f"a whole number from {MIN_CHUNK_LENGTH_S} to {MAX_CHUNK_LENGTH_S}",
                ) from None
        return cls(**kwargs)

    def to_form(self) -> dict[str, str]:
        """The contract's form fields, leaving out those that are unset."""
        form: dict[str, str] = {
            "task": self.task,
            "temperature": repr(float(self.temperature)),
            "chunk_level": self.chunk_level,
            "chunk_length_s": str(self.chunk_length_s),
        }
        if self.language:
            form["language"] = self.language
        if self.initial_prompt:
            form["initial_prompt"] = self.initial_prompt
        return form

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The option names in the contract's order, for code that lists them (forms, admin, copies).
OPTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TranscriptionOptions))
