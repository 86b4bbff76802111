"""The offline backend: pocketsphinx with the English model its wheel ships, timed by its decoder.

Never touch the network, and never claim a language or a task the engine cannot do.
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import soundfile

from ..results import InferenceStatus, Segment, TranscriptionResult, Word
from .base import AudioPath, SpeechBackend
from .errors import BackendNotConfigured, BadAudio
from .http import number_option
from .options import TranscriptionOptions

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate (-frate 100)
INSTALL_HINT = 'pip install "django-voxtral[local]"'

_ALTERNATE = re.compile(r"\(\d+\)$")


def _is_filler(word: str) -> bool:
    # <s>, </s>, <sil> and noise fillers such as [NOISE] or ++NOISE++ are not speech.
    return not word or word[0] in "<[+"


def _fft_resample(
    samples: npt.NDArray[np.float64], rate: int, target: int, step: int
) -> npt.NDArray[np.float64]:
    # Padded to whole steps so that the output's sample times are exactly k / target: an FFT
    # resampler maps the whole input onto the whole output, stretching any remainder.
    padded = np.pad(samples, (0, -samples.size % step))
    count = padded.size * target // rate
    spectrum = np.fft.rfft(padded)
    kept = np.zeros(count // 2 + 1, dtype=np.complex128)
    bins = min(kept.size, spectrum.size)
    kept[:bins] = spectrum[:bins]
    out: npt.NDArray[np.float64] = np.fft.irfft(kept, count) * (count / padded.size)
    return out[: round(samples.size * target / rate)]


def resample(
    samples: npt.NDArray[np.float64], rate: int, target: int, *, block_seconds: float = 60.0
) -> npt.NDArray[np.float64]:
    """Band-limited resampling by Fourier transform, in overlapping blocks for long audio.

    An ideal low-pass at the lower Nyquist limit, like ffmpeg's resampler: measured on the JFK
    clip, filters that also dull 5-8 kHz (a windowed sinc with linear interpolation) cost
    pocketsphinx a fifth of its words. Blocks keep memory flat; their seams fall in the middle
    of one-second margins that are computed twice and thrown away.
    """
    if rate == target or samples.size == 0:
        return samples
    step = rate // math.gcd(rate, target)  # source samples that map onto whole target samples
    out_step = target * step // rate
    total = round(samples.size * target / rate)
    block = max(1, math.ceil(block_seconds * rate / step)) * step
    margin = max(1, math.ceil(rate / step)) * step
    if samples.size <= block + 2 * margin:
        return _fft_resample(samples, rate, target, step)
    pieces: list[npt.NDArray[np.float64]] = []
    for start in range(0, samples.size, block):
        lo = max(0, start - margin)
        hi = min(samples.size, start + block + margin)
        out = _fft_resample(samples[lo:hi], rate, target, step)
        skip = (start - lo) // step * out_step
        keep = min(block, samples.size - start) * target / rate
        pieces.append(out[skip : skip + round(keep)])
    joined = np.concatenate(pieces)
    return joined[:total]


def read_pcm16(path: AudioPath) -> tuple[bytes, float]:
    """The audio as 16 kHz mono 16-bit PCM for the decoder, and its length in seconds."""
    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, ValueError) as exc:
        raise BadAudio(
            f"The local backend could not read {Path(path).name} ({exc}); it reads WAV, FLAC, "
            "OGG and MP3: convert other media first (voxtral transcribe does)."
        ) from None
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    duration = mono.size / rate if rate else 0.0
    pcm = resample(mono, int(rate), SAMPLE_RATE)
    return (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2").tobytes(), duration


def group_words(words: Iterable[Word], *, pause: float, max_seconds: float) -> tuple[Segment, ...]:
    """Segments from timed words: a new one at each pause, and before one grows too long."""
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if (
            current is None
            or word.start - current[-1].end >= pause
            or word.end - current[0].start > max_seconds
        ):
            groups.append([word])
        else:
            current.append(word)
    return tuple(
        Segment(i, group[0].start, group[-1].end, " ".join(w.text for w in group))
        for i, group in enumerate(groups)
    )


class LocalBackend(SpeechBackend):
    """Offline English transcription with pocketsphinx (the ``local`` extra).

    One decoder per backend instance, made on first use and guarded by a lock: a pocketsphinx
    Decoder is not thread-safe, and its decoding holds the GIL (measured: two decoders in two
    threads take as long as one after the other), so a decoder per thread would cost about
    85 MB and half a second each for no speed. The pipeline's threads take turns.

    Options: ``pause`` (seconds of silence between words that start a new segment, default 0.5),
    ``max_segment_seconds`` (default 10), ``model`` (a name for reports only).
    """

    name: ClassVar[str] = "local"
    supports_translate: ClassVar[bool] = False
    supports_word_timestamps: ClassVar[bool] = True
    supports_language_detection: ClassVar[bool] = False
    languages: ClassVar[frozenset[str] | None] = frozenset({"en"})
    known_options: ClassVar[frozenset[str]] = frozenset({"pause", "max_segment_seconds", "model"})

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - self.known_options)
        if unknown:
            raise BackendNotConfigured(
                f"Unknown option {unknown[0]!r} for the local backend (it runs offline and "
                f"takes no token or URL); it takes: {', '.join(sorted(self.known_options))}."
            )
        super().__init__(**options)
        self.pause = float(number_option("pause", options.get("pause", 0.5), minimum=0))
        self.max_segment_seconds = float(
            number_option(
                "max_segment_seconds",
                options.get("max_segment_seconds", 10.0),
                minimum=0,
                above=True,
            )
        )
        self._lock = threading.Lock()
        self._decoder: Any = None

    @property
    def model(self) -> str:
        return str(self.options.get("model") or "pocketsphinx-en-us")

    def configuration_problems(self) -> list[str]:
        if importlib.util.find_spec("pocketsphinx") is None:
            return [f"The local backend needs pocketsphinx: {INSTALL_HINT}"]
        return []

    def _get_decoder(self) -> Any:
        # Called with self._lock held.
        if self._decoder is None:
            try:
                import pocketsphinx
            except ImportError:
                raise BackendNotConfigured(
                    f"The local backend needs pocketsphinx: {INSTALL_HINT}"
                ) from None
            self._decoder = pocketsphinx.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        return self._decoder

    def _decode(self, pcm: bytes) -> list[Word]:
        with self._lock:
            decoder = self._get_decoder()
            # Noise and cepstral-mean estimates carry over between utterances: without this,
            # the same chunk decodes differently depending on what came before it.
            decoder.reinit_feat()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            raw = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
        words: list[Word] = []
        for token, start_frame, end_frame in raw:
            if _is_filler(token):
                continue
            text = _ALTERNATE.sub("", token)
            start = round(start_frame / FRAMES_PER_SECOND, 3)
            # seg()'s end frame is the word's last frame, inclusive.
            end = round((end_frame + 1) / FRAMES_PER_SECOND, 3)
            words.append(Word(start, end, text))
        return words

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        self.check_options(options)
        started = time.monotonic()
        pcm, duration = read_pcm16(audio)
        words = [
            Word(min(w.start, duration), min(w.end, duration), w.text) for w in self._decode(pcm)
        ]
        segments = group_words(words, pause=self.pause, max_seconds=self.max_segment_seconds)
        return TranscriptionResult(
            text=" ".join(w.text for w in words),
            segments=segments,
            language="en",
            words=tuple(words),
            duration=round(duration, 3),
            input_length_ms=round(duration * 1000),
            request_id=None,
            inference_status=InferenceStatus(
                status="succeeded", runtime_ms=round((time.monotonic() - started) * 1000)
            ),
        )

    def close(self) -> None:
        with self._lock:
            self._decoder = None
