"""The test site's admin for Clip: a site's own ModelAdmin with the transcribe action mixed in.

Test-only: shows how a site adds the action; never imported by the package itself.
"""

from __future__ import annotations

from django.contrib import admin

from django_voxtral.admin import TranscribeAdminMixin

from .models import Clip


@admin.register(Clip)
class ClipAdmin(TranscribeAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", "file", "uploaded_by")
    # The action's queryset is the change list's: the hook's owner getter reads uploaded_by
    # from it without a query per row.
    list_select_related = ("uploaded_by",)
