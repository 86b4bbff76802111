"""Where a person reads a transcript: the admin's workspace or the owner's page, at a moment.

The one rule for links to a transcript's page (search hits, the API, the admin); never decides
who may open it (the page itself checks) nor renders anything.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from .permissions import may_act_on_others

ADMIN_WORKSPACE = "admin:django_voxtral_transcript_workspace"
OWNER_PAGE = "django_voxtral:transcript-page"


def reverse_or_none(name: str, *args: Any, **kwargs: Any) -> str | None:
    """The URL of ``name``, or None when the site did not mount the URLs it belongs to."""
    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _at(at: float | None) -> str:
    if at is None:
        return ""
    return f"?t={max(0.0, float(at)):.2f}".rstrip("0").rstrip(".")


def admin_workspace_url(transcript_id: Any, at: float | None = None) -> str | None:
    """The admin's workspace for the transcript (None when the admin is not mounted)."""
    url = reverse_or_none(ADMIN_WORKSPACE, transcript_id)
    return None if url is None else url + _at(at)


def owner_page_url(transcript_id: Any, at: float | None = None) -> str | None:
    """The transcript's own page under django_voxtral.urls (None when they are not mounted)."""
    url = reverse_or_none(OWNER_PAGE, pk=transcript_id)
    return None if url is None else url + _at(at)


def page_url(user: Any, transcript_id: Any, at: float | None = None) -> str:
    """The page where ``user`` reads the transcript, playing from ``at`` seconds.

    Staff who may view others' transcripts go to the admin's workspace; everyone else (owners)
    to the transcript's page. Falls back to the other one when a site mounts only one of them;
    "" when neither is mounted.
    """
    staff = bool(getattr(user, "is_staff", False)) and may_act_on_others(user, "view")
    first, second = (
        (admin_workspace_url, owner_page_url) if staff else (owner_page_url, admin_workspace_url)
    )
    return first(transcript_id, at) or second(transcript_id, at) or ""
