"""Who may fetch a transcript's media and captions: the site's hook, VOXTRAL["MEDIA_ACCESS"].

The one place that decides it for the media and captions views; never serve bytes here, and
never let a hook that cannot be imported fail open (it raises, and the check E010 says why).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from .conf import DEFAULTS, get_settings
from .models import Transcript
from .permissions import is_active_user, may

#: What a hook is: given the request and the transcript, whether the request may fetch its
#: media and captions.
MediaAccess = Callable[[HttpRequest, Transcript], bool]

#: The default of VOXTRAL["MEDIA_ACCESS"] (conf.DEFAULTS holds it).
DEFAULT_MEDIA_ACCESS: str = DEFAULTS["MEDIA_ACCESS"]


def viewers_only(request: HttpRequest, transcript: Transcript) -> bool:
    """The default hook: those who may see the transcript, or its object, in the admin.

    The transcript's owner, or an active user with ``view_transcript`` or
    ``change_transcript`` (``permissions.may``); for a transcript of a site's own object (a
    ``Video``'s file), also an active user with the view or change permission of that object's
    model, as the admin's object page asks. Never ``is_staff`` alone, never the logged-out.
    """
    user: Any = getattr(request, "user", None)
    if may(user, "view", transcript):
        return True
    content_type_id = transcript.content_type_id
    return content_type_id is not None and _may_see_objects_of(user, content_type_id)


def _may_see_objects_of(user: Any, content_type_id: int) -> bool:
    if not is_active_user(user):
        return False
    content_type = ContentType.objects.get_for_id(content_type_id)  # cached by Django
    return any(
        user.has_perm(f"{content_type.app_label}.{action}_{content_type.model}")
        for action in ("view", "change")
    )


@lru_cache(maxsize=8)
def load_media_access(value: str | Callable[..., Any]) -> MediaAccess:
    """The hook a value of VOXTRAL["MEDIA_ACCESS"] names (a dotted path, or the function).

    ImproperlyConfigured, saying what to set, when it cannot be imported or is not callable.
    """
    hook: Any = value
    if isinstance(value, str):
        try:
            hook = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"VOXTRAL['MEDIA_ACCESS'] is {value!r}, which cannot be imported ({exc}). Set "
                "it to the dotted path of a function (request, transcript) -> bool, or leave it "
                f"out for the default, {DEFAULT_MEDIA_ACCESS}."
            ) from exc
    if not callable(hook):
        raise ImproperlyConfigured(
            f"VOXTRAL['MEDIA_ACCESS'] is {value!r}, which is not callable. Set it to the dotted "
            "path of a function (request, transcript) -> bool."
        )
    return hook  # type: ignore[no-any-return]


def media_access_hook() -> MediaAccess:
    """The hook VOXTRAL["MEDIA_ACCESS"] names; ImproperlyConfigured when it cannot be loaded."""
    return load_media_access(get_settings().media_access)


def may_fetch(request: HttpRequest, transcript: Transcript) -> bool:
    """Whether ``request`` may fetch this transcript's media and captions, by the site's hook."""
    return bool(media_access_hook()(request, transcript))


def fetchable(request: HttpRequest, pk: UUID | str, **lookup: Any) -> Transcript | None:
    """The transcript ``pk`` (filtered further by ``lookup``) when the hook lets ``request``
    fetch it; None when there is none or it may not (callers answer both alike: 404)."""
    # The waveform's peaks (tens of KB) are for the workspace, not for serving.
    transcript = Transcript.objects.filter(pk=pk, **lookup).defer("peaks").first()
    if transcript is None or not may_fetch(request, transcript):
        return None
    return transcript


__all__ = [
    "DEFAULT_MEDIA_ACCESS",
    "MediaAccess",
    "fetchable",
    "load_media_access",
    "may_fetch",
    "media_access_hook",
    "viewers_only",
]
