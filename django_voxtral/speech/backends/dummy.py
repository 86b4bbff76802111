"""An in-memory speech backend for the test suites of sites using this app (as locmem is for mail).

Never touch the network or a model: the answer is derived only from the audio's length and options.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import soundfile

from ..results import InferenceStatus, Segment, TranscriptionResult, Word
from .base import AudioPath, SpeechBackend
from .errors import BackendNotConfigured, BadAudio, SpeechError
from .options import TranscriptionOptions


@dataclass(frozen=True, slots=True)
class DummyCall:
    """One request the dummy backend received."""

    audio_path: str
    options: TranscriptionOptions
    duration: float
    backend_options: dict[str, Any] = field(default_factory=dict)


#: Every call of every DummyBackend, in order; clear it between tests (``outbox.clear()``).
outbox: list[DummyCall] = []
_outbox_lock = threading.Lock()


def clear_outbox() -> None:
    with _outbox_lock:
        outbox.clear()


class DummyBackend(SpeechBackend):
    """Answers every request with ``text`` as one segment covering the whole audio.

    Options: ``text`` (default "dummy transcript"), ``language`` (used when the request names
    none; default "en"), ``model``, ``price_per_minute``, ``error`` (a SpeechError to raise),
    ``fail_calls`` (raise ``error`` on this many calls of this instance, then answer; None:
    always) and ``speakers`` (labels, e.g. ``["speaker_0", "speaker_1"]``: the text's words are
    shared out in turn order into one segment per label, as a diarizing service answers).
    """

    name: ClassVar[str] = "dummy"
    transport_options: ClassVar[frozenset[str]] = frozenset(
        {"price_per_minute", "error", "fail_calls"}
    )
    known_options: ClassVar[frozenset[str]] = frozenset(
        {
            "text",
            "language",
            "model",
            "price_per_minute",
            "error",
            "fail_calls",
            "base_url",
            "speakers",
        }
    )

    def __init__(self, **options: Any) -> None:
        self.refuse_unknown_options(options, self.known_options)
        error = options.get("error")
        if error is not None and not isinstance(error, SpeechError):
            raise BackendNotConfigured(
                "The dummy backend's error option must be a SpeechError instance, "
                "e.g. ServiceUnavailable('down')."
            )
        speakers = options.get("speakers", ())
        if not isinstance(speakers, list | tuple) or not all(
            isinstance(s, str) and s.strip() for s in speakers
        ):
            raise BackendNotConfigured(
                "The dummy backend's speakers option must be a list of labels, "
                "e.g. ['speaker_0', 'speaker_1']."
            )
        super().__init__(**options)
        self.speakers: tuple[str, ...] = tuple(s.strip() for s in speakers)
        self.text = str(options.get("text", "dummy transcript"))
        self.default_language = str(options.get("language", "en"))
        self.error: SpeechError | None = error
        fail_calls = options.get("fail_calls")
        self._failures_left: int | None = None if fail_calls is None else int(fail_calls)
        price = options.get("price_per_minute")
        self.price_per_minute = None if price is None else float(price)
        self._lock = threading.Lock()

    def _should_fail(self) -> bool:
        if self.error is None:
            return False
        with self._lock:
            if self._failures_left is None:
                return True
            if self._failures_left > 0:
                self._failures_left -= 1
                return True
            return False

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        self.check_options(options)
        path = Path(audio)
        try:
            duration = round(float(soundfile.info(str(path)).duration), 3)
        except (RuntimeError, ValueError) as exc:
            raise BadAudio(f"The dummy backend could not read {path.name}: {exc}") from None
        with _outbox_lock:
            outbox.append(DummyCall(str(path), options, duration, dict(self.options)))
        if self._should_fail():
            assert self.error is not None
            raise self.error
        language = "en" if options.task == "translate" else options.language
        tokens = self.text.split()
        words: list[Word] = []
        if tokens and duration > 0:
            step = duration / len(tokens)
            words = [
                Word(round(i * step, 3), round((i + 1) * step, 3), token)
                for i, token in enumerate(tokens)
            ]
        if self.speakers and words:
            segments = _turns(words, self.speakers, duration)
        else:
            segments = (Segment(0, 0.0, duration, self.text),) if self.text and duration > 0 else ()
        cost = (self.price_per_minute or 0.0) * duration / 60
        return TranscriptionResult(
            text=self.text,
            segments=segments,
            language=language or self.default_language,
            words=tuple(words),
            duration=duration,
            input_length_ms=round(duration * 1000),
            request_id=None,
            inference_status=InferenceStatus(status="succeeded", cost=round(cost, 10)),
        )


def _turns(words: list[Word], speakers: tuple[str, ...], duration: float) -> tuple[Segment, ...]:
    """The words in as many consecutive segments as there are speakers, one speaker each."""
    count = min(len(speakers), len(words))
    per_turn = -(-len(words) // count)  # ceiling: every speaker gets a turn until words run out
    groups = [words[i : i + per_turn] for i in range(0, len(words), per_turn)]
    return tuple(
        Segment(
            i,
            0.0 if i == 0 else group[0].start,
            duration if i == len(groups) - 1 else group[-1].end,
            " ".join(w.text for w in group),
            speakers[i],
        )
        for i, group in enumerate(groups)
    )
