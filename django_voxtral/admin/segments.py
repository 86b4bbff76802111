"""The transcript's segments on its admin change page: in order, with their times, read-only.

Never load every segment of a long transcript into the page: the first SEGMENTS_SHOWN only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from ..models import Segment, Transcript
from ..speech.formats import format_timestamp

if TYPE_CHECKING:
    SegmentInlineBase = admin.TabularInline[Segment, Transcript]
    SegmentFormSetBase = BaseInlineFormSet[Segment, Transcript, Any]
else:
    SegmentInlineBase = admin.TabularInline
    SegmentFormSetBase = BaseInlineFormSet

#: The change page lists this many segments; the downloads hold them all.
SEGMENTS_SHOWN = 500


class FirstSegmentsFormSet(SegmentFormSetBase):
    """Only the first SEGMENTS_SHOWN segments: a three-hour file has thousands."""

    def get_queryset(self) -> QuerySet[Segment]:
        if not hasattr(self, "_queryset"):
            self._queryset: QuerySet[Segment] = super().get_queryset()[:SEGMENTS_SHOWN]
        return self._queryset


class SegmentInline(SegmentInlineBase):
    """The transcript's segments in order with their times; read-only."""

    model = Segment
    formset = FirstSegmentsFormSet
    fields = ("index", "start_time", "end_time", "speaker", "text")
    readonly_fields = ("index", "start_time", "end_time", "speaker", "text")
    ordering = ("index",)
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("segments (the first 500; the downloads hold them all)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("start"))
    def start_time(self, segment: Segment) -> str:
        return format_timestamp(segment.start, decimal_marker=".")

    @admin.display(description=gettext_lazy("end"))
    def end_time(self, segment: Segment) -> str:
        return format_timestamp(segment.end, decimal_marker=".")
