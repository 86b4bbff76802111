"""The waveform's peaks: each small window's lowest and highest sample, gathered as split() decodes.

Never decode, read files or hold audio here; never depend on how the caller's blocks were sized.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]

#: The finest window: one 20 ms analysis frame (320 samples at 16 kHz), ~15 windows per word.
BASE_WINDOW_SECONDS = 0.02
#: Media never has more windows than this: when it would, neighbouring windows are merged in
#: pairs (the window doubles), so an hour has 2,813 windows of 1.28 s and any media
#: 2,048 to 4,096 once it is longer than 82 s: some 25-40 KB of JSON, whatever its length.
MAX_PEAKS = 4096
#: Peaks are rounded to this many decimals (about 11 bits, down to -60 dBFS): compact JSON.
DECIMALS = 3

#: The stored form's version (encode_peaks): one signed byte per window and side.
STORED_VERSION = 1
#: Stored bytes run from -LEVELS to LEVELS, LEVELS being the media's loudest sample.
LEVELS = 127

_FULL_SCALE = 32768.0


@dataclass(frozen=True, slots=True)
class Peaks:
    """Each window's lowest and highest sample as numbers in [-1, 1], in the source's timeline.

    Window i covers ``[i * seconds_per_peak, (i + 1) * seconds_per_peak)`` seconds; the last
    window may be shorter (it ends at ``duration``, the decoded length).
    """

    seconds_per_peak: float
    duration: float
    mins: tuple[float, ...] = ()
    maxs: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.mins)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds_per_peak": self.seconds_per_peak,
            "duration": self.duration,
            "mins": list(self.mins),
            "maxs": list(self.maxs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Peaks:
        return cls(
            seconds_per_peak=float(data["seconds_per_peak"]),
            duration=float(data["duration"]),
            mins=tuple(float(v) for v in data.get("mins", ())),
            maxs=tuple(float(v) for v in data.get("maxs", ())),
        )


class PeakAccumulator:
    """Fed the decoded blocks in order (any sizes); ``result()`` gives the Peaks.

    Windows start at sample 0 and are ``base_window * 2**k`` samples long; k grows by one (each
    pair of windows merged) whenever ``max_peaks`` full windows are reached. Min and max merge
    exactly, so the peaks are those of one pass at the final window, whatever the blocks were.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        base_window_seconds: float = BASE_WINDOW_SECONDS,
        max_peaks: int = MAX_PEAKS,
    ) -> None:
        if max_peaks < 2:
            raise ValueError(f"max_peaks must be at least 2, not {max_peaks}")
        self.sample_rate = sample_rate
        self.window = max(1, round(base_window_seconds * sample_rate))
        self.max_peaks = max_peaks
        self.samples = 0
        self._mins: list[Int16Array] = []  # full windows, in arrays as they came
        self._maxs: list[Int16Array] = []
        self._full = 0  # how many full windows _mins/_maxs hold
        self._part_count = 0  # samples in the window being filled
        self._part_min = 0
        self._part_max = 0

    def feed(self, block: Int16Array) -> None:
        """Takes the next decoded samples (mono int16)."""
        block = np.asarray(block, dtype=np.int16)
        if not len(block):
            return
        self.samples += len(block)
        at = 0
        if self._part_count:
            at = min(self.window - self._part_count, len(block))
            head = block[:at]
            self._part_min = min(self._part_min, int(head.min()))
            self._part_max = max(self._part_max, int(head.max()))
            self._part_count += at
            if self._part_count == self.window:
                self._append(
                    np.array([self._part_min], np.int16), np.array([self._part_max], np.int16)
                )
                self._part_count = 0
        rest = block[at:]
        whole = len(rest) // self.window
        if whole:
            windows = rest[: whole * self.window].reshape(whole, self.window)
            self._append(windows.min(axis=1), windows.max(axis=1))
        tail = rest[whole * self.window :]
        if len(tail):
            self._part_min, self._part_max = int(tail.min()), int(tail.max())
            self._part_count = len(tail)
        self._shrink()

    def _append(self, mins: Int16Array, maxs: Int16Array) -> None:
        self._mins.append(mins)
        self._maxs.append(maxs)
        self._full += len(mins)

    def _shrink(self) -> None:
        """Doubles the window while there are max_peaks full windows or more."""
        if self._full < self.max_peaks:
            return
        mins = np.concatenate(self._mins)
        maxs = np.concatenate(self._maxs)
        while len(mins) >= self.max_peaks:
            if len(mins) % 2:
                # The last full window becomes the first half of the window being filled.
                if self._part_count:
                    self._part_min = min(self._part_min, int(mins[-1]))
                    self._part_max = max(self._part_max, int(maxs[-1]))
                else:
                    self._part_min, self._part_max = int(mins[-1]), int(maxs[-1])
                self._part_count += self.window
                mins, maxs = mins[:-1], maxs[:-1]
            mins = mins.reshape(-1, 2).min(axis=1)
            maxs = maxs.reshape(-1, 2).max(axis=1)
            self.window *= 2
        self._mins, self._maxs, self._full = [mins], [maxs], len(mins)

    def result(self) -> Peaks:
        """The peaks of everything fed so far (the window being filled counts as the last)."""
        parts_min = [*self._mins]
        parts_max = [*self._maxs]
        if self._part_count:
            parts_min.append(np.array([self._part_min], np.int16))
            parts_max.append(np.array([self._part_max], np.int16))
        mins = np.concatenate(parts_min) if parts_min else np.zeros(0, np.int16)
        maxs = np.concatenate(parts_max) if parts_max else np.zeros(0, np.int16)
        return Peaks(
            seconds_per_peak=self.window / self.sample_rate,
            duration=self.samples / self.sample_rate,
            mins=_scaled(mins),
            maxs=_scaled(maxs),
        )


def _scaled(values: Int16Array) -> tuple[float, ...]:
    return _rounded(values.astype(np.float64) / _FULL_SCALE)


def _rounded(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    # + 0.0 turns -0.0 into 0.0, which JSON writes shorter.
    return tuple((np.round(values, DECIMALS) + 0.0).tolist())


def peaks_of(samples: Int16Array, sample_rate: int, **options: Any) -> Peaks:
    """The peaks of a whole signal at once (what the accumulator gives, fed it in one block)."""
    accumulator = PeakAccumulator(sample_rate, **options)
    accumulator.feed(samples)
    return accumulator.result()


def encode_peaks(peaks: Peaks) -> dict[str, Any]:
    """The peaks as stored: each window's max and min as one signed byte, base64, about 7.5 KB
    of JSON for an hour (2,813 windows), against 25-36 KB as lists of numbers.

    ``{"v": 1, "seconds_per_peak", "duration", "scale", "max": base64, "min": base64}``: byte q
    stands for ``q / 127 * scale``, scale being the loudest peak (so a quiet recording keeps
    all 127 levels), q rounded to the nearest; decode_peaks() reads it back within half a
    level, never more than 1/254 of full scale (then rounded to DECIMALS).
    """
    maxs = np.asarray(peaks.maxs, dtype=np.float64)
    mins = np.asarray(peaks.mins, dtype=np.float64)
    scale = float(max(np.abs(maxs).max(initial=0.0), np.abs(mins).max(initial=0.0)))
    return {
        "v": STORED_VERSION,
        "seconds_per_peak": peaks.seconds_per_peak,
        "duration": peaks.duration,
        "scale": scale,
        "max": _to_bytes(maxs, scale),
        "min": _to_bytes(mins, scale),
    }


def decode_peaks(data: Mapping[str, Any]) -> Peaks:
    """Peaks from what encode_peaks() stored, or from Peaks.to_dict()'s lists (stored before
    the bytes); ValueError for anything else (an unknown version, bad base64, lengths apart).
    """
    version = data.get("v")
    if version is None and "mins" in data and "maxs" in data:
        return Peaks.from_dict(data)
    if version != STORED_VERSION:
        raise ValueError(f"stored peaks of version {version!r}; this one reads {STORED_VERSION}")
    scale = float(data["scale"])
    maxs = _from_bytes(data["max"], scale)
    mins = _from_bytes(data["min"], scale)
    if len(maxs) != len(mins):
        raise ValueError(f"stored peaks have {len(maxs)} maxima but {len(mins)} minima")
    return Peaks(
        seconds_per_peak=float(data["seconds_per_peak"]),
        duration=float(data["duration"]),
        mins=mins,
        maxs=maxs,
    )


def _to_bytes(values: npt.NDArray[np.float64], scale: float) -> str:
    if scale <= 0.0:
        levels = np.zeros(len(values), dtype=np.int8)
    else:
        levels = np.clip(np.rint(values / scale * LEVELS), -LEVELS, LEVELS).astype(np.int8)
    return base64.b64encode(levels.tobytes()).decode("ascii")


def _from_bytes(text: str, scale: float) -> tuple[float, ...]:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"stored peaks are not base64: {exc}") from None
    levels = np.frombuffer(raw, dtype=np.int8).astype(np.float64)
    return _rounded(levels * (scale / LEVELS))
