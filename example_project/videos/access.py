"""The example site's VOXTRAL["MEDIA_ACCESS"]: a Video's transcripts are public, the rest private.

Anyone may fetch the media and captions of a transcript attached to a Video (their pages are
public); never open anything else: uploads through the API keep the default rule (owner, staff
with the permission).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest

from django_voxtral.media_access import viewers_only
from django_voxtral.models import Transcript

from .models import Video


def public_videos(request: HttpRequest, transcript: Transcript) -> bool:
    """Whether ``request`` may fetch the transcript's media and captions: anyone for a Video's."""
    if transcript.content_type_id == ContentType.objects.get_for_model(Video).pk:
        return True
    return viewers_only(request, transcript)
