"""Captions on a site's own pages: a done transcript's WebVTT for <track>, and which tracks an
object's player gets (one per language, a translation one more; the media the player plays).

Who may fetch them is media_access.py's decision, asked here for each transcript; never render
a track, a media URL or a transcript's text that the request may not fetch.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from uuid import UUID

from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import content_disposition_header
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .exports import export_filename, export_text
from .media_access import fetchable, may_fetch
from .models import Transcript

#: The srclang of a track whose language is not known (BCP 47's "undetermined").
UNKNOWN_LANGUAGE = "und"


@require_safe
def transcript_captions(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    """``GET /transcripts/<uuid>/captions.vtt``: a done transcript's captions, as WebVTT.

    The current text (a person's edits included), to those VOXTRAL["MEDIA_ACCESS"] lets fetch
    the transcript; anyone else, the logged-out included, and a transcript not done get 404
    (a <track> cannot follow a login page). Kept privately by the browser and revalidated by
    its ETag, so an edit shows at the next load.
    """
    transcript = fetchable(request, pk, status=Transcript.Status.DONE)
    if transcript is None:
        raise Http404(
            "No finished transcript with this id has captions for you: it is not done yet, or "
            "it is not yours to see; log in as a user who may view it."
        )
    body = export_text(transcript, "vtt").encode("utf-8")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type="text/vtt; charset=utf-8")
        response["Content-Length"] = str(len(body))
        filename = export_filename(transcript, "vtt")
        response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    # Someone's words: the browser keeps them (and asks again, cheaply, by ETag); shared caches
    # never, as the hook may answer another request otherwise.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Cookie",))
    return response


@dataclass(frozen=True)
class CaptionTrack:
    """One <track kind="captions"> of a player: its transcript, URL, language and label."""

    transcript: Transcript
    src: str
    srclang: str
    label: str
    translation: bool
    default: bool = False


def language_label(code: str) -> str:
    """The label of a track in ``code``: "English" for "en", the code for one Django does not
    know, "Captions" for none."""
    if not code:
        return _("Captions")
    try:
        return str(get_language_info(code)["name"])
    except KeyError:
        return code


def captions_url(transcript: Transcript) -> str:
    return reverse("django_voxtral:transcript-captions", args=[transcript.pk])


def media_url(transcript: Transcript) -> str:
    return reverse("django_voxtral:transcript-media", args=[transcript.pk])


def fetchable_transcripts(
    request: HttpRequest, instance: models.Model, field: str | None = None
) -> list[Transcript]:
    """The transcripts of ``instance`` (its ``field``, or any) the request may fetch, newest
    first; their text, peaks and dropped pieces are not read (a track needs none of them)."""
    rows = Transcript.objects.for_instance(instance, field).defer("peaks", "text", "dropped")
    return [transcript for transcript in rows if may_fetch(request, transcript)]


def caption_tracks(transcripts: list[Transcript]) -> list[CaptionTrack]:
    """One track per language among the done ``transcripts`` (newest first), the first default.

    A transcription is a track in its language (detected, else asked); a translation is one
    more, in English, labelled "English (translation)". Of two done transcripts alike, the
    newer is taken. Transcriptions come first, so the default is the newest one's language.
    """
    chosen: dict[tuple[bool, str], Transcript] = {}
    for transcript in transcripts:
        if transcript.status != Transcript.Status.DONE:
            continue
        translation = transcript.task == Transcript.Task.TRANSLATE
        language = "en" if translation else transcript.detected_language or transcript.language
        chosen.setdefault((translation, language), transcript)
    tracks: list[CaptionTrack] = []
    # sorted() is stable: transcriptions before translations, newest first within each.
    for (translation, language), transcript in sorted(chosen.items(), key=lambda i: i[0][0]):
        label = language_label(language)
        tracks.append(
            CaptionTrack(
                transcript=transcript,
                src=captions_url(transcript),
                srclang=language or UNKNOWN_LANGUAGE,
                label=_("%(language)s (translation)") % {"language": label}
                if translation
                else label,
                translation=translation,
                default=not tracks,
            )
        )
    return tracks


def media_transcript(transcripts: list[Transcript]) -> Transcript | None:
    """The transcript whose media URL a player plays: the newest done one, else the newest."""
    done = [t for t in transcripts if t.status == Transcript.Status.DONE]
    return next(iter(done or transcripts), None)


def media_filename(transcript: Transcript | None, instance: models.Model) -> str:
    """The media's file name, to tell video from audio, read without loading the source row."""
    if transcript is not None:
        if transcript.media_name:
            return transcript.media_name
        if transcript.media:
            return transcript.media.name or ""
        value = getattr(instance, transcript.source_field, None)
        if isinstance(value, FieldFile):
            return value.name or ""
    return ""


def is_audio_only(filename: str) -> bool:
    """Whether the name says audio (audio/*); a name that says nothing plays in <video>, which
    shows a picture when there is one and plays sound either way."""
    guessed = mimetypes.guess_type(filename)[0] or ""
    return guessed.startswith("audio/")


__all__ = [
    "UNKNOWN_LANGUAGE",
    "CaptionTrack",
    "caption_tracks",
    "captions_url",
    "fetchable_transcripts",
    "is_audio_only",
    "language_label",
    "media_filename",
    "media_transcript",
    "media_url",
    "transcript_captions",
]
