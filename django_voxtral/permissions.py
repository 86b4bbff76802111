"""Who may see, change and delete which transcripts: owners their own, others by model permission.

The one place for this rule (the admin's own checks use the same Django permissions); never
grant anything for is_staff alone.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.http import Http404
from rest_framework.generics import get_object_or_404  # a malformed id is a 404 too
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import Transcript

Action = Literal["view", "change", "delete"]

#: The model permissions that open others' transcripts to an action, as in Django's admin
#: (change implies view there too).
PERMISSIONS: dict[Action, tuple[str, ...]] = {
    "view": ("django_voxtral.view_transcript", "django_voxtral.change_transcript"),
    "change": ("django_voxtral.change_transcript",),
    "delete": ("django_voxtral.delete_transcript",),
}

#: The action each HTTP method asks of a transcript.
METHOD_ACTIONS: dict[str, Action] = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def is_active_user(user: Any) -> bool:
    """Whether ``user`` is logged in and active (an inactive owner's transcripts are closed)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", True))


def may_act_on_others(user: Any, action: Action) -> bool:
    """Whether ``user`` may ``action`` transcripts they do not own (superusers may all)."""
    return is_active_user(user) and any(user.has_perm(perm) for perm in PERMISSIONS[action])


def is_owner(user: Any, transcript: Transcript) -> bool:
    return (
        is_active_user(user) and transcript.owner_id is not None and transcript.owner_id == user.pk
    )


def may(user: Any, action: Action, transcript: Transcript) -> bool:
    """Whether ``user`` may ``action`` this transcript: theirs, or others' with the permission."""
    return is_owner(user, transcript) or may_act_on_others(user, action)


def transcripts_for(
    user: Any, action: Action = "view", queryset: QuerySet[Transcript] | None = None
) -> QuerySet[Transcript]:
    """The transcripts ``user`` may ``action``: all with the model permission, else their own."""
    queryset = Transcript.objects.all() if queryset is None else queryset
    if not is_active_user(user):
        return queryset.none()
    if may_act_on_others(user, action):
        return queryset
    return queryset.filter(owner=user)


def visible_or_404(user: Any, queryset: QuerySet[Transcript], **lookup: Any) -> Transcript:
    """The transcript ``lookup`` finds in ``queryset`` when ``user`` may see it; else Http404.

    Found first, then judged by ``may``: a user's own transcript needs no lookup of their
    permissions (two queries fewer on every status poll); others' are judged as in
    ``transcripts_for``, and one they may not see is a 404, as if it did not exist.
    """
    transcript = get_object_or_404(queryset, **lookup)
    if not may(user, "view", transcript):
        raise Http404("No transcript with this id.")
    return transcript


class TranscriptPermission(BasePermission):
    """DRF's side of the rule, for views whose queryset comes from ``transcripts_for(.., "view")``.

    A transcript one may see but not change or delete answers 403 saying which permission is
    missing; one may not even see answers 404 (the queryset never holds it).
    """

    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_active_user(request.user)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        action = METHOD_ACTIONS.get(str(request.method).upper(), "change")
        if not isinstance(obj, Transcript) or may(request.user, action, obj):
            return True
        self.message = (
            f"You may see this transcript but not {action} it: it is not yours, and the "
            f"permission {PERMISSIONS[action][0]} is needed to {action} others' transcripts. "
            "Ask the site's administrator for it."
        )
        return False


__all__ = [
    "PERMISSIONS",
    "TranscriptPermission",
    "is_active_user",
    "is_owner",
    "may",
    "may_act_on_others",
    "transcripts_for",
    "visible_or_404",
]
