"""Serializers of the API: transcripts as JSON, and the upload forms (browsable API and schema).

Read-only views of the models and form descriptions; never validate options here (options.py does).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from .. import progress
from ..models import Segment, Transcript
from ..speech.backends.options import MAX_CHUNK_LENGTH_S, MIN_CHUNK_LENGTH_S
from .renderers import EXPORT_FORMATS

DETAIL_VIEW = "django_voxtral:transcript-detail"


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    class Meta:
        model = Segment
        fields = ("index", "start", "end", "text", "words", "speaker")


class FieldsBuiltOnce:
    """Builds a read-only ModelSerializer's fields from the model once per class, not once per
    request: DRF introspects the model for every serializer it makes, and deep-copies each
    field, about half of a status poll's time (BENCHMARKS.md).

    Each instance gets its own shallow copies of the unbound fields, which binding then names;
    for read-only serializers only: their validators and messages are shared, never changed.
    """

    _built: ClassVar[dict[type, dict[str, serializers.Field[Any, Any, Any, Any]]]] = {}

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        cls = type(self)
        built = FieldsBuiltOnce._built.get(cls)
        if built is None:
            built = FieldsBuiltOnce._built[cls] = super().get_fields()  # type: ignore[misc]
        return {name: copy.copy(field) for name, field in built.items()}


class TranscriptSerializer(FieldsBuiltOnce, serializers.ModelSerializer[Transcript]):
    """A transcript as listed: what it is and how far it got, without the text."""

    url = serializers.HyperlinkedIdentityField(view_name=DETAIL_VIEW)
    progress = serializers.IntegerField(read_only=True)
    cost = serializers.FloatField(read_only=True)

    class Meta:
        model = Transcript
        fields: tuple[str, ...] = (
            "id",
            "url",
            "status",
            "progress",
            "error",
            "media_name",
            "task",
            "language",
            "detected_language",
            "duration",
            "backend",
            "model",
            "cost",
            "created",
            "started",
            "finished",
        )
        read_only_fields: tuple[str, ...] = fields


class PartialSegmentSerializer(serializers.Serializer[Any]):
    start = serializers.FloatField(help_text="Seconds from the start of the media.")
    end = serializers.FloatField()
    text = serializers.CharField()
    speaker = serializers.CharField(
        required=False,
        help_text="Who speaks, as the service labels it (e.g. speaker_0); only when known.",
    )


class PartialResultSerializer(serializers.Serializer[Any]):
    """The chunks transcribed so far, in the media's timeline (django_voxtral.progress)."""

    segments = PartialSegmentSerializer(many=True)
    text = serializers.CharField()


class TranscriptDetailSerializer(TranscriptSerializer):
    """One transcript: options, progress (with the text so far and the time left while it runs)
    and error; once done, text, result and export links."""

    # DRF's metaclass takes declared fields off the class, so this never shadows the
    # serializer's own ``partial`` flag (an attribute of each instance); mypy cannot tell.
    partial = serializers.SerializerMethodField()  # type: ignore[assignment]
    eta_seconds = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    exports = serializers.SerializerMethodField()

    class Meta(TranscriptSerializer.Meta):
        fields = (
            *TranscriptSerializer.Meta.fields,
            "initial_prompt",
            "temperature",
            "chunk_level",
            "chunk_length_s",
            "chunks_done",
            "chunks_total",
            "runtime_ms",
            "reused_from",
            "eta_seconds",
            "partial",
            "text",
            "result",
            "exports",
        )
        read_only_fields: tuple[str, ...] = fields

    def _live(self, obj: Transcript) -> progress.Live:
        # partial and eta_seconds share one read of the stored chunks per transcript.
        cache: dict[Any, progress.Live] = self.__dict__.setdefault("_live_by_pk", {})
        if obj.pk not in cache:
            cache[obj.pk] = progress.live(obj)
        return cache[obj.pk]

    @extend_schema_field(
        PartialResultSerializer(
            allow_null=True,
            help_text="While the transcript is queued or running: the segments and text of the "
            "chunks transcribed so far, in the media's timeline and in order (empty before the "
            "first); null once done, failed or canceled (the result is then in result).",
        )
    )
    def get_partial(self, obj: Transcript) -> dict[str, Any] | None:
        return self._live(obj).partial

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            min_value=0,
            help_text="While running: an estimate of the seconds left, from the run's time so "
            "far per chunk it transcribed and the chunks left; null before this run's first "
            "chunk is done, and when not running.",
        )
    )
    def get_eta_seconds(self, obj: Transcript) -> int | None:
        return self._live(obj).eta_seconds

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "The contract's response JSON (text, segments, language, words, "
            "duration, request_id, inference_status) once the status is done; else null.",
        }
    )
    def get_result(self, obj: Transcript) -> dict[str, Any] | None:
        if obj.status != Transcript.Status.DONE:
            return None
        return obj.to_result().to_contract()

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"type": "string", "format": "uri"},
            "description": "Download links by format (json, srt, vtt, txt) once done; else null.",
        }
    )
    def get_exports(self, obj: Transcript) -> dict[str, str] | None:
        if obj.status != Transcript.Status.DONE:
            return None
        request = self.context.get("request")
        return {
            fmt: reverse(DETAIL_VIEW, kwargs={"pk": obj.pk, "format": fmt}, request=request)
            for fmt in EXPORT_FORMATS
        }

    def to_representation(self, instance: Transcript) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.status != Transcript.Status.DONE:
            data["text"] = None
        return dict(data)


class OptionsForm(serializers.Serializer[Any]):
    """The contract's options as form fields (all optional)."""

    task = serializers.ChoiceField(
        choices=Transcript.Task.choices, required=False, default="transcribe"
    )
    language = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="ISO 639-1 code of the spoken language (e.g. en, fr); empty: detect it.",
    )
    initial_prompt = serializers.CharField(
        required=False, allow_blank=True, help_text="Text given as the prompt for the first window."
    )
    temperature = serializers.FloatField(required=False, default=0.0, min_value=0.0)
    chunk_level = serializers.ChoiceField(
        choices=Transcript.ChunkLevel.choices, required=False, default="segment"
    )
    chunk_length_s = serializers.IntegerField(
        required=False,
        default=MAX_CHUNK_LENGTH_S,
        min_value=MIN_CHUNK_LENGTH_S,
        max_value=MAX_CHUNK_LENGTH_S,
        help_text="Length in seconds of the windows the service splits the audio into.",
    )


class TranscriptUploadForm(OptionsForm):
    """POST /api/transcripts/: the media in ``audio`` and the options."""

    audio = serializers.FileField(help_text="The audio or video file to transcribe.")
    backend = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Alias of a configured speech backend (VOXTRAL['BACKENDS']); default: default.",
    )


class DeepInfraRequestForm(OptionsForm):
    """POST /v1/inference/{model}: exactly the hosted service's request."""

    audio = serializers.FileField(help_text="The audio to transcribe.")
    webhook = serializers.URLField(
        required=False,
        help_text="Where to POST the result when done; the answer is then at once 'queued'.",
    )


class ContractWordSerializer(serializers.Serializer[Any]):
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField()
    speaker = serializers.CharField(
        required=False,
        help_text="Who speaks, as the service labels it (e.g. speaker_0); only when known.",
    )


class ContractSegmentSerializer(ContractWordSerializer):
    id = serializers.IntegerField()


class InferenceStatusSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(help_text="queued, running, succeeded or failed")
    runtime_ms = serializers.IntegerField()
    cost = serializers.FloatField()
    tokens_generated = serializers.IntegerField()
    tokens_input = serializers.IntegerField()


class DeepInfraResponseSerializer(serializers.Serializer[Any]):
    """The hosted service's response (docs/contract/speech-api.md)."""

    text = serializers.CharField()
    segments = ContractSegmentSerializer(many=True)
    language = serializers.CharField(allow_null=True)
    input_length_ms = serializers.IntegerField()
    words = ContractWordSerializer(many=True)
    duration = serializers.FloatField()
    request_id = serializers.CharField(allow_null=True)
    inference_status = InferenceStatusSerializer()


class DeepInfraQueuedSerializer(serializers.Serializer[Any]):
    """The answer with a webhook, or when the wait ran out: poll /api/transcripts/{request_id}/."""

    request_id = serializers.CharField()
    inference_status = InferenceStatusSerializer()


class OpenAIRequestForm(serializers.Serializer[Any]):
    """POST /v1/audio/transcriptions (and translations), as OpenAI's API takes it."""

    file = serializers.FileField()
    model = serializers.CharField(
        required=False, help_text="Picks the backend serving this model; else the default one."
    )
    language = serializers.CharField(required=False)
    prompt = serializers.CharField(required=False)
    temperature = serializers.FloatField(required=False, min_value=0.0)
    response_format = serializers.ChoiceField(
        choices=("json", "text", "srt", "verbose_json", "vtt"), required=False, default="json"
    )
    timestamp_granularities = serializers.ListField(
        child=serializers.ChoiceField(choices=("segment", "word")),
        required=False,
        help_text="Sent as timestamp_granularities[]; only with verbose_json.",
    )


class OpenAIWordSerializer(serializers.Serializer[Any]):
    word = serializers.CharField()
    start = serializers.FloatField()
    end = serializers.FloatField()


class OpenAISegmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    seek = serializers.IntegerField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField()
    tokens = serializers.ListField(child=serializers.IntegerField())
    temperature = serializers.FloatField()
    avg_logprob = serializers.FloatField()
    compression_ratio = serializers.FloatField()
    no_speech_prob = serializers.FloatField()


class OpenAIJSONSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()


class OpenAIVerboseSerializer(OpenAIJSONSerializer):
    task = serializers.CharField()
    language = serializers.CharField()
    duration = serializers.FloatField()
    segments = OpenAISegmentSerializer(many=True, required=False)
    words = OpenAIWordSerializer(many=True, required=False)


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error of the resource API and of /v1/inference."""

    detail = serializers.CharField(help_text="What is wrong and what to do.")
    code = serializers.CharField(help_text="A stable code, e.g. not_a_media_file, invalid_option.")
    field = serializers.CharField(required=False, help_text="The form field to blame, if any.")


class OpenAIErrorBodySerializer(serializers.Serializer[Any]):
    message = serializers.CharField()
    type = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)


class OpenAIErrorSerializer(serializers.Serializer[Any]):
    error = OpenAIErrorBodySerializer()
