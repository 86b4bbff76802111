"""The admin's workspace page for one transcript (media, waveform, words, editor, history).

For staff with the model's view (or change) permission, as the change page; shows, never
changes (the page's edits go through the API and transcripts.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from ..links import reverse_or_none
from ..models import Transcript
from ..workspace.context import workspace_context

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin


def workspace_view(
    model_admin: ModelAdmin[Transcript], request: HttpRequest, object_id: str
) -> HttpResponse:
    """``admin/django_voxtral/transcript/<id>/workspace/``; 404 for those who may not view it."""
    obj = model_admin.get_object(request, object_id)
    if obj is None or not model_admin.has_view_permission(request, obj):
        raise Http404(_("No transcript with this id."))
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        **workspace_context(request, obj),
        "opts": model_admin.opts,
        "title": _("Workspace: %(name)s") % {"name": obj.display_name},
    }
    return TemplateResponse(request, "django_voxtral/admin/workspace.html", context)


def live_progress_url(transcript: Transcript) -> str | None:
    """The API URL the list's row polls while the transcript is queued or running, else None.

    None too when the site did not mount the API: the row then updates on reload only.
    """
    if transcript.is_finished:
        return None
    return reverse_or_none("django_voxtral:transcript-detail", pk=transcript.pk)
