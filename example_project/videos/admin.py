"""The Video admin, with django_voxtral's `transcribe` action and links to each video's transcripts.

Only presentation here; transcription rules live in django_voxtral.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from django_voxtral.admin import TranscribeAdminMixin

from .models import Video


@admin.register(Video)
class VideoAdmin(TranscribeAdminMixin, admin.ModelAdmin):
    list_display = ["title", "file", "created", "transcript_link"]

    @admin.display(description="Latest transcript")
    def transcript_link(self, obj: Video) -> str:
        transcript = obj.latest_transcript
        if transcript is None:
            return "-"
        url = reverse("admin:django_voxtral_transcript_change", args=[transcript.pk])
        return format_html('<a href="{}">{}</a>', url, transcript.get_status_display())
