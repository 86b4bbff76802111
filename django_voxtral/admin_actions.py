"""Admin actions on transcripts: transcribe again, translate, retry failed, cancel, export.

Actions only change rows and queue work, in bulk; never run the pipeline or call a service here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import budgets
from .conf import UnknownBackend, get_settings
from .exports import export_response
from .models import Segment, Transcript, TranscriptChunk
from .speech.backends import backend_class
from .speech.backends.errors import SpeechError
from .speech.backends.options import OPTION_FIELDS
from .speech.formats import FORMATS
from .tasks import enqueue, enqueue_webhooks

if TYPE_CHECKING:
    TranscriptAdminBase = admin.ModelAdmin[Transcript]
else:
    TranscriptAdminBase = admin.ModelAdmin

Status = Transcript.Status
TranscriptQuerySet = QuerySet[Transcript]
ActionFunc = Callable[[Any, HttpRequest, TranscriptQuerySet], HttpResponseBase | None]

#: Actions offered both on the change list and on one transcript's change page.
BOTH_PLACES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]

#: What a transcript looks like before its first run (its options are kept).
FRESH: dict[str, Any] = {
    "status": Status.QUEUED,
    "text": "",
    "error": "",
    "detected_language": "",
    "duration": None,
    "chunks_done": 0,
    "chunks_total": 0,
    "cost": 0,
    "runtime_ms": 0,
    "started": None,
    "finished": None,
}


def _locked(queryset: TranscriptQuerySet) -> list[tuple[Any, str]]:
    """(pk, status) of the selected rows, locked until the transaction ends.

    The lock makes a worker's claim wait, so a row cannot start running between this read and
    the update that follows. Re-selected by pk: FOR UPDATE refuses the change list's outer joins.
    """
    return list(
        Transcript.objects.select_for_update()
        .filter(pk__in=queryset.values("pk"))
        .values_list("pk", "status")
    )


def _queue(ids: list[Any]) -> None:
    enqueue([Transcript(pk=pk) for pk in ids])


def _over_budget(
    modeladmin: TranscriptAdminBase, request: HttpRequest, seconds: float | None
) -> bool:
    """Whether ``seconds`` of audio take the acting user past their daily budget (and says so)."""
    try:
        budgets.check(request.user, seconds)
    except budgets.BudgetExceeded as exc:
        modeladmin.message_user(
            request, _("Nothing was queued. %(reason)s") % {"reason": exc}, messages.ERROR
        )
        return True
    return False


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


@admin.action(
    permissions=["change"],
    description=gettext_lazy("Transcribe again from the start"),
    location=BOTH_PLACES,
)
def retranscribe(
    modeladmin: TranscriptAdminBase, request: HttpRequest, queryset: TranscriptQuerySet
) -> None:
    """Back to queued with the result, stored chunks and error cleared; running ones are left."""
    with transaction.atomic():
        rows = _locked(queryset)
        ids = [pk for pk, status in rows if status != Status.RUNNING]
        # The lengths measured last time: the media is the same.
        seconds = Transcript.objects.filter(pk__in=ids).aggregate(total=Sum("duration"))["total"]
        if ids and _over_budget(modeladmin, request, seconds):
            return
        TranscriptChunk.objects.filter(transcript_id__in=ids).delete()
        Segment.objects.filter(transcript_id__in=ids).delete()
        count = Transcript.objects.filter(pk__in=ids).update(**FRESH)
        _queue(ids)
    _tell(
        modeladmin,
        request,
        count,
        "%(count)d transcript queued to be transcribed again.",
        "%(count)d transcripts queued to be transcribed again.",
    )
    running = len(rows) - len(ids)
    if running:
        _tell(
            modeladmin,
            request,
            running,
            "%(count)d transcript is running and was left alone; cancel it first.",
            "%(count)d transcripts are running and were left alone; cancel them first.",
            messages.WARNING,
        )


def _cannot_translate(aliases: set[str]) -> dict[str, str]:
    """Why a backend alias cannot translate, for those that cannot."""
    conf = get_settings()
    reasons: dict[str, str] = {}
    for alias in aliases:
        try:
            cls = backend_class(conf.backend_settings(alias).backend)
        except (UnknownBackend, SpeechError) as exc:
            reasons[alias] = str(exc)
            continue
        if not cls.supports_translate:
            reasons[alias] = _("the %(name)s backend cannot translate") % {"name": cls.name}
    return reasons


#: Fields a translation copies from the transcript it is made from (all options but the task).
_COPIED = (
    "owner_id",
    "media",
    "media_name",
    "content_type_id",
    "object_id",
    "source_field",
    "sha256",
    *(name for name in OPTION_FIELDS if name != "task"),
    "backend",
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
    sources = list(queryset.filter(task=Transcript.Task.TRANSCRIBE).select_related(None))
    already = queryset.exclude(task=Transcript.Task.TRANSCRIBE).count()
    refused = _cannot_translate({t.backend for t in sources})
    made = [
        Transcript(
            task=Transcript.Task.TRANSLATE,
            **{name: getattr(source, name) for name in _COPIED},
        )
        for source in sources
        if source.backend not in refused
    ]
    seconds = sum(t.duration or 0.0 for t in sources if t.backend not in refused)
    if made and _over_budget(modeladmin, request, seconds):
        return
    with transaction.atomic():
        Transcript.objects.bulk_create(made, batch_size=500)
        enqueue(made)
    _tell(
        modeladmin,
        request,
        len(made),
        "%(count)d translation into English queued.",
        "%(count)d translations into English queued.",
    )
    if already:
        _tell(
            modeladmin,
            request,
            already,
            "%(count)d selected transcript is already a translation; it was skipped.",
            "%(count)d selected transcripts are already translations; they were skipped.",
            messages.WARNING,
        )
    for alias, reason in sorted(refused.items()):
        skipped = sum(1 for t in sources if t.backend == alias)
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
    """Failed or canceled transcripts back to queued; stored chunk results are not sent again.

    Canceled ones are included so a transcript whose worker died (stuck in running) can be
    canceled, then resumed where it stopped.
    """
    retryable = (Status.FAILED, Status.CANCELED)
    with transaction.atomic():
        rows = _locked(queryset)
        ids = [pk for pk, status in rows if status in retryable]
        count = Transcript.objects.filter(pk__in=ids, status__in=retryable).update(
            status=Status.QUEUED, error="", started=None, finished=None
        )
        _queue(ids)
    _tell(
        modeladmin,
        request,
        count,
        "%(count)d transcript queued again.",
        "%(count)d transcripts queued again.",
    )
    others = len(rows) - len(ids)
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
    with transaction.atomic():
        cancelable = Transcript.objects.filter(
            pk__in=queryset.values("pk"), status__in=(Status.QUEUED, Status.RUNNING)
        )
        hooked = [str(pk) for pk in cancelable.exclude(webhook="").values_list("pk", flat=True)]
        count = cancelable.update(status=Status.CANCELED, finished=timezone.now())
        enqueue_webhooks(hooked)
    _tell(
        modeladmin,
        request,
        count,
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


EXPORT_ACTIONS: list[ActionFunc] = [
    make_export_action(fmt) for fmt in ("srt", "vtt", "txt", "json")
]

TRANSCRIPT_ACTIONS: list[ActionFunc] = [
    retranscribe,
    translate_to_english,
    retry_failed,
    cancel,
    *EXPORT_ACTIONS,
]
