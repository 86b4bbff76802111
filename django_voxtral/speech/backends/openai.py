"""Any OpenAI-style speech server: vLLM with Voxtral, Mistral, OpenAI, DeepInfra's /v1/openai.

Never invent times the server did not give: a plain ``json`` answer yields text without segments.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import soundfile

from ..results import DroppedText, InferenceStatus, Segment, TranscriptionResult, Word, speaker_of
from .base import AudioPath
from .errors import BackendNotConfigured, BadAudio, InvalidOption, UnsupportedOption
from .http import Files, FormData, HTTPSpeechBackend
from .no_speech import marked_no_speech
from .options import TranscriptionOptions

logger = logging.getLogger("django_voxtral.speech.backends")

OPENAI_BASE_URL = "https://api.openai.com/v1"

#: Whisper-style servers name the language in English words in verbose_json; the contract
#: wants ISO 639-1 codes.
# fmt: off
_LANGUAGE_NAMES: dict[str, str] = {
        "af": "afrikaans", "am": "amharic", "ar": "arabic", "as": "assamese",
        "az": "azerbaijani", "ba": "bashkir", "be": "belarusian", "bg": "bulgarian",
        "bn": "bengali", "bo": "tibetan", "br": "breton", "bs": "bosnian",
        "ca": "catalan valencian", "cs": "czech", "cy": "welsh", "da": "danish",
        "de": "german", "el": "greek", "en": "english", "es": "spanish castilian",
        "et": "estonian", "eu": "basque", "fa": "persian", "fi": "finnish", "fo": "faroese",
        "fr": "french", "gl": "galician", "gu": "gujarati", "ha": "hausa", "haw": "hawaiian",
        "he": "hebrew", "hi": "hindi", "hr": "croatian", "ht": "haitian_creole haitian",
        "hu": "hungarian", "hy": "armenian", "id": "indonesian", "is": "icelandic",
        "it": "italian", "ja": "japanese", "jw": "javanese", "ka": "georgian", "kk": "kazakh",
        "km": "khmer", "kn": "kannada", "ko": "korean", "la": "latin",
        "lb": "luxembourgish letzeburgesch", "ln": "lingala", "lo": "lao",
        "lt": "lithuanian", "lv": "latvian", "mg": "malagasy", "mi": "maori",
        "mk": "macedonian", "ml": "malayalam", "mn": "mongolian", "mr": "marathi",
        "ms": "malay", "mt": "maltese", "my": "myanmar burmese", "ne": "nepali",
        "nl": "dutch flemish", "nn": "nynorsk", "no": "norwegian", "oc": "occitan",
        "pa": "punjabi panjabi", "pl": "polish", "ps": "pashto pushto", "pt": "portuguese",
        "ro": "romanian moldavian moldovan", "ru": "russian", "sa": "sanskrit",
        "sd": "sindhi", "si": "sinhala sinhalese", "sk": "slovak", "sl": "slovenian",
        "sn": "shona", "so": "somali", "sq": "albanian", "sr": "serbian", "su": "sundanese",
        "sv": "swedish", "sw": "swahili", "ta": "tamil", "te": "telugu", "tg": "tajik",
        "th": "thai", "tk": "turkmen", "tl": "tagalog", "tr": "turkish", "tt": "tatar",
        "uk": "ukrainian", "ur": "urdu", "uz": "uzbek", "vi": "vietnamese",
        "yi": "yiddish", "yo": "yoruba", "yue": "cantonese", "zh": "chinese mandarin",
}
# fmt: on
LANGUAGE_CODES: dict[str, str] = {
    name: code for code, names in _LANGUAGE_NAMES.items() for name in names.split()
}

# Words in a 400/422 body that mean "this server does not do verbose_json" (vLLM with Voxtral
# says "Currently only support response_format `text` or `json`").
_FORMAT_REFUSALS = ("response_format", "verbose_json", "verbose json")
# ... and that mean "no timestamp granularities together with language" (Mistral's variant).
_GRANULARITY_REFUSALS = ("timestamp_granularities", "granularit", "timestamp")
# ... and that mean "no diarization here" (OpenAI: "Unrecognized request argument: diarize").
_DIARIZE_REFUSALS = ("diariz",)


def language_code(value: Any) -> str | None:
    """The ISO 639-1 code for a language as OpenAI-style servers name it ("english" or "en")."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip().lower().replace(" ", "_")
    if key in LANGUAGE_CODES.values():
        return key
    return LANGUAGE_CODES.get(key) or LANGUAGE_CODES.get(key.split("_")[0])


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


def _speaker(item: dict[str, Any]) -> str | None:
    # Mistral names it speaker_id (a string such as "speaker_1"); other servers say speaker,
    # some as a number. Read whichever is given, so a server that labels unasked is kept too.
    return speaker_of(item.get("speaker_id", item.get("speaker")))


class OpenAIBackend(HTTPSpeechBackend):
    """``POST {base_url}/audio/transcriptions`` (or ``/audio/translations``), OpenAI's shape.

    ``base_url`` ends in ``/v1`` as in the openai SDK. Asks for ``verbose_json`` with segment
    and word times; on a server that refuses it (vLLM with Voxtral), falls back to ``json``
    (text only, no invented times) and remembers that for this instance. On a server that
    refuses timestamp granularities together with ``language`` (Mistral's), retries once
    without granularities and remembers that too.

    With ``diarize=True`` it asks for speakers as Mistral's API does (``diarize=true`` with
    ``timestamp_granularities[]=segment``, which diarization needs) and reads each segment's
    ``speaker_id`` into ``Segment.speaker``. Nothing is dropped silently: a server that
    refuses diarize, verbose_json or granularities while diarizing fails with UnsupportedOption
    naming the option.

    Options: api_key or token (else OPENAI_API_KEY; none needed for a self-hosted server),
    base_url, model (default whisper-1, which fits the default base_url), response_format
    (verbose_json or json), diarize (default False), and the HTTP options of the deepinfra
    backend.
    """

    name: ClassVar[str] = "openai"
    service: ClassVar[str] = "The OpenAI-style server"
    default_base_url: ClassVar[str] = OPENAI_BASE_URL
    default_model: ClassVar[str] = "whisper-1"
    token_env: ClassVar[str | None] = "OPENAI_API_KEY"
    token_options: ClassVar[tuple[str, ...]] = ("api_key", "token")
    known_options: ClassVar[frozenset[str]] = HTTPSpeechBackend.known_options | {
        "response_format",
        "diarize",
    }

    def __init__(self, **options: Any) -> None:
        response_format = options.get("response_format", "verbose_json")
        if response_format not in ("verbose_json", "json"):
            raise InvalidOption("response_format", response_format, "verbose_json or json")
        diarize = options.get("diarize", False)
        if not isinstance(diarize, bool):
            raise InvalidOption("diarize", diarize, "True or False")
        if diarize and response_format != "verbose_json":
            # Speakers come on segments, which a plain json answer does not have.
            raise InvalidOption(
                "response_format", response_format, "verbose_json when diarize is on"
            )
        super().__init__(**options)
        self._verbose: bool = response_format == "verbose_json"
        self._granularities_with_language = True
        self.diarize: bool = diarize
        self._warned_no_speakers = False

    @property
    def verbose(self) -> bool:
        """Whether this instance still asks for verbose_json (False after a server refused it)."""
        return self._verbose

    def _needs_token(self) -> bool:
        # Self-hosted servers (vLLM) run without a key; OpenAI's own never does.
        return self.base_url == OPENAI_BASE_URL

    def configuration_problems(self) -> list[str]:
        if self._needs_token() and not self.token():
            return [
                "The openai backend needs an API key for api.openai.com: set OPENAI_API_KEY "
                "or pass the api_key option (or point base_url at your own server)."
            ]
        return []

    def _headers(self) -> tuple[dict[str, str], list[str]]:
        token = self.token()
        if token is None:
            problems = self.configuration_problems()
            if problems:
                raise BackendNotConfigured(problems[0])
            return {"Accept": "application/json"}, []
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}, [token]

    def check_options(self, options: TranscriptionOptions) -> None:
        super().check_options(options)
        if self.diarize and options.task == "translate":
            raise UnsupportedOption(
                "The openai backend's diarize option works only with task=transcribe: "
                "the translations endpoint gives no segments to label with speakers."
            )

    def _path(self, options: TranscriptionOptions) -> str:
        return "/audio/translations" if options.task == "translate" else "/audio/transcriptions"

    def _form(self, options: TranscriptionOptions) -> FormData:
        form: dict[str, str | list[str]] = {"model": self.model}
        translating = options.task == "translate"
        # The translations endpoint takes neither language nor granularities.
        if options.language and not translating:
            form["language"] = options.language
        if options.initial_prompt:
            form["prompt"] = options.initial_prompt
        form["temperature"] = repr(float(options.temperature))
        form["response_format"] = "verbose_json" if self._verbose else "json"
        if self.diarize and not translating:
            # Mistral labels segments only, and refuses diarize without segment timestamps.
            form["diarize"] = "true"
            form["timestamp_granularities[]"] = ["segment"]
        elif (
            self._verbose
            and not translating
            and (self._granularities_with_language or not options.language)
        ):
            form["timestamp_granularities[]"] = ["segment", "word"]
        return form

    def _diarize_refused(self, exc: BadAudio, what: str) -> UnsupportedOption:
        return UnsupportedOption(
            f"{self.base_url} refuses {what} (HTTP {exc.status_code}: {exc.body_excerpt}); "
            "turn the openai backend's diarize option off for this server"
        )

    def _fallback(self, exc: BadAudio, options: TranscriptionOptions) -> bool:
        """Adapts this instance to a server that refused what we asked; False: a real refusal."""
        if exc.status_code not in (400, 422):
            return False
        if self.diarize:
            # Each fallback below would drop the speakers asked for: say so instead.
            if _mentions(exc.body_excerpt, _DIARIZE_REFUSALS):
                raise self._diarize_refused(exc, "the diarize option") from None
            if _mentions(exc.body_excerpt, _FORMAT_REFUSALS):
                raise self._diarize_refused(
                    exc, "verbose_json, which the diarize option needs"
                ) from None
            if _mentions(exc.body_excerpt, _GRANULARITY_REFUSALS):
                hint = (
                    " together with language (leave language unset to diarize)"
                    if options.language
                    else ""
                )
                raise self._diarize_refused(
                    exc, f"timestamp_granularities{hint}, which the diarize option needs"
                ) from None
            return False
        if self._verbose and _mentions(exc.body_excerpt, _FORMAT_REFUSALS):
            logger.info("%s refuses verbose_json; asking for json (no times)", self.base_url)
            self._verbose = False
            return True
        if (
            self._verbose
            and options.language
            and options.task == "transcribe"
            and self._granularities_with_language
            and _mentions(exc.body_excerpt, _GRANULARITY_REFUSALS)
        ):
            logger.info(
                "%s refuses timestamp granularities with language; sending without them",
                self.base_url,
            )
            self._granularities_with_language = False
            return True
        return False

    def _post_args(
        self, triple: tuple[str, bytes, str], options: TranscriptionOptions
    ) -> dict[str, Any]:
        """One attempt's request; built again after a fallback changed what we ask for."""
        headers, secrets = self._headers()
        files: Files = [("file", triple)]
        return {
            "path": self._path(options),
            "data": self._form(options),
            "files": files,
            "headers": headers,
            "secrets": secrets,
        }

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        self.check_options(options)
        triple = self.read_audio(audio)
        while True:
            args = self._post_args(triple, options)
            try:
                response = self.http.post(**args)
            except BadAudio as exc:
                if self._fallback(exc, options):
                    continue
                raise
            return self.parse_result(
                response, args["secrets"], lambda data: self._result(data, audio, options)
            )

    async def atranscribe(
        self, audio: AudioPath, options: TranscriptionOptions
    ) -> TranscriptionResult:
        self.check_options(options)
        triple = await asyncio.to_thread(self.read_audio, audio)
        while True:
            args = self._post_args(triple, options)
            try:
                response = await self.http.apost(**args)
            except BadAudio as exc:
                if self._fallback(exc, options):
                    continue
                raise
            return self.parse_result(
                response, args["secrets"], lambda data: self._result(data, audio, options)
            )

    def _result(
        self, data: dict[str, Any], audio: AudioPath, options: TranscriptionOptions
    ) -> TranscriptionResult:
        raw_segments = list(data.get("segments") or ())
        # Whisper-style servers mark segments they judge not to be speech (no_speech_prob and
        # avg_logprob): those are left out of the text and listed in dropped.
        dropped = tuple(
            DroppedText(
                float(item["start"]),
                float(item["end"]),
                str(item.get("text", "")).strip(),
                "no_speech",
            )
            for item in raw_segments
            if marked_no_speech(item)
        )
        segments = tuple(
            Segment(
                id=index,
                start=float(item["start"]),
                end=float(item["end"]),
                text=str(item.get("text", "")).strip(),
                speaker=_speaker(item),
            )
            for index, item in enumerate(i for i in raw_segments if not marked_no_speech(i))
        )
        words = tuple(
            word
            for word in (
                Word(
                    start=float(item["start"]),
                    end=float(item["end"]),
                    text=str(item.get("word", item.get("text", ""))).strip(),
                    speaker=_speaker(item),
                )
                for item in data.get("words") or ()
            )
            if not any(d.start <= (word.start + word.end) / 2 <= d.end for d in dropped)
        )
        text = str(data.get("text") or "").strip()
        if dropped:
            text = " ".join(s.text for s in segments if s.text)
        if (
            self.diarize
            and segments
            and all(s.speaker is None for s in segments)
            and not self._warned_no_speakers
        ):
            # A server that ignores unknown fields: the text is good, the speakers never came.
            self._warned_no_speakers = True
            logger.warning(
                "%s answered a diarize request without speaker_id on its segments; "
                "this server does not seem to diarize",
                self.base_url,
            )
        if options.task == "translate":
            language: str | None = "en"
        else:
            language = language_code(data.get("language")) or options.language
        duration = data.get("duration")
        seconds = float(duration) if duration is not None else _audio_seconds(audio)
        cost = (self.price_per_minute or 0.0) * seconds / 60
        return TranscriptionResult(
            text=text,
            segments=segments,
            language=language,
            words=words,
            duration=seconds,
            input_length_ms=round(seconds * 1000),
            request_id=None,
            inference_status=InferenceStatus(status="succeeded", cost=round(cost, 10)),
            dropped=dropped,
        )


def _audio_seconds(audio: AudioPath) -> float:
    """The audio's length from its header, for answers that do not state it (plain json)."""
    try:
        return float(soundfile.info(str(audio)).duration)
    except (RuntimeError, OSError, ValueError):
        # A format libsndfile cannot read: the length stays unknown rather than guessed.
        return 0.0
