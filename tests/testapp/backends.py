"""A speech backend for tests of refusals: the dummy, but English only and unable to translate.

Never use it outside tests; it stands for any real service that cannot do what is asked.
"""

from __future__ import annotations

from typing import ClassVar

from django_voxtral.speech.backends.dummy import DummyBackend


class EnglishOnlyBackend(DummyBackend):
    name: ClassVar[str] = "english_only"
    supports_translate: ClassVar[bool] = False
    supports_language_detection: ClassVar[bool] = False
    languages: ClassVar[frozenset[str] | None] = frozenset({"en"})
