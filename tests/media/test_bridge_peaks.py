"""The waveform's peaks: known signals, block sizes, an hour's size, the stored form, split().

Never assert on timings; expected peaks are computed here from the samples themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ffmpeg_bridge import Chunks, PeakAccumulator, Peaks, decode_peaks, encode_peaks, split
from ffmpeg_bridge.peaks import BASE_WINDOW_SECONDS, LEVELS, MAX_PEAKS, peaks_of
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
    peaks = an_hour_of_loud_noise()  # loud noise: every peak is a long number
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


def largest_gap(ours: Peaks, theirs: Peaks) -> float:
    assert len(ours) == len(theirs)
    pairs = [*zip(ours.maxs, theirs.maxs, strict=True), *zip(ours.mins, theirs.mins, strict=True)]
    return max(abs(a - b) for a, b in pairs)


def an_hour_of_loud_noise(varied: bool = False) -> Peaks:
    block = noise(10.0, seed=3) // 2
    if varied:  # each window's level its own, as in speech: long numbers in the lists
        rng = np.random.default_rng(9)
        block = (block * rng.uniform(0.01, 1.0, len(block) // 400).repeat(400)).astype(np.int16)
    accumulator = PeakAccumulator(RATE)
    for _ in range(360):
        accumulator.feed(block)
    return accumulator.result()


def test_the_stored_form_reads_back_within_half_a_level() -> None:
    peaks = peaks_of(noise(30.0, seed=5) // 3, RATE)
    stored = json.loads(json.dumps(encode_peaks(peaks)))
    assert stored["v"] == 1
    back = decode_peaks(stored)
    assert (back.seconds_per_peak, back.duration) == (peaks.seconds_per_peak, peaks.duration)
    # Half a level of the loudest peak, then the usual rounding to 3 decimals.
    assert largest_gap(back, peaks) <= stored["scale"] / (2 * LEVELS) + 0.0005
    assert largest_gap(back, peaks) < 1 / 127
    assert all(lo <= hi for lo, hi in zip(back.mins, back.maxs, strict=True))
    assert max(back.maxs) == max(peaks.maxs), "the loudest peak is exact"
    assert encode_peaks(back) == stored, "reading and storing again changes nothing"


def test_a_quiet_recording_loses_nothing() -> None:
    # Peaks up to -36 dBFS: of full scale that would be 2 levels; of the loudest peak, 127
    # levels, finer than the 3 decimals the peaks are given in, so they come back as they were.
    quiet = np.sin(np.linspace(0, 400 * np.pi, 4 * RATE)) * np.linspace(1, 500, 4 * RATE)
    peaks = peaks_of(quiet.astype(np.int16), RATE)
    assert max(peaks.maxs) == 0.015
    assert decode_peaks(encode_peaks(peaks)) == peaks


def test_silence_and_nothing_store_as_zeros() -> None:
    silence = peaks_of(np.zeros(RATE, np.int16), RATE)
    assert decode_peaks(encode_peaks(silence)) == silence
    empty = PeakAccumulator(RATE).result()
    assert encode_peaks(empty)["max"] == ""
    assert decode_peaks(encode_peaks(empty)) == empty


def test_an_hour_stores_in_under_8_kb() -> None:
    peaks = an_hour_of_loud_noise(varied=True)
    assert len(peaks) == 2813
    stored = json.dumps(encode_peaks(peaks), separators=(",", ":"))
    lists = json.dumps(peaks.to_dict(), separators=(",", ":"))
    # Two bytes per window, base64 (4 characters per 3 bytes), a few fields: 7.6 KB.
    assert len(stored) < 8_000, len(stored)
    assert len(stored) < len(lists) / 4


def test_peaks_stored_as_lists_are_still_read() -> None:
    peaks = peaks_of(noise(1.0), RATE)
    old = json.loads(json.dumps(peaks.to_dict()))
    assert "v" not in old
    assert decode_peaks(old) == peaks


@pytest.mark.parametrize(
    "stored",
    [
        {"v": 2, "seconds_per_peak": 0.02, "duration": 1.0, "scale": 1.0, "max": "", "min": ""},
        {"v": 1, "seconds_per_peak": 0.02, "duration": 1.0, "scale": 1.0, "max": "AA", "min": ""},
        {"v": 1, "seconds_per_peak": 0.02, "duration": 1.0, "scale": 1.0, "max": "AA==", "min": ""},
        {"seconds_per_peak": 0.02, "duration": 1.0},
    ],
    ids=["unknown version", "bad base64", "lengths apart", "neither form"],
)
def test_what_cannot_be_read_is_a_value_error(stored: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="stored peaks"):
        decode_peaks(stored)


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
