"""``{% load voxtral %}``: a model's media with its captions (``voxtral_player``) and the
read-only follow-along of its transcript (``voxtral_transcript``) on a site's own pages.

Only gathers what the templates under django_voxtral/tags/ show, through captions.py and
transcript_data.py; never marks text safe, and never shows what VOXTRAL["MEDIA_ACCESS"] refuses.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils.text import slugify

from ..captions import (
    CaptionTrack,
    caption_tracks,
    fetchable_transcripts,
    is_audio_only,
    media_filename,
    media_transcript,
    media_url,
)
from ..hooks import hooks_for
from ..models import Transcript
from ..transcript_data import follow_data

register = template.Library()

#: The values of a media element's ``preload``, as HTML defines them.
PRELOAD = ("none", "metadata", "auto")
ELEMENTS = ("video", "audio")


def _request(context: template.Context, tag: str) -> HttpRequest:
    request = context.get("request")
    if not isinstance(request, HttpRequest):
        raise template.TemplateSyntaxError(
            f"{{% {tag} %}} asks VOXTRAL['MEDIA_ACCESS'] who may see each transcript, and needs "
            "the request for it: add 'django.template.context_processors.request' to "
            "TEMPLATES' context_processors, or render the template with a request."
        )
    return request


def _model_instance(obj: Any, tag: str) -> models.Model:
    if not isinstance(obj, models.Model) or obj.pk is None:
        raise template.TemplateSyntaxError(
            f"{{% {tag} obj %}} takes a saved model instance (one with a FileField), not "
            f"{type(obj).__name__}: pass the object whose media was transcribed."
        )
    return obj


def media_element_id(obj: models.Model, field: str | None = None) -> str:
    """The id a player's media element gets by default, which ``voxtral_transcript`` follows."""
    parts = ["voxtral", obj._meta.label_lower.replace(".", "-"), str(obj.pk)]
    if field:
        parts.append(field)
    return slugify("-".join(parts))


def _own_file(obj: models.Model, field: str | None) -> FieldFile | None:
    """The object's own file, when no transcript gives a URL (its URL is the site's business)."""
    # Without a field named: the hooked ones, then any FileField of the model.
    names = (
        [field]
        if field
        else [hook.field for hook in hooks_for(type(obj))]
        + [f.name for f in obj._meta.get_fields() if isinstance(f, models.FileField)]
    )
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, FieldFile) and value:
            return value
    return None


def _follow(
    tracks: list[CaptionTrack], media_id: str, language: str | None
) -> dict[str, Any] | None:
    """What follow.html shows: the default track's transcript, or the one in ``language``."""
    if not tracks:
        return None
    track = next((t for t in tracks if language and t.srclang == language), tracks[0])
    transcript: Transcript = track.transcript
    container_id = f"{media_id}-follow"
    return {
        "id": container_id,
        "data_id": f"{container_id}-data",
        "media_id": media_id,
        "lang": track.srclang,
        "label": track.label,
        "data": follow_data(transcript),
    }


@register.inclusion_tag("django_voxtral/tags/player.html", takes_context=True)
def voxtral_player(
    context: template.Context,
    obj: Any,
    field: str | None = None,
    *,
    transcript: bool = False,
    css_class: str = "",
    controls: bool = True,
    preload: str = "metadata",
    id: str | None = None,
    element: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """``{% voxtral_player video "file" transcript=True css_class="wide" %}``.

    A ``<video>`` (``<audio>`` when the file's name says audio, or ``element="audio"``) playing
    the media through the newest done transcript's media URL, so VOXTRAL["MEDIA_ACCESS"] rules
    it; one ``<track kind="captions">`` per language the object's done transcripts have, the
    first one default; with ``transcript=True`` the follow-along beside it (in ``language``,
    else the default track's). No transcript the request may fetch: the object's own file URL
    and no tracks; no file either: nothing.
    """
    request = _request(context, "voxtral_player")
    instance = _model_instance(obj, "voxtral_player")
    if preload not in PRELOAD:
        raise template.TemplateSyntaxError(
            f"voxtral_player: preload is {preload!r}; use one of {', '.join(PRELOAD)}."
        )
    if element is not None and element not in ELEMENTS:
        raise template.TemplateSyntaxError(
            f"voxtral_player: element is {element!r}; use video or audio (or leave it out: "
            "the file's name decides)."
        )
    transcripts = fetchable_transcripts(request, instance, field)
    playing = media_transcript(transcripts)
    src = ""
    filename = media_filename(playing, instance)
    if playing is not None:
        src = media_url(playing)
    elif (own := _own_file(instance, field)) is not None:
        src, filename = own.url, own.name or ""
    tracks = caption_tracks(transcripts)
    media_id = id or media_element_id(instance, field)
    return {
        "src": src,
        "element": element or ("audio" if is_audio_only(filename) else "video"),
        "media_id": media_id,
        "css_class": css_class,
        "controls": controls,
        "preload": preload,
        "tracks": tracks,
        "follow": _follow(tracks, media_id, language) if transcript and src else None,
    }


@register.inclusion_tag("django_voxtral/tags/follow.html", takes_context=True)
def voxtral_transcript(
    context: template.Context,
    obj: Any,
    field: str | None = None,
    *,
    media_id: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """``{% voxtral_transcript video %}``: the read-only follow-along of the object's transcript.

    The newest done transcript the request may fetch (in ``language`` when it has one), as
    follow.js reads it; its lit word follows the media element ``media_id`` (by default the
    id ``voxtral_player`` gives the same object). Nothing when there is none.
    """
    request = _request(context, "voxtral_transcript")
    instance = _model_instance(obj, "voxtral_transcript")
    tracks = caption_tracks(fetchable_transcripts(request, instance, field))
    return {"follow": _follow(tracks, media_id or media_element_id(instance, field), language)}


__all__ = ["media_element_id", "voxtral_player", "voxtral_transcript"]
