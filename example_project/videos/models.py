"""The example site's own model: a Video with a title and a file, transcribed on upload.

A site's model needs nothing from django_voxtral but the registration in apps.py.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from django_voxtral.hooks import TranscribedMixin


class Video(TranscribedMixin, models.Model):
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="videos/")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        """The public page (the admin's "View on site" links to it)."""
        return reverse("video-page", args=[self.pk])
