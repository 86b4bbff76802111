"""Admin actions on transcripts: transcribe again, translate, retry, cancel, export, subtitle.

Each asks transcripts.py to make the change and tells what it did; never change rows, run the
pipeline or call a service here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import subtitled, transcripts
from ..exceptions import BudgetExceeded
from ..exports import export_response
from ..models import Transcript
from ..speech.formats import FORMATS

if TYPE_CHECKING:
    TranscriptAdminBase = admin.ModelAdmin[Transcript]
else:
    TranscriptAdminBase = admin.ModelAdmin

Status = Transcript.Status
TranscriptQuerySet = QuerySet[Transcript]
ActionFunc = Callable[[Any, HttpRequest, TranscriptQuerySet], HttpResponseBase | None]

#: Actions offered both on the change list and on one transcript's change page.
BOTH_PLACES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


def _tell(
    modeladmin: TranscriptAdminBase,
    request: HttpRequest,
    count: int,
    singular: str,
    plural: str,
    level: int | None = None,
) -> None:
    """One counted message, at level; by default a success if count is not 0, else a warning."""
    if level is None:
        level = messages.SUCCESS if count else messages.WARNING
    modeladmin.message_user(request, ngettext(singular, plural, count) % {"count": count}, level)


def _refused(modeladmin: TranscriptAdminBase, request: HttpRequest, exc: Exception) -> None:
    modeladmin.message_user(
        request, _("Nothing was queued. %(reason)s") % {"reason": exc}, messages.ERROR
    )


@admin.action(
    permissions=["change"],
    description=gettext_lazy("Transcribe again from the start"),
    location=BOTH_PLACES,
)
def retranscribe(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> None:
    """Back to queued with the result, stored chunks and error cleared; running ones are left."""
    try:
        outcome = transcripts.retranscribe(queryset, charged_to=request.user)
    except BudgetExceeded as exc:
        _refused(modeladmin, request, exc)
        return
    _tell(
        modeladmin,
        request,
        outcome.count,
        "%(count)d transcript queued to be transcribed again.",
        "%(count)d transcripts queued to be transcribed again.",
    )
    running = outcome.left.get(transcripts.LEFT_RUNNING, 0)
    if running:
        _tell(
            modeladmin,
            request,
            running,
            "%(count)d transcript is running and was left alone; cancel it first.",
            "%(count)d transcripts are running and were left alone; cancel them first.",
            messages.WARNING,
        )


@admin.action(
    permissions=["add"],
    description=gettext_lazy("Translate into English (as new transcripts)"),
    location=BOTH_PLACES,
)
def translate_to_english(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> None:
    """A new transcript of the same media with task=translate, queued; the original stays."""
    try:
        outcome = transcripts.translate(queryset, charged_to=request.user)
    except BudgetExceeded as exc:
        _refused(modeladmin, request, exc)
        return
    _tell(
        modeladmin,
        request,
        outcome.count,
        "%(count)d translation into English queued.",
        "%(count)d translations into English queued.",
    )
    already = outcome.left.get(transcripts.LEFT_TRANSLATION, 0)
    if already:
        _tell(
            modeladmin,
            request,
            already,
            "%(count)d selected transcript is already a translation; it was skipped.",
            "%(count)d selected transcripts are already translations; they were skipped.",
            messages.WARNING,
        )
    for alias, (skipped, reason) in sorted(outcome.refused.items()):
        modeladmin.message_user(
            request,
            _(
                "%(count)d skipped: backend %(alias)r %(reason)s; pick a backend that "
                "translates (deepinfra, openai) and transcribe again."
            )
            % {"count": skipped, "alias": alias, "reason": reason},
            messages.WARNING,
        )


@admin.action(
    permissions=["change"],
    description=gettext_lazy("Retry failed or canceled (keeps the chunks already done)"),
    location=BOTH_PLACES,
)
def retry_failed(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> None:
    """Failed or canceled transcripts back to queued; stored chunk results are not sent again."""
    outcome = transcripts.retry(queryset)
    _tell(
        modeladmin,
        request,
        outcome.count,
        "%(count)d transcript queued again.",
        "%(count)d transcripts queued again.",
    )
    others = outcome.left.get(transcripts.LEFT_NOT_RETRYABLE, 0)
    if others:
        _tell(
            modeladmin,
            request,
            others,
            "%(count)d selected transcript had neither failed nor been canceled "
            "and was left alone.",
            "%(count)d selected transcripts had neither failed nor been canceled "
            "and were left alone.",
            messages.WARNING,
        )


@admin.action(
    permissions=["change"],
    description=gettext_lazy("Cancel"),
    location=BOTH_PLACES,
)
def cancel(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> None:
    """Queued and running transcripts become canceled; a running one stops before its next chunk.

    Those that came with a webhook (/v1/inference) get it, with status "failed", from a task.
    """
    outcome = transcripts.cancel(queryset)
    _tell(
        modeladmin,
        request,
        outcome.count,
        "%(count)d transcript canceled.",
        "%(count)d transcripts canceled.",
    )


def make_export_action(fmt: str) -> ActionFunc:
    """An action that downloads the selected done transcripts: one file, or a zip for several."""
    found = FORMATS[fmt]
    label = {"vtt": "WebVTT"}.get(fmt, fmt.upper())

    def export(
        modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
    ) -> HttpResponseBase | None:
        chosen = list(queryset.select_related(None))
        done = [t for t in chosen if t.status == Status.DONE]
        if not done:
            modeladmin.message_user(
                request,
                _("None of the selected transcripts is done; only done ones can be exported."),
                messages.WARNING,
            )
            return None
        if len(done) < len(chosen):
            # Shown on the next page: the download itself cannot carry a message.
            modeladmin.message_user(
                request,
                _("%(count)d selected transcripts were not done and are not in the export.")
                % {"count": len(chosen) - len(done)},
                messages.WARNING,
            )
        return export_response(done, found.name)

    export.__name__ = f"export_{found.name}"
    return admin.action(
        permissions=["view"],
        description=_lazy_export_description(label),
    )(export)


def _lazy_export_description(label: str) -> Any:
    from django.utils.functional import lazy

    return lazy(lambda: _("Export as %(format)s (a zip for several)") % {"format": label}, str)()


@admin.action(
    permissions=["view"],
    description=gettext_lazy("Download with subtitles (MP4, or the video's own MKV/WebM)"),
)
def download_subtitled(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> HttpResponseBase | None:
    """The selected done videos with their subtitles muxed in: one file, or a zip.

    subtitled.py makes the copies (picture and sound copied, so an MKV or WebM source stays
    one; anything else becomes MP4); those it cannot make are named in a warning shown on the
    next page, since a download cannot carry a message.
    """
    response, skipped = subtitled.download(list(queryset.select_related(None)))
    for reason in _skipped_reasons(skipped):
        modeladmin.message_user(request, reason, messages.WARNING)
    if response is None:
        modeladmin.message_user(
            request,
            _(
                "Nothing to download: none of the selected transcripts could be copied with "
                "its subtitles. Pick done transcripts of videos."
            ),
            messages.WARNING,
        )
    return response


def _skipped_reasons(skipped: list[subtitled.Skipped]) -> list[str]:
    """One message per reason, naming the transcripts it left out (at most 10 names each)."""
    by_code: dict[str, list[str]] = {}
    said: list[str] = []
    for item in skipped:
        if item.code in _SKIP_REASONS:
            by_code.setdefault(item.code, []).append(item.transcript.display_name)
        else:
            said.append(_("Skipped: %(reason)s") % {"reason": item.reason})
    for code, names in by_code.items():
        shown = ", ".join(names[:10])
        if len(names) > 10:
            shown += _(" and %(count)d more") % {"count": len(names) - 10}
        said.insert(0, str(_SKIP_REASONS[code]) % {"names": shown})
    return said


_SKIP_REASONS = {
    "not_done": gettext_lazy("Skipped, not done yet: %(names)s. Download them once they are done."),
    "no_video": gettext_lazy(
        "Skipped, audio only (no picture to put subtitles on): %(names)s. "
        "Export them as SRT or WebVTT instead."
    ),
    "media_missing": gettext_lazy(
        "Skipped, their media is gone from the storage: %(names)s. Upload the files again."
    ),
}


EXPORT_ACTIONS: list[ActionFunc] = [
    make_export_action(fmt) for fmt in ("srt", "vtt", "txt", "json")
]

TRANSCRIPT_ACTIONS: list[ActionFunc] = [
    retranscribe,
    translate_to_english,
    retry_failed,
    cancel,
    *EXPORT_ACTIONS,
    download_subtitled,
]
