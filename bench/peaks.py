"""Benchmark: the waveform's peaks of an hour of speech, as lists and as stored (encode_peaks).

Sizes are exact and the same on every machine; the times are medians of a few runs in this one
process (milliseconds). Reads the bench's own speech minute; never the network.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile

from ffmpeg_bridge import PeakAccumulator, Peaks, decode_peaks, encode_peaks
from ffmpeg_bridge.peaks import MAX_PEAKS

from .media import OUT, speech_minute

RUNS = 5
MINUTES = 60
TARGET_BYTES = 8_000  # "a few KB per hour"


@dataclass(frozen=True)
class PeakFigures:
    windows: int
    seconds_per_peak: float
    lists_bytes: int
    stored_bytes: int
    answer_bytes: int
    halved_windows: int
    halved_bytes: int
    largest_error: float
    encode_ms: float
    decode_ms: float


def _json_size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":")))


def _median_ms(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def speech_minute_samples() -> tuple[npt.NDArray[np.int16], int]:
    """The bench's speech minute (espeak-ng, pauses of 1 to 8 s) as 16-bit samples, and its rate."""
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as work:
        samples, rate = soundfile.read(speech_minute(Path(work)), dtype="int16")
    return np.asarray(samples, dtype=np.int16), int(rate)


def hour_of_speech(minute: npt.NDArray[np.int16], rate: int, max_peaks: int = MAX_PEAKS) -> Peaks:
    """The minute fed 60 times, as split() would."""
    accumulator = PeakAccumulator(rate, max_peaks=max_peaks)
    for _ in range(MINUTES):
        accumulator.feed(minute)
    return accumulator.result()


def measure() -> PeakFigures:
    minute, rate = speech_minute_samples()
    peaks = hour_of_speech(minute, rate)
    stored = encode_peaks(peaks)
    back = decode_peaks(json.loads(json.dumps(stored)))
    pairs = [*zip(peaks.maxs, back.maxs, strict=True), *zip(peaks.mins, back.mins, strict=True)]
    halved = hour_of_speech(minute, rate, max_peaks=2048)
    answer = {
        "duration": back.duration,
        "seconds_per_peak": back.seconds_per_peak,
        "peaks": [list(back.maxs), list(back.mins)],
    }
    return PeakFigures(
        windows=len(peaks),
        seconds_per_peak=peaks.seconds_per_peak,
        lists_bytes=_json_size(peaks.to_dict()),
        stored_bytes=_json_size(stored),
        answer_bytes=_json_size(answer),
        halved_windows=len(halved),
        halved_bytes=_json_size(encode_peaks(halved)),
        largest_error=max(abs(a - b) for a, b in pairs),
        encode_ms=_median_ms(lambda: encode_peaks(peaks)),
        decode_ms=_median_ms(lambda: decode_peaks(stored)),
    )


def report(f: PeakFigures) -> list[str]:
    met = "met" if f.stored_bytes <= TARGET_BYTES else "**missed**"
    return [
        "## The waveform's peaks of an hour, stored",
        "",
        f"The bench's speech minute (espeak-ng, pauses of 1 to 8 s) fed {MINUTES} times to "
        "`ffmpeg_bridge.PeakAccumulator`, as `split()` feeds it: "
        f"{f.windows:,} windows of {f.seconds_per_peak:g} s. Sizes are compact JSON "
        "(no spaces), as the database's JSON column and the API hold them. Times are medians "
        f"of {RUNS} runs in one process.",
        "",
        "| form | windows | bytes (target: a few KB, <= 8,000) |",
        "| --- | --- | --- |",
        f"| lists of numbers, 3 decimals (`Peaks.to_dict()`, stored before) | {f.windows:,} | "
        f"{f.lists_bytes:,} |",
        f"| **stored now**: one signed byte per window and side, base64 (`encode_peaks`) | "
        f"{f.windows:,} | {f.stored_bytes:,} ({met}; {f.lists_bytes / f.stored_bytes:.1f}x "
        "smaller) |",
        f"| the same with the windows halved (`max_peaks=2048`, not taken) | "
        f"{f.halved_windows:,} | {f.halved_bytes:,} |",
        f"| the API's answer (`GET .../peaks/`, wavesurfer.js's shape, decoded) | "
        f"{f.windows:,} | {f.answer_bytes:,} |",
        "",
        f"Largest difference after the round trip: {f.largest_error:.4f} of full scale "
        "(at most half a level of the loudest peak, 1/254, plus the rounding to 3 decimals). "
        f"encode_peaks: {f.encode_ms:.2f} ms; decode_peaks: {f.decode_ms:.2f} ms.",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(report(measure())))
