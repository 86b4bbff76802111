"""The waveform's peaks: known signals, any block sizes, an hour's size, and split() returning them.

Never assert on timings; expected peaks are computed here from the samples themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ffmpeg_bridge import Chunks, PeakAccumulator, Peaks, split
from ffmpeg_bridge.peaks import BASE_WINDOW_SECONDS, MAX_PEAKS, peaks_of
from tests.fixtures_standin import write_tones

RATE = 16000
WINDOW = round(BASE_WINDOW_SECONDS * RATE)

Samples = npt.NDArray[np.int16]


def direct(samples: Samples, window: int) -> tuple[list[float], list[float]]:
    """Each window's min and max, one window at a time: what the accumulator must give."""
    mins, maxs = [], []
    for at in range(0, len(samples), window):
        piece = samples[at : at + window]
        mins.append(round(int(piece.min()) / 32768, 3) + 0.0)
        maxs.append(round(int(piece.max()) / 32768, 3) + 0.0)
    return mins, maxs


def fed(samples: Samples, sizes: list[int], **options: int) -> Peaks:
    """The accumulator fed ``samples`` in blocks of the given sizes, cycling through them."""
    accumulator = PeakAccumulator(RATE, **options)
    at, i = 0, 0
    while at < len(samples):
        size = sizes[i % len(sizes)]
        accumulator.feed(samples[at : at + size])
        at += size
        i += 1
    return accumulator.result()


def noise(seconds: float, seed: int = 8) -> Samples:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, round(seconds * RATE)).astype(np.int16)


def test_known_windows_give_their_own_min_and_max() -> None:
    # Window i holds the values -(i+1)*1000 .. (i+1)*1000, in a shuffled order.
    rng = np.random.default_rng(1)
    windows = [
        rng.permutation(np.linspace(-(i + 1) * 1000, (i + 1) * 1000, WINDOW)) for i in range(5)
    ]
    samples = np.concatenate(windows).astype(np.int16)
    peaks = peaks_of(samples, RATE)
    assert peaks.seconds_per_peak == pytest.approx(0.02)
    assert peaks.duration == pytest.approx(5 * 0.02)
    assert peaks.maxs == tuple(round((i + 1) * 1000 / 32768, 3) for i in range(5))
    assert peaks.mins == tuple(-round((i + 1) * 1000 / 32768, 3) for i in range(5))


def test_full_scale_and_silence() -> None:
    samples = np.zeros(3 * WINDOW, np.int16)
    samples[WINDOW + 7] = 32767
    samples[WINDOW + 9] = -32768
    peaks = peaks_of(samples, RATE)
    assert peaks.mins == (0.0, -1.0, 0.0)
    assert peaks.maxs == (0.0, 1.0, 0.0)
    # Silence is written 0.0, never -0.0.
    assert json.dumps(peaks.to_dict()["mins"]) == "[0.0, -1.0, 0.0]"


def test_a_last_short_window_counts_over_its_own_samples() -> None:
    samples = np.full(2 * WINDOW + 5, 100, np.int16)
    samples[-1] = 5000
    peaks = peaks_of(samples, RATE)
    assert len(peaks) == 3
    assert peaks.maxs[-1] == round(5000 / 32768, 3)
    assert peaks.duration == pytest.approx((2 * WINDOW + 5) / RATE)


def test_nothing_fed_gives_no_peaks() -> None:
    peaks = PeakAccumulator(RATE).result()
    assert (peaks.mins, peaks.maxs, peaks.duration) == ((), (), 0.0)
    assert Chunks().peaks.mins == ()


@pytest.mark.parametrize(
    ("sizes", "seconds", "max_peaks"),
    [
        ([1], 1.3, 16),
        ([7], 1.3, 16),
        ([WINDOW - 1], 12.0, 64),
        ([WINDOW], 12.0, 64),
        ([WINDOW + 1], 12.0, 64),
        ([4096], 12.0, 64),
        ([160_000], 12.0, 64),
        ([3, 1000, 77, 50_000], 12.0, 64),
        ([3, 1000, 77, 50_000], 12.0, 4096),
    ],
)
def test_block_sizes_do_not_change_the_peaks(
    sizes: list[int], seconds: float, max_peaks: int
) -> None:
    # Few windows allowed: the window doubles several times while the blocks arrive; an odd
    # length leaves a short last window.
    samples = noise(seconds)[:-123]
    whole = peaks_of(samples, RATE, max_peaks=max_peaks)
    assert fed(samples, sizes, max_peaks=max_peaks) == whole
    window = round(whole.seconds_per_peak * RATE)
    assert (list(whole.mins), list(whole.maxs)) == direct(samples, window)


def test_the_window_doubles_until_the_peaks_fit() -> None:
    samples = noise(12.0)
    peaks = fed(samples, [4096], max_peaks=64)
    # 600 windows of 20 ms; 64 is reached, so 300, 150, 75, then 37 (+1 partial) of 320 ms.
    assert peaks.seconds_per_peak == pytest.approx(0.32)
    assert len(peaks) == math.ceil(12.0 / 0.32) == 38
    assert len(peaks) < 64


def test_an_hour_is_a_few_thousand_pairs_and_tens_of_kb() -> None:
    block = noise(10.0, seed=3) // 2  # loud noise: every peak is a long number
    accumulator = PeakAccumulator(RATE)
    for _ in range(360):
        accumulator.feed(block)
    peaks = accumulator.result()
    assert peaks.duration == pytest.approx(3600.0)
    assert peaks.seconds_per_peak == pytest.approx(1.28)
    assert len(peaks) == len(peaks.maxs) == 2813
    assert all(-1.0 <= lo <= hi <= 1.0 for lo, hi in zip(peaks.mins, peaks.maxs, strict=True))
    size = len(json.dumps(peaks.to_dict(), separators=(",", ":")))
    assert size < 40_000, size


def test_long_media_never_has_more_than_max_peaks() -> None:
    block = noise(10.0, seed=4)
    accumulator = PeakAccumulator(RATE)
    for hours in (1, 2, 3, 4):
        while accumulator.samples < hours * 3600 * RATE:
            accumulator.feed(block)
        peaks = accumulator.result()
        assert MAX_PEAKS // 2 <= len(peaks) <= MAX_PEAKS


def test_to_dict_and_back() -> None:
    peaks = peaks_of(noise(1.0), RATE)
    assert Peaks.from_dict(json.loads(json.dumps(peaks.to_dict()))) == peaks


def test_split_returns_peaks_over_the_whole_decoded_audio(tmp_path: Path) -> None:
    media = write_tones(tmp_path / "tone.wav", duration=6.0, tones=[(2.0, 4.0)], amplitude=0.3)
    work = tmp_path / "work"
    work.mkdir()
    chunks = split(media, work, detector="level")
    peaks = chunks.peaks
    assert peaks.duration == pytest.approx(chunks.decoded_seconds) == pytest.approx(6.0, abs=0.02)
    assert peaks.seconds_per_peak == pytest.approx(BASE_WINDOW_SECONDS)
    assert len(peaks) == math.ceil(peaks.duration / peaks.seconds_per_peak - 1e-9)
    tone = [i for i, hi in enumerate(peaks.maxs) if hi > 0.25]
    # The tone's windows, and only those, reach its amplitude (0.3), both ways.
    assert tone[0] * peaks.seconds_per_peak == pytest.approx(2.0, abs=0.05)
    assert (tone[-1] + 1) * peaks.seconds_per_peak == pytest.approx(4.0, abs=0.05)
    assert max(peaks.maxs) == pytest.approx(0.3, abs=0.01)
    assert min(peaks.mins) == pytest.approx(-0.3, abs=0.01)
    quiet = [hi for t, hi in enumerate(peaks.maxs) if t * 0.02 < 1.9 or t * 0.02 > 4.1]
    assert max(quiet) < 0.01


def test_split_of_silence_still_has_peaks(silence_audio: Path, tmp_path: Path) -> None:
    chunks = split(silence_audio, tmp_path, detector="level")
    assert list(chunks) == []
    assert chunks.peaks.duration == pytest.approx(10.0, abs=0.02)
    assert len(chunks.peaks) == 500
    assert set(chunks.peaks.maxs) == {0.0}
