"""Tells speech from everything else in a stream of 16 kHz samples: Silero VAD, or loudness.

Never read media or run processes here, and never let how the samples were cut into feed()
calls change a decision: the same samples always give the same frames.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import DetectorUnavailable
from .plan import (
    DEFAULT_SETTINGS,
    SILENCE_DB,
    BoolArray,
    FloatArray,
    Int16Array,
    LevelClassifier,
    SplitSettings,
    frame_energy_db,
    runs,
)

#: What split(detector=...) accepts; "auto" is silero where it can run, else level.
DETECTORS = ("auto", "silero", "level")
#: The vendored Silero VAD v6 (MIT; see assets/LICENSE.txt).
MODEL_PATH = Path(__file__).resolve().parent / "assets" / "silero_vad_v6.onnx"
INSTALL_HINT = 'pip install "django-voxtral[vad]"'

Frames = tuple[FloatArray, BoolArray]
_NO_FRAMES: Frames = (np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.bool_))


class SpeechDetector(Protocol):
    """Turns samples into per-frame energies (dBFS) and a speech mask, both of equal length.

    A detector may lag: feed() returns the frames decided so far, finish() the rest.
    """

    name: str

    def feed(self, samples: Int16Array) -> Frames: ...

    def finish(self) -> Frames: ...


@dataclass(frozen=True, slots=True)
class SileroSettings:
    """How Silero's per-window speech probabilities become a per-frame speech mask."""

    #: A window at least this likely to be speech starts speech (Silero's own default)...
    threshold: float = 0.5
    #: ...and speech goes on until a window is less likely than this (Silero: threshold - 0.15).
    neg_threshold: float = 0.35
    #: Windows go to the model in batches this long, aligned on the stream's start, so the
    #: batching depends only on the samples. 64 windows are 2 s: short lag, fast on one core.
    batch_windows: int = 64
    #: A window quieter than this (after the gain below) is not speech whatever the model says...
    quiet_db: float = -70.0
    #: ...and after this many such windows in a row the model is not run at all (its state is
    #: reset instead), so digital silence costs nothing.
    quiet_windows: int = 8
    #: Silero hears quiet speech (peaks under -30 dBFS) only in fragments, so each batch is
    #: raised until the loud end of all windows so far (this percentile) reaches target_db...
    level_percentile: float = 95.0
    target_db: float = -18.0
    #: ...by at most this much, never lowered, and never so far that the loudest window so far
    #: would go over headroom_db.
    max_gain_db: float = 36.0
    headroom_db: float = -6.0


DEFAULT_SILERO = SileroSettings()
WINDOW = 512
CONTEXT = 64
_STATE_SHAPE = (1, 1, 128)
_LEVEL_STEP = 0.5
_LEVEL_BINS = int(-SILENCE_DB / _LEVEL_STEP) + 1


def detector_problems(model_path: str | Path | None = None) -> list[str]:
    """Why the Silero detector cannot run here (empty when it can); loads nothing."""
    problems: list[str] = []
    if importlib.util.find_spec("onnxruntime") is None:
        problems.append(f"onnxruntime is not installed ({INSTALL_HINT})")
    path = Path(model_path) if model_path is not None else MODEL_PATH
    if not path.is_file():
        problems.append(f"the Silero VAD model {path} is missing (reinstall django-voxtral)")
    return problems


def speech_detector(name: str = "auto", model_path: str | Path | None = None) -> str:
    """The detector `name` stands for here: "silero" or "level".

    "silero" raises DetectorUnavailable when it cannot run; "auto" then gives "level".
    """
    if name not in DETECTORS:
        raise ValueError(f"speech detector {name!r} is not one of {', '.join(DETECTORS)}")
    if name == "level":
        return "level"
    problems = detector_problems(model_path)
    if not problems:
        return "silero"
    if name == "silero":
        raise DetectorUnavailable(problems)
    return "level"


def make_detector(
    name: str = "auto",
    settings: SplitSettings = DEFAULT_SETTINGS,
    *,
    model_path: str | Path | None = None,
    silero: SileroSettings = DEFAULT_SILERO,
) -> SpeechDetector:
    """A fresh detector for one stream (detectors keep state; never share one)."""
    if speech_detector(name, model_path) == "level":
        return LevelDetector(settings)
    return SileroDetector(settings, silero, model_path=model_path)


class LevelDetector:
    """Speech by loudness, adapting to the recording's level (plan.LevelClassifier).

    Classifies whole blocks of `settings.block_frames` frames, as split() always has.
    """

    name = "level"

    def __init__(self, settings: SplitSettings = DEFAULT_SETTINGS) -> None:
        self._classifier = LevelClassifier(settings)
        self._frame = settings.frame
        self._block = settings.block_frames * settings.frame
        self._pending: Int16Array = np.zeros(0, dtype=np.int16)

    def feed(self, samples: Int16Array) -> Frames:
        self._pending = np.concatenate((self._pending, samples.astype(np.int16, copy=False)))
        whole = len(self._pending) // self._block * self._block
        blocks, self._pending = self._pending[:whole], self._pending[whole:]
        return _joined(
            self._classify(blocks[i : i + self._block]) for i in range(0, whole, self._block)
        )

    def finish(self) -> Frames:
        tail, self._pending = self._pending, np.zeros(0, dtype=np.int16)
        return self._classify(tail) if len(tail) else _NO_FRAMES

    def _classify(self, block: Int16Array) -> Frames:
        energy = frame_energy_db(block, self._frame)
        return energy, self._classifier.classify(energy)


def _joined(parts: Any) -> Frames:
    done = list(parts)
    if not done:
        return _NO_FRAMES
    return np.concatenate([e for e, _ in done]), np.concatenate([m for _, m in done])


_sessions: dict[Path, Any] = {}
_sessions_lock = threading.Lock()


def _session(model_path: Path) -> Any:
    """One onnxruntime session per model file and process, made on first use.

    One thread each: ffmpeg decodes on the other core, and a second thread gains little on
    windows of 512 samples (see the benchmark notes).
    """
    with _sessions_lock:
        session = _sessions.get(model_path)
        if session is None:
            session = _new_session(model_path)
            _sessions[model_path] = session
        return session


def _new_session(model_path: Path) -> Any:
    try:
        import onnxruntime  # an optional dependency: imported only when a session is made
    except ImportError as exc:
        raise DetectorUnavailable(
            [f"onnxruntime cannot be imported: {exc} ({INSTALL_HINT})"]
        ) from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 4
    try:
        return onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        raise DetectorUnavailable(
            [f"the Silero VAD model {model_path} cannot be loaded: {exc}"]
        ) from exc


class SileroDetector:
    """Speech by Silero VAD v6: a probability per 32 ms window, with Silero's hysteresis.

    A frame takes the decision of the window holding its centre, so it lags the samples by up
    to a batch of windows. The model's LSTM state carries from window to window.
    """

    name = "silero"

    def __init__(
        self,
        settings: SplitSettings = DEFAULT_SETTINGS,
        silero: SileroSettings = DEFAULT_SILERO,
        *,
        model_path: str | Path | None = None,
    ) -> None:
        if settings.sample_rate != 16000:
            raise ValueError("the Silero detector works on 16 kHz audio only")
        path = Path(model_path) if model_path is not None else MODEL_PATH
        self._session = _session(path.resolve())
        self.settings = settings
        self.silero = silero
        self._frame = settings.frame
        self._quiet_power = np.float32(10 ** (silero.quiet_db / 10))
        self._h: FloatArray = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c: FloatArray = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._triggered = False
        self._quiet_run = 0
        self._levels = np.zeros(_LEVEL_BINS, dtype=np.int64)
        self._loudest_db = SILENCE_DB
        #: Gain (dB) given to the latest batch, for tests and tuning.
        self.gain_db = 0.0
        #: Windows the model ran on (quiet stretches skip it).
        self.windows_run = 0
        self._samples: Int16Array = np.zeros(0, dtype=np.int16)
        self._samples_start = 0  # absolute index of _samples[0]
        self._total = 0  # samples fed
        self._windows = 0  # windows decided
        self._flags: BoolArray = np.zeros(0, dtype=np.bool_)
        self._flags_start = 0  # window index of _flags[0]
        self._frames = 0  # frames returned
        #: Probability of each window decided, kept only when asked for (tests, tuning).
        self.probabilities: list[FloatArray] | None = None

    def feed(self, samples: Int16Array) -> Frames:
        self._samples = np.concatenate((self._samples, samples.astype(np.int16, copy=False)))
        self._total += len(samples)
        batch = self.silero.batch_windows
        while self._total - self._windows * WINDOW >= batch * WINDOW:
            self._decide(batch)
        return self._emit(eof=False)

    def finish(self) -> Frames:
        left = self._total - self._windows * WINDOW
        if left > 0:
            self._decide(-(-left // WINDOW))
        return self._emit(eof=True)

    @property
    def held_samples(self) -> int:
        """Samples kept for frames and windows not yet decided: never more than a batch or so."""
        return len(self._samples)

    def _window_samples(self, count: int) -> FloatArray:
        lo = self._windows * WINDOW - self._samples_start
        raw = self._samples[lo : lo + count * WINDOW]
        x = np.zeros(count * WINDOW, dtype=np.float32)  # the last window of a stream is padded
        x[: len(raw)] = raw
        x *= np.float32(1 / 32768)
        return x.reshape(count, WINDOW)

    def _decide(self, count: int) -> None:
        x = self._window_samples(count)
        probs = self._probabilities(x)
        if self.probabilities is not None:
            self.probabilities.append(probs)
        self._flags = np.concatenate((self._flags, self._hysteresis(probs)))
        self._windows += count

    def _probabilities(self, x: FloatArray) -> FloatArray:
        """Model output per window; quiet windows are 0, and long quiet ones skip the model."""
        power = np.einsum("ij,ij->i", x, x) / np.float32(WINDOW)
        gain = np.float32(10 ** (self._gain_db(power) / 20))
        quiet = power * (gain * gain) < self._quiet_power
        context = np.concatenate((self._context[None, :], x[:-1, -CONTEXT:]))
        self._context = x[-1, -CONTEXT:].copy()
        inputs = np.ascontiguousarray(np.concatenate((context, x), axis=1) * gain)
        probs = self._run_model(inputs, self._skipped(quiet))
        probs[quiet] = 0.0
        return probs

    def _run_model(self, inputs: FloatArray, skip: BoolArray) -> FloatArray:
        """The model over each run of windows not skipped; a skipped run resets its state
        (the state after long silence is a fresh stream's)."""
        probs = np.zeros(len(inputs), dtype=np.float32)
        if len(inputs) and skip[0]:
            self._reset_state()
        for start, end in runs(~skip):
            out, self._h, self._c = self._session.run(
                None, {"input": inputs[start:end], "h": self._h, "c": self._c}
            )
            probs[start:end] = np.asarray(out, dtype=np.float32).reshape(-1)[: end - start]
            self.windows_run += end - start
            if end < len(inputs):  # a skipped run follows
                self._reset_state()
        return probs

    def _reset_state(self) -> None:
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)

    def _gain_db(self, power: FloatArray) -> float:
        """The batch's gain, from the levels of all windows up to its end."""
        floor = np.float32(10 ** (SILENCE_DB / 10))
        db = np.float32(10) * np.log10(np.maximum(power, floor))
        bins = np.clip(((db - SILENCE_DB) / _LEVEL_STEP).astype(np.int64), 0, _LEVEL_BINS - 1)
        self._levels += np.bincount(bins, minlength=_LEVEL_BINS)
        self._loudest_db = max(self._loudest_db, float(db.max()))
        cumulative = np.cumsum(self._levels)
        rank = self.silero.level_percentile / 100.0 * (int(cumulative[-1]) - 1)
        level = SILENCE_DB + int(np.searchsorted(cumulative, rank, side="right")) * _LEVEL_STEP
        s = self.silero
        gain = min(s.target_db - level, s.max_gain_db, s.headroom_db - self._loudest_db)
        gain = max(0.0, gain)
        self.gain_db = gain
        return gain

    def _skipped(self, quiet: BoolArray) -> BoolArray:
        skip = np.zeros(len(quiet), dtype=np.bool_)
        run = self._quiet_run
        for i, is_quiet in enumerate(quiet.tolist()):
            run = run + 1 if is_quiet else 0
            skip[i] = run > self.silero.quiet_windows
        self._quiet_run = run
        return skip

    def _hysteresis(self, probs: FloatArray) -> BoolArray:
        flags = np.zeros(len(probs), dtype=np.bool_)
        on, off = self.silero.threshold, self.silero.neg_threshold
        triggered = self._triggered
        for i, p in enumerate(probs.tolist()):
            if p >= on:
                triggered = True
            elif p < off:
                triggered = False
            flags[i] = triggered
        self._triggered = triggered
        return flags

    def _emit(self, *, eof: bool) -> Frames:
        frame = self._frame
        if eof:
            ready = -(-self._total // frame)
        else:
            # Frames whole in the samples, whose centre lies in a decided window.
            by_windows = max(0, -(-(self._windows * WINDOW - frame // 2) // frame))
            ready = min(self._total // frame, by_windows)
        if ready <= self._frames:
            return _NO_FRAMES
        first = self._frames
        lo = first * frame - self._samples_start
        hi = min(ready * frame, self._total) - self._samples_start
        energy = frame_energy_db(self._samples[lo:hi], frame)
        centres = np.arange(first, ready, dtype=np.int64) * frame + frame // 2
        window = np.minimum(centres // WINDOW, self._windows - 1) - self._flags_start
        speech = self._flags[window]
        self._frames = ready
        self._forget()
        return energy, speech

    def _forget(self) -> None:
        """Drop samples and flags no later frame or window needs: memory stays flat."""
        keep_sample = min(self._frames * self._frame, self._windows * WINDOW)
        cut = keep_sample - self._samples_start
        if cut > 0:
            self._samples = self._samples[cut:]
            self._samples_start = keep_sample
        keep_window = min((self._frames * self._frame + self._frame // 2) // WINDOW, self._windows)
        drop = keep_window - self._flags_start
        if drop > 0:
            self._flags = self._flags[drop:]
            self._flags_start = keep_window


__all__ = [
    "DEFAULT_SILERO",
    "DETECTORS",
    "INSTALL_HINT",
    "MODEL_PATH",
    "LevelDetector",
    "SileroDetector",
    "SileroSettings",
    "SpeechDetector",
    "detector_problems",
    "make_detector",
    "speech_detector",
]
