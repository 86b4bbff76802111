"""A site's own models with media fields, for testing the upload hooks and the admin action.

Test-only: never imported by the package itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from django_voxtral.hooks import TranscribedMixin


class Clip(TranscribedMixin, models.Model):
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="clips/", blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    def __str__(self) -> str:
        return self.title
