"""The Video admin, with django_voxtral's `transcribe` action and links to each video's transcripts.

Only presentation here; transcription rules live in django_voxtral. No query per listed row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from django_voxtral.admin import TranscribeAdminMixin
from django_voxtral.models import Transcript

from .models import Video


@admin.register(Video)
class VideoAdmin(TranscribeAdminMixin, admin.ModelAdmin):
    list_display = ["title", "file", "created", "transcript_link", "page_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Video]:
        # The latest transcript of each row in the list's own query, instead of one per row.
        latest = Transcript.objects.filter(
            content_type=ContentType.objects.get_for_model(Video),
            object_id=Cast(OuterRef("pk"), CharField()),
        ).order_by("-created")
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_transcript_id=Subquery(latest.values("pk")[:1]),
                latest_transcript_status=Subquery(latest.values("status")[:1]),
            )
        )

    @admin.display(description="Public page")
    def page_link(self, obj: Video) -> str:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), "view")

    @admin.display(description="Latest transcript")
    def transcript_link(self, obj: Any) -> str:
        if obj.latest_transcript_id is None:
            return "-"
        url = reverse("admin:django_voxtral_transcript_change", args=[obj.latest_transcript_id])
        label = Transcript.Status(obj.latest_transcript_status).label
        return format_html('<a href="{}">{}</a>', url, label)
