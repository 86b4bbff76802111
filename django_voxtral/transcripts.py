"""The one place that creates transcripts and changes their state: from an upload, for a site's
own model instances, retry, transcribe again, translate into English, cancel, and edit a done one
(the editing rules and revisions are editing.py's).

Never run the pipeline or call a service here (the worker does), and never decide who may act:
callers pass only transcripts the acting user may change (permissions.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.db import models, transaction
from django.db.models import QuerySet, Sum
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext as _

from ffmpeg_bridge import MediaInfo

from . import budgets, editing
from .conf import get_settings
from .exceptions import ACTIONABLE, WrongStatus
from .models import Revision, Segment, Transcript, TranscriptChunk
from .names import media_name, upload_display_name
from .speech.backends import backend_class
from .speech.backends.options import OPTION_FIELDS, TranscriptionOptions
from .tasks import enqueue, enqueue_webhooks
from .upload_checks import check_backend, probe_upload, store_upload

Status = Transcript.Status

#: The statuses a transcript can be retried from (failed, or canceled: e.g. a stuck one).
RETRYABLE = (Status.FAILED, Status.CANCELED)
#: The statuses a transcript can be canceled in.
CANCELABLE = (Status.QUEUED, Status.RUNNING)

#: Why a transcript given to a change was left as it was (Outcome.left's keys).
LEFT_RUNNING = "running"
LEFT_NOT_RETRYABLE = "not_retryable"
LEFT_FINISHED = "finished"
LEFT_TRANSLATION = "already_translation"
LEFT_CANNOT_TRANSLATE = "cannot_translate"


@dataclass
class Outcome:
    """What a change did: the transcripts it changed or made, and how many it left, and why.

    ``refused`` has, per backend alias that cannot translate, how many were left for it and
    why (LEFT_CANNOT_TRANSLATE).
    """

    changed: list[Any] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=dict)
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.changed)

    def leave(self, reason: str, count: int = 1) -> None:
        if count:
            self.left[reason] = self.left.get(reason, 0) + count


def option_fields(options: TranscriptionOptions) -> dict[str, Any]:
    """A transcript's columns for these options: the one mapping of options to fields."""
    return {
        "task": options.task,
        "language": options.language or "",
        "initial_prompt": options.initial_prompt or "",
        "temperature": options.temperature,
        "chunk_level": options.chunk_level,
        "chunk_length_s": options.chunk_length_s,
    }


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# -- creating ---------------------------------------------------------------------------------


def create_from_upload(
    file: File[Any],
    *,
    options: TranscriptionOptions,
    backend: str = "default",
    owner: Any = None,
    charged_to: Any = None,
    webhook: str = "",
    info: MediaInfo | None = None,
    file_field: str = "audio",
    instance: Transcript | None = None,
    queue: bool = True,
) -> Transcript:
    """A new queued transcript of an uploaded file; its task is enqueued when the transaction
    commits (``queue=False``: the caller runs it).

    Checked first, each an error a person can act on (exceptions.ACTIONABLE): the backend and
    the options (UnknownBackend, InvalidOption, UnsupportedOption); the media (not media, no
    audio, too long), unless the caller probed it already (``info``); the daily budget of
    ``charged_to`` (default: the owner; BudgetExceeded); the storage (UploadNotStored). The
    row and the stored file are made in one transaction: a failure leaves neither.
    ``instance`` is an unsaved Transcript to fill in (the admin's add form makes one).
    """
    check_backend(backend, options)
    if info is None:
        info = probe_upload(file)
    budgets.check(owner if charged_to is None else charged_to, info.duration)
    transcript = instance if instance is not None else Transcript()
    transcript.owner = _user_or_none(owner)
    transcript.media_name = upload_display_name(file.name)
    transcript.sha256 = getattr(file, "sha256", "") or transcript.sha256
    transcript.backend = backend
    transcript.webhook = webhook
    transcript.duration = info.duration
    transcript.status = Status.QUEUED
    for name, value in option_fields(options).items():
        setattr(transcript, name, value)
    with transaction.atomic():
        store_upload(transcript, file, file_field)
        transcript.save()
        if queue:
            enqueue(transcript)
    return transcript


def create_for_instances(
    instances: Iterable[models.Model],
    field_name: str,
    *,
    options: TranscriptionOptions,
    backend: str = "default",
    owner: Any = None,
    owner_of: Callable[[models.Model], Any] | None = None,
    only_if_new: bool = False,
) -> list[Transcript | None]:
    """Queued transcripts of a FileField of a site's own model instances, in a few queries.

    Returns one item per instance: its new Transcript, or None (no file; or, with
    ``only_if_new``, a transcript of this very file with this task exists and was not
    canceled). The owner is ``owner``, else ``owner_of(instance)``. Files are never opened
    here (they may be on S3): the worker measures them, and budgets count them then.
    """
    items = list(instances)
    if not items:
        return []
    model = type(items[0])
    content_type = ContentType.objects.get_for_model(model)
    files: dict[str, str] = {}
    for item in items:
        value = getattr(item, field_name, None)
        if isinstance(value, FieldFile) and value.name:
            # Cut to the media_name column: a site's FileField may hold longer names.
            files[str(item.pk)] = media_name(value.name)
    existing: set[tuple[str, str]] = set()
    if only_if_new and files:
        existing = set(
            Transcript.objects.filter(
                content_type=content_type,
                object_id__in=list(files),
                source_field=field_name,
                task=options.task,
            )
            .exclude(status=Status.CANCELED)
            .values_list("object_id", "media_name")
        )
    columns = option_fields(options)
    created: list[Transcript | None] = []
    new: list[Transcript] = []
    for item in items:
        name = files.get(str(item.pk))
        if name is None or (str(item.pk), name) in existing:
            created.append(None)
            continue
        transcript = Transcript(
            owner=owner if owner is not None else (owner_of(item) if owner_of else None),
            content_type=content_type,
            object_id=str(item.pk),
            source_field=field_name,
            media_name=name,
            backend=backend,
            **columns,
        )
        new.append(transcript)
        created.append(transcript)
    if new:
        with transaction.atomic():
            Transcript.objects.bulk_create(new, batch_size=500)
            enqueue(new)
    return created


# -- changing ---------------------------------------------------------------------------------

#: What a transcript looks like before its first run (its options are kept).
FRESH: dict[str, Any] = {
    "status": Status.QUEUED,
    "text": "",
    "error": "",
    "dropped": [],
    "detected_language": "",
    "duration": None,
    "chunks_done": 0,
    "chunks_total": 0,
    "cost": 0,
    "runtime_ms": 0,
    "settings_key": "",
    "reused_from": None,
    "started": None,
    "finished": None,
    "lease_expires": None,
}


def _locked(transcripts: QuerySet[Transcript]) -> list[tuple[Any, str]]:
    """(pk, status) of the given rows, locked until the transaction ends.

    The lock makes a worker's claim wait, so a row cannot start running between this read and
    the update that follows. Re-selected by pk: FOR UPDATE refuses the admin's outer joins.
    """
    return list(
        Transcript.objects.select_for_update()
        .filter(pk__in=transcripts.values("pk"))
        .values_list("pk", "status")
    )


def _queue(ids: Sequence[Any]) -> None:
    enqueue([Transcript(pk=pk) for pk in ids])


def retry(transcripts: QuerySet[Transcript]) -> Outcome:
    """Failed or canceled transcripts back to queued; their stored chunk results are kept, so
    nothing paid for is sent again. Others are left (LEFT_NOT_RETRYABLE)."""
    outcome = Outcome()
    with transaction.atomic():
        rows = _locked(transcripts)
        ids = [pk for pk, status in rows if status in RETRYABLE]
        Transcript.objects.filter(pk__in=ids).update(
            status=Status.QUEUED, error="", started=None, finished=None, lease_expires=None
        )
        _queue(ids)
    outcome.changed = ids
    outcome.leave(LEFT_NOT_RETRYABLE, len(rows) - len(ids))
    return outcome


def retranscribe(transcripts: QuerySet[Transcript], *, charged_to: Any = None) -> Outcome:
    """Transcripts back to queued as if new: result, stored chunks, revisions and error cleared,
    options kept; running ones are left (LEFT_RUNNING: cancel them first).

    The lengths measured last time count against ``charged_to``'s budget (BudgetExceeded, and
    nothing changes, when they do not fit).
    """
    outcome = Outcome()
    with transaction.atomic():
        rows = _locked(transcripts)
        ids = [pk for pk, status in rows if status != Status.RUNNING]
        if ids:
            seconds = Transcript.objects.filter(pk__in=ids).aggregate(total=Sum("duration"))
            budgets.check(charged_to, seconds["total"])
        TranscriptChunk.objects.filter(transcript_id__in=ids).delete()
        Segment.objects.filter(transcript_id__in=ids).delete()
        # The new run's result is the machine's transcript now; edits of the old one go with it.
        Revision.objects.filter(transcript_id__in=ids).delete()
        Transcript.objects.filter(pk__in=ids).update(**FRESH)
        _queue(ids)
    outcome.changed = ids
    outcome.leave(LEFT_RUNNING, len(rows) - len(ids))
    return outcome


def cannot_translate(aliases: Iterable[str]) -> dict[str, str]:
    """Why each of these backend aliases cannot translate, for those that cannot."""
    conf = get_settings()
    reasons: dict[str, str] = {}
    for alias in set(aliases):
        try:
            cls = backend_class(conf.backend_settings(alias).backend)
        except ACTIONABLE as exc:
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
    "duration",
    *(name for name in OPTION_FIELDS if name != "task"),
    "backend",
)


def translate(transcripts: QuerySet[Transcript], *, charged_to: Any = None) -> Outcome:
    """New queued transcripts of the same media with task=translate; the originals stay.

    Left: translations themselves (LEFT_TRANSLATION) and those whose backend cannot translate
    (LEFT_CANNOT_TRANSLATE, with the count and reason per alias in ``refused``). The known
    lengths count against ``charged_to``'s budget (BudgetExceeded, and nothing is made, when
    they do not fit).
    """
    outcome = Outcome()
    chosen = list(transcripts.select_related(None))
    sources = [t for t in chosen if t.task == Transcript.Task.TRANSCRIBE]
    outcome.leave(LEFT_TRANSLATION, len(chosen) - len(sources))
    reasons = cannot_translate(t.backend for t in sources)
    usable = [t for t in sources if t.backend not in reasons]
    outcome.leave(LEFT_CANNOT_TRANSLATE, len(sources) - len(usable))
    for alias, reason in reasons.items():
        outcome.refused[alias] = (sum(1 for t in sources if t.backend == alias), reason)
    made = [
        Transcript(
            task=Transcript.Task.TRANSLATE,
            **{name: getattr(source, name) for name in _COPIED},
        )
        for source in usable
    ]
    if made:
        budgets.check(charged_to, sum(t.duration or 0.0 for t in usable))
        with transaction.atomic():
            Transcript.objects.bulk_create(made, batch_size=500)
            enqueue(made)
    outcome.changed = made
    return outcome


def cancel(transcripts: QuerySet[Transcript]) -> Outcome:
    """Queued and running transcripts become canceled; a running one stops before its next
    chunk, and what it stored is kept for a retry. Others are left (LEFT_FINISHED).

    Those that came with a webhook (/v1/inference) get it, with status "failed", from a task.
    """
    outcome = Outcome()
    with transaction.atomic():
        rows = _locked(transcripts)
        ids = [pk for pk, status in rows if status in CANCELABLE]
        cancelable = Transcript.objects.filter(pk__in=ids)
        hooked = [str(pk) for pk in cancelable.exclude(webhook="").values_list("pk", flat=True)]
        cancelable.update(status=Status.CANCELED, finished=timezone.now(), lease_expires=None)
        enqueue_webhooks(hooked)
    outcome.changed = ids
    outcome.leave(LEFT_FINISHED, len(rows) - len(ids))
    return outcome


# -- one transcript ---------------------------------------------------------------------------


def _one(transcript: Transcript) -> QuerySet[Transcript]:
    return Transcript.objects.filter(pk=transcript.pk)


def retry_one(transcript: Transcript) -> Transcript:
    """Retries one transcript (see ``retry``); WrongStatus when it has not failed or been
    canceled. Returns it fresh from the database."""
    if not retry(_one(transcript)).changed:
        transcript.refresh_from_db(fields=["status"])
        raise WrongStatus(
            f"The transcript is {transcript.status}: only failed or canceled transcripts can "
            "be retried. Cancel a queued or running one first; a done one can be transcribed "
            "again as a new upload.",
            status=transcript.status,
        )
    transcript.refresh_from_db()
    return transcript


def cancel_one(transcript: Transcript) -> Transcript:
    """Cancels one transcript (see ``cancel``); WrongStatus when it is already finished.
    Returns it fresh from the database."""
    if not cancel(_one(transcript)).changed:
        transcript.refresh_from_db(fields=["status"])
        raise WrongStatus(
            f"The transcript is {transcript.status}: only queued or running transcripts can "
            "be canceled. Retry a failed one, or delete it.",
            status=transcript.status,
        )
    transcript.refresh_from_db()
    return transcript


# -- editing a done transcript (the rules: editing.py) ----------------------------------------

#: What an edit did: the revision saved (None when nothing changed), the segments touched.
Edited = editing.Edited

#: Each edit as editing.py makes it (its docstring says what it refuses): WrongStatus unless the
#: transcript is done, NotInTranscript for a segment or revision it lacks, EditRejected naming
#: the field for what cannot be saved; each saves one revision.
edit_segment = editing.edit_segment
split_segment = editing.split_segment
merge_segments = editing.merge_segments
rename_speaker = editing.rename_speaker
restore_revision = editing.restore_revision


def replace_text(
    transcript: Transcript,
    find: Any,
    replace: Any,
    *,
    match_case: bool = False,
    author: Any = None,
) -> editing.Edited:
    """Every ``find`` replaced in the segments' texts, as one revision; ``.replaced`` counts."""
    return editing.replace_text(transcript, find, replace, match_case=match_case, author=author)


__all__ = [
    "CANCELABLE",
    "FRESH",
    "RETRYABLE",
    "Edited",
    "Outcome",
    "cancel",
    "cancel_one",
    "cannot_translate",
    "create_for_instances",
    "create_from_upload",
    "edit_segment",
    "merge_segments",
    "option_fields",
    "rename_speaker",
    "replace_text",
    "restore_revision",
    "retranscribe",
    "retry",
    "retry_one",
    "split_segment",
    "translate",
]
