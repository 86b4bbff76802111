"""Speech backends by name: short aliases or dotted class paths, loaded when asked for.

Never import a backend module (or its optional engine) before it is asked for, nor read a token.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .base import SpeechBackend
from .errors import BackendNotConfigured

__all__ = ["BACKEND_ALIASES", "SpeechBackend", "default_backend_name", "load_backend"]

BACKEND_ALIASES: dict[str, str] = {
    "deepinfra": "django_voxtral.speech.backends.deepinfra.DeepInfraBackend",
    "openai": "django_voxtral.speech.backends.openai.OpenAIBackend",
    "local": "django_voxtral.speech.backends.local.LocalBackend",
    "dummy": "django_voxtral.speech.backends.dummy.DummyBackend",
}


def default_backend_name() -> str:
    """``deepinfra`` when DEEPINFRA_TOKEN is set, else the offline ``local`` engine."""
    return "deepinfra" if os.environ.get("DEEPINFRA_TOKEN") else "local"


def _choices() -> str:
    return ", ".join(sorted(BACKEND_ALIASES)) + ", or a dotted path to a SpeechBackend class"


def backend_class(name_or_path: str) -> type[SpeechBackend]:
    """The backend class for an alias or a dotted path, without making an instance."""
    path = BACKEND_ALIASES.get(name_or_path, name_or_path)
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise BackendNotConfigured(f"Unknown speech backend {name_or_path!r}; use {_choices()}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendNotConfigured(
            f"Cannot import speech backend {name_or_path!r} ({exc}); use {_choices()}."
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, SpeechBackend):
        raise BackendNotConfigured(f"{path!r} is not a SpeechBackend class; use {_choices()}.")
    return cls


def load_backend(name_or_path: str, **options: Any) -> SpeechBackend:
    """A new backend: ``load_backend("deepinfra", model=...)`` or a dotted class path.

    Close it after use (it is a context manager); options are the backend's own.
    """
    return backend_class(name_or_path)(**options)
