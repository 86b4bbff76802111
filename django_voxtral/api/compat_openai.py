"""POST /v1/audio/transcriptions and /v1/audio/translations, in OpenAI's shapes, errors included.

So the official openai SDK works unchanged with a site token as its API key; never answer a shape
the SDK does not expect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import transcripts
from ..conf import get_settings
from ..models import Transcript
from ..speech.backends.errors import InvalidOption
from ..speech.backends.options import TranscriptionOptions
from ..speech.formats import render
from ..speech.results import TranscriptionResult
from .base import FirstRendererNegotiation, VoxtralAPIView, documented
from .errors import InvalidField, StillRunning, TranscriptFailed, openai_exception_handler
from .serializers import (
    OpenAIErrorSerializer,
    OpenAIJSONSerializer,
    OpenAIRequestForm,
    OpenAIVerboseSerializer,
)
from .uploads import check_text_fields, uploaded_file, wait_for

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
GRANULARITIES = ("segment", "word")
KNOWN_FIELDS = frozenset(
    {
        "file",
        "model",
        "language",
        "prompt",
        "temperature",
        "response_format",
        "timestamp_granularities",
        "timestamp_granularities[]",
        "stream",
    }
)

#: Whisper's language names, which OpenAI's verbose_json gives instead of codes.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian",
    "ko": "korean", "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish",
    "pl": "polish", "ca": "catalan", "nl": "dutch", "ar": "arabic", "sv": "swedish",
    "it": "italian", "id": "indonesian", "hi": "hindi", "fi": "finnish", "vi": "vietnamese",
    "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay", "cs": "czech",
    "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian",
    "la": "latin", "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak",
    "te": "telugu", "fa": "persian", "lv": "latvian", "bn": "bengali", "sr": "serbian",
    "az": "azerbaijani", "sl": "slovenian", "kn": "kannada", "et": "estonian",
    "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian",
    "sw": "swahili", "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala",
    "km": "khmer", "sn": "shona", "yo": "yoruba", "so": "somali", "af": "afrikaans",
    "oc": "occitan", "ka": "georgian", "be": "belarusian", "tg": "tajik", "sd": "sindhi",
    "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen", "nn": "nynorsk",
    "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish", "my": "myanmar", "bo": "tibetan",
    "tl": "tagalog", "mg": "malagasy", "as": "assamese", "tt": "tatar", "haw": "hawaiian",
    "ln": "lingala", "ha": "hausa", "ba": "bashkir", "jw": "javanese", "su": "sundanese",
    "yue": "cantonese",
}  # fmt: skip


def _choice(data: Any, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(data.get(name) or default)
    if value not in allowed:
        raise InvalidField(
            f"{name}: {value!r} is not supported; use one of {', '.join(allowed)}.", field=name
        )
    return value


def _granularities(data: Any) -> list[str]:
    values = [*data.getlist("timestamp_granularities[]"), *data.getlist("timestamp_granularities")]
    for value in values:
        if value not in GRANULARITIES:
            raise InvalidField(
                f"timestamp_granularities[]: {value!r} is not supported; use segment or word.",
                field="timestamp_granularities[]",
            )
    return values


def usage(result: TranscriptionResult) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(result.duration)}


def verbose_json(
    result: TranscriptionResult, task: str, granularities: list[str]
) -> dict[str, Any]:
    """OpenAI's verbose_json: segments unless only words were asked, words when asked.

    Speakers, when known, are Mistral's ``speaker_id`` on segments and words.
    """
    language = "english" if task == "translate" else (result.language or "")
    body: dict[str, Any] = {
        "task": task,
        "language": LANGUAGE_NAMES.get(language, language),
        "duration": float(result.duration),
        "text": result.text,
    }
    wanted = granularities or ["segment"]
    if "segment" in wanted:
        body["segments"] = [
            {
                "id": s.id,
                "seek": 0,
                "start": float(s.start),
                "end": float(s.end),
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": 0.0,
                "compression_ratio": 0.0,
                "no_speech_prob": 0.0,
            }
            | ({"speaker_id": s.speaker} if s.speaker is not None else {})
            for s in result.segments
        ]
    if "word" in wanted:
        body["words"] = [
            {"word": w.text, "start": float(w.start), "end": float(w.end)}
            | ({"speaker_id": w.speaker} if w.speaker is not None else {})
            for w in result.words
        ]
    body["usage"] = usage(result)
    return body


class OpenAIAudioView(VoxtralAPIView):
    """Base of the two OpenAI-style endpoints; ``task`` says which one."""

    task: ClassVar[str] = "transcribe"
    file_field: ClassVar[str] = "file"
    parser_classes = (MultiPartParser, FormParser)
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = FirstRendererNegotiation

    waits_for_result = True

    def get_exception_handler(self) -> Callable[..., Any]:
        return openai_exception_handler

    def handle(self, request: Request) -> Response | HttpResponse:
        data: Any = request.data
        check_text_fields(data)
        unknown = sorted(set(data) - KNOWN_FIELDS)
        if unknown:
            raise InvalidField(
                f"Unrecognized request argument supplied: {unknown[0]}", field=unknown[0]
            )
        if str(data.get("stream") or "false").lower() not in ("false", "0"):
            raise InvalidField("stream: streaming answers are not supported here.", field="stream")
        file = uploaded_file(request.FILES, "file")
        response_format = _choice(data, "response_format", RESPONSE_FORMATS, "json")
        granularities = _granularities(data)
        if granularities and response_format != "verbose_json":
            raise InvalidField(
                "timestamp_granularities[] needs response_format=verbose_json.",
                field="timestamp_granularities[]",
            )
        try:
            options = TranscriptionOptions.from_form(
                {
                    "task": self.task,
                    "language": data.get("language") or "",
                    "initial_prompt": data.get("prompt") or "",
                    "temperature": data.get("temperature") or "",
                }
            )
        except InvalidOption as exc:
            if exc.field != "initial_prompt":
                raise
            # OpenAI's name for the contract's initial_prompt: the one the client sent.
            message = str(exc).removeprefix("initial_prompt: ")
            raise InvalidField(f"prompt: {message}", field="prompt") from None
        backend = get_settings().backend_for_model(str(data.get("model") or "")).alias
        transcript = wait_for(
            transcripts.create_from_upload(
                file,
                options=options,
                backend=backend,
                owner=request.user,
                file_field=self.file_field,
            )
        )
        if transcript.status != Transcript.Status.DONE:
            if transcript.is_finished:
                raise TranscriptFailed(
                    transcript.error or f"The transcription was {transcript.status}."
                )
            raise StillRunning(
                f"The transcription is still {transcript.status} after the wait limit; "
                f"its result will be at /api/transcripts/{transcript.pk}/."
            )
        return self.answer(transcript.to_result(), response_format, granularities)

    def answer(
        self, result: TranscriptionResult, response_format: str, granularities: list[str]
    ) -> Response | HttpResponse:
        if response_format == "json":
            return Response({"text": result.text, "usage": usage(result)})
        if response_format == "verbose_json":
            return Response(verbose_json(result, self.task, granularities))
        if response_format == "text":
            content = result.text.strip() + "\n"
        else:
            content = render(result, response_format)
        return HttpResponse(content, content_type="text/plain; charset=utf-8")


_RESPONSES = {
    (200, "application/json"): OpenAIVerboseSerializer,
    (200, "text/plain"): OpenAIJSONSerializer,
    400: OpenApiResponse(OpenAIErrorSerializer, description="Bad file or parameter"),
    401: OpenApiResponse(OpenAIErrorSerializer, description="Invalid API key"),
    413: OpenApiResponse(OpenAIErrorSerializer, description="File too large"),
    429: OpenApiResponse(OpenAIErrorSerializer, description="Rate limit or daily budget"),
}


class OpenAITranscriptionView(OpenAIAudioView):
    task = "transcribe"

    @documented(
        operation_id="v1_audio_transcriptions",
        summary="Transcribe like OpenAI (POST /v1/audio/transcriptions)",
        description="OpenAI's multipart request; answers json ({text}), text, srt, vtt or "
        "verbose_json once the transcript is done. Errors come as {error: {message, type, "
        "param, code}}.",
        request={"multipart/form-data": OpenAIRequestForm},
        responses=_RESPONSES,
    )
    def post(self, request: Request) -> Response | HttpResponse:
        return self.handle(request)


class OpenAITranslationView(OpenAIAudioView):
    task = "translate"

    @documented(
        operation_id="v1_audio_translations",
        summary="Translate into English like OpenAI (POST /v1/audio/translations)",
        request={"multipart/form-data": OpenAIRequestForm},
        responses=_RESPONSES,
    )
    def post(self, request: Request) -> Response | HttpResponse:
        return self.handle(request)
