"""Transcript, its Segments, its stored chunk results and its Revisions: what the app keeps.

Models hold data and small accessors only; never run the pipeline or call a service from here.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .speech.backends.options import TranscriptionOptions
from .speech.results import (
    ChunkResult,
    DroppedText,
    InferenceStatus,
    TranscriptionResult,
    Word,
)
from .speech.results import (
    Segment as ResultSegment,
)

#: The longest speaker label kept (services give "speaker_0"; a person may type a name).
SPEAKER_MAX_LENGTH = 100


def upload_to(instance: Transcript, filename: str) -> str:
    from django.utils import timezone

    from .conf import get_settings

    return timezone.now().strftime(get_settings().upload_to) + filename


class TranscriptQuerySet(models.QuerySet["Transcript"]):
    def visible_to(self, user: Any) -> TranscriptQuerySet:
        """The transcripts ``user`` may see: their own, or all with the view permission."""
        from .permissions import transcripts_for  # permissions imports this module

        return transcripts_for(user, "view", self)  # type: ignore[return-value]

    def for_instance(self, instance: models.Model, field: str | None = None) -> TranscriptQuerySet:
        """Transcripts of another model's instance (upload hooks), newest first."""
        qs = self.filter(
            content_type=ContentType.objects.get_for_model(instance),
            object_id=str(instance.pk),
        )
        if field is not None:
            qs = qs.filter(source_field=field)
        return qs.order_by("-created")


class Transcript(models.Model):
    """One transcription of one media file with one set of options."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELED = "canceled", _("canceled")

    class Task(models.TextChoices):
        TRANSCRIBE = "transcribe", _("transcribe")
        TRANSLATE = "translate", _("translate into English")

    class ChunkLevel(models.TextChoices):
        SEGMENT = "segment", _("segment")
        WORD = "word", _("word")

    FINISHED_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="voxtral_transcripts",
    )

    # The media: its own file (API and admin uploads) or a field of another model's instance.
    media = models.FileField(_("media file"), upload_to=upload_to, blank=True, max_length=500)
    media_name = models.CharField(_("media name"), max_length=255, blank=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    source = GenericForeignKey("content_type", "object_id")
    source_field = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    task = models.CharField(max_length=10, choices=Task.choices, default=Task.TRANSCRIBE)
    language = models.CharField(_("language asked"), max_length=3, blank=True)
    detected_language = models.CharField(max_length=3, blank=True, db_index=True)
    initial_prompt = models.TextField(blank=True)
    temperature = models.FloatField(default=0.0)
    chunk_level = models.CharField(
        max_length=7, choices=ChunkLevel.choices, default=ChunkLevel.SEGMENT
    )
    chunk_length_s = models.PositiveSmallIntegerField(default=30)

    text = models.TextField(blank=True)
    #: What the engine said that the text leaves out (not speech, repetition loops), as
    #: {"start", "end", "text", "reason"} items: kept so nothing is lost silently.
    dropped = models.JSONField(default=list, blank=True)
    duration = models.FloatField(null=True, blank=True)
    #: The waveform drawn above the words, from the split's one decode, as
    #: ffmpeg_bridge.encode_peaks stores it (one byte per window and side, base64: about
    #: 7.5 KB an hour); read it with decode_peaks, which also reads the lists stored before.
    #: Saved as soon as the media is split, null before.
    peaks = models.JSONField(null=True, blank=True, editable=False)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal(0))
    runtime_ms = models.BigIntegerField(default=0)
    backend = models.CharField(_("backend alias"), max_length=100, default="default")
    model = models.CharField(max_length=200, blank=True)
    #: One hash of what shapes the machine result besides the media (options, backend, model,
    #: the split's settings), set when a run starts: how reuse.py finds a done twin.
    settings_key = models.CharField(max_length=64, blank=True, editable=False)
    #: The done transcript of the same media whose machine result this one reused (nothing sent).
    reused_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="reused_by",
        verbose_name=_("machine result reused from"),
    )
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    webhook = models.URLField(max_length=2000, blank=True)
    error = models.TextField(blank=True)

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # A running transcript's lease: its worker renews it; once it has run out, any worker may
    # claim the transcript again (``started`` is the run's token). See leases.py.
    lease_expires = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("transcript")
        verbose_name_plural = _("transcripts")
        # budgets.py: holders are not held to VOXTRAL["USER_MINUTES_PER_DAY"].
        permissions = [("unlimited_minutes", _("Can transcribe without a daily budget"))]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "source_field"], name="voxtral_source_idx"
            ),
            models.Index(fields=["owner", "-created"], name="voxtral_owner_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_status_display()})"

    @property
    def display_name(self) -> str:
        if self.media_name:
            return self.media_name
        if self.media:
            return (self.media.name or "").rsplit("/", 1)[-1]
        return str(self.id)

    @property
    def progress(self) -> int:
        """Percent done, from the chunks sent so far."""
        if self.status == self.Status.DONE:
            return 100
        if not self.chunks_total:
            return 0
        return min(99, int(100 * self.chunks_done / self.chunks_total))

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    def media_file(self) -> FieldFile | None:
        """The file to transcribe: the transcript's own, or the linked instance's field."""
        if self.media:
            return self.media
        if self.content_type_id and self.source_field:
            instance = self.source
            if instance is not None:
                value = getattr(instance, self.source_field, None)
                if isinstance(value, FieldFile) and value:
                    return value
        return None

    def options(self) -> TranscriptionOptions:
        return TranscriptionOptions(
            task=self.task,  # type: ignore[arg-type]
            language=self.language or None,
            initial_prompt=self.initial_prompt or None,
            temperature=self.temperature,
            chunk_level=self.chunk_level,  # type: ignore[arg-type]
            chunk_length_s=self.chunk_length_s,
        )

    def stored_chunks(self) -> list[ChunkResult]:
        return [c.to_chunk_result() for c in self.chunks.order_by("index")]

    def to_result(self) -> TranscriptionResult:
        """The stored transcript as the pipeline's result (for exports and the API)."""
        segments: list[ResultSegment] = []
        words: list[Word] = []
        # .all() (ordered by index in Meta) so a caller's prefetch_related("segments") is used.
        for seg in self.segments.all():
            segments.append(
                ResultSegment(seg.index, seg.start, seg.end, seg.text, seg.speaker or None)
            )
            words.extend(
                Word(
                    float(w["start"]),
                    float(w["end"]),
                    str(w["text"]),
                    str(w["speaker"]) if w.get("speaker") is not None else None,
                )
                for w in seg.words or ()
            )
        duration = float(self.duration or 0.0)
        return TranscriptionResult(
            text=self.text,
            segments=tuple(segments),
            language=self.detected_language or self.language or None,
            words=tuple(words),
            duration=duration,
            input_length_ms=round(duration * 1000),
            request_id=self.request_id or str(self.id),
            inference_status=InferenceStatus(
                status=_CONTRACT_STATUS.get(self.status, self.status),
                runtime_ms=self.runtime_ms,
                cost=float(self.cost),
            ),
            dropped=tuple(DroppedText.from_dict(d) for d in self.dropped or ()),
        )


# The contract's inference_status words for our statuses.
_CONTRACT_STATUS: dict[str, str] = {
    Transcript.Status.QUEUED: "queued",
    Transcript.Status.RUNNING: "running",
    Transcript.Status.DONE: "succeeded",
    Transcript.Status.FAILED: "failed",
    Transcript.Status.CANCELED: "failed",
}


class Segment(models.Model):
    """A timed piece of a transcript; ``words`` holds its words' times if given.

    ``speaker`` is the label the service gave (e.g. "speaker_0"), empty when unknown.
    """

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()
    words = models.JSONField(default=list, blank=True)
    speaker = models.CharField(_("speaker"), max_length=SPEAKER_MAX_LENGTH, blank=True, default="")

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="voxtral_segment_unique")
        ]

    def __str__(self) -> str:
        return f"[{self.start:.2f}-{self.end:.2f}] {self.text}"


class TranscriptChunk(models.Model):
    """One chunk's result as it arrived, so a retried job does not send finished chunks again."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    result = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="voxtral_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.transcript_id}"

    def to_chunk_result(self) -> ChunkResult:
        return ChunkResult(
            index=self.index,
            start=self.start,
            end=self.end,
            result=TranscriptionResult.from_contract(self.result),
        )


class Revision(models.Model):
    """One saved state of a transcript's segments: number 0 is the machine's own, kept for good.

    Made by editing.py only: number 0 lazily, as a copy of the segments before the first edit;
    each edit, then, the next number with who made it, what changed, and only the segments it
    changed (``delta``): its state is number 0's with the deltas up to it applied
    (editing.state_at).
    """

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(default=timezone.now)
    #: What was done, in a few words: "Edited segment 4 text", "Renamed speaker A to Alice".
    summary = models.CharField(max_length=200)
    #: What changed, as {"index", "field", "before", "after"} items.
    changes = models.JSONField(default=list, blank=True)
    #: The transcript's text after this revision when it is not its segments' texts joined
    #: (editing.joined_text): always for number 0 (the machine's text as it was), later only for
    #: a restore that brought such a text back; null otherwise.
    text = models.TextField(null=True, blank=True)
    #: Number 0 only: every segment, in order, as {"start", "end", "text", "speaker", "words"}
    #: (a segment's index is its place); empty for the others.
    segments = models.JSONField(default=list, blank=True)
    #: The others: what this revision changed in the ordered segment list, as range replacements
    #: applied in order, {"at": place, "removed": how many segments, "added": [their new states,
    #: as in segments]}; "at" counts in the list as the entries before left it. Empty for 0.
    delta = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["transcript", "-number"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        constraints = [
            models.UniqueConstraint(fields=["transcript", "number"], name="voxtral_revision_unique")
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.transcript_id}: {self.summary}"
