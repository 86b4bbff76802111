"""django-voxtral: speech transcription for Django sites, from any audio or video file.

Importing this package must never need Django settings; the Django parts load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db import models

    from .hooks import Hook

__version__ = "0.1.0"


def register(model: type[models.Model], field: str, **options: Any) -> Hook:
    """Transcribes ``model.field`` on upload; see django_voxtral.hooks.register."""
    from .hooks import register as register_hook

    return register_hook(model, field, **options)
