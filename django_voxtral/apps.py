"""The Django app config: registers system checks and the declarative upload hooks at startup.

Never touch the database or a speech service here: ready() runs in every process.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoxtralConfig(AppConfig):
    name = "django_voxtral"
    label = "django_voxtral"
    verbose_name = _("Transcripts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,
            hooks,
            webhooks,  # noqa: F401  (connects its receivers, in worker processes too)
        )

        checks.register()
        hooks.register_from_settings()
