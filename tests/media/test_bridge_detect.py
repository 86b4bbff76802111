"""Speech detectors on real generated speech, noise and music: Silero VAD and the level one.

Never assert on timings; expected times come from the layout the media was made from.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ffmpeg_bridge
from ffmpeg_bridge import DetectorUnavailable, detect
from ffmpeg_bridge.detect import LevelDetector, SileroDetector, SpeechDetector
from ffmpeg_bridge.plan import classify_all, frame_energy_db, runs
from tests import make_media as media
from tests.data import JFK
from tests.fixtures_media import LONG_PAUSE, LONG_PAUSE_TEXTS, SpeechOver

FPS = 50
#: One frame, and Silero's 32 ms window either side of a phrase's edges.
EDGE = 0.1


def detect_all(
    detector: SpeechDetector, samples: np.ndarray, pieces: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Feed `samples` in pieces of the given sizes (cycling), then finish."""
    energies, masks = [], []
    i = k = 0
    while i < len(samples):
        size = pieces[k % len(pieces)]
        energy, mask = detector.feed(samples[i : i + size])
        energies.append(energy)
        masks.append(mask)
        i, k = i + size, k + 1
    energy, mask = detector.finish()
    return np.concatenate([*energies, energy]), np.concatenate([*masks, mask])


def speech_mask(path: Path, pieces: list[int] | None = None) -> np.ndarray:
    _, mask = detect_all(SileroDetector(), media.decode_16k(path), pieces or [160_000])
    return np.asarray(mask, dtype=np.bool_)


def share(mask: np.ndarray, start: float, end: float) -> float:
    """Share of the frames in [start, end] seconds that are speech."""
    part = mask[round(start * FPS) : round(end * FPS)]
    return float(part.mean()) if len(part) else 0.0


def hide_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "onnxruntime" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_auto_is_silero_where_it_can_run() -> None:
    assert ffmpeg_bridge.detector_problems() == []
    assert ffmpeg_bridge.speech_detector() == "silero"
    assert ffmpeg_bridge.speech_detector("silero") == "silero"
    assert ffmpeg_bridge.speech_detector("level") == "level"
    with pytest.raises(ValueError, match="auto, silero, level"):
        ffmpeg_bridge.speech_detector("webrtc")


def test_without_onnxruntime_auto_falls_back_and_silero_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hide_onnxruntime(monkeypatch)
    problems = ffmpeg_bridge.detector_problems()
    assert len(problems) == 1
    assert "onnxruntime is not installed" in problems[0]
    assert ffmpeg_bridge.speech_detector("auto") == "level"
    with pytest.raises(DetectorUnavailable) as caught:
        ffmpeg_bridge.speech_detector("silero")
    assert isinstance(caught.value, ffmpeg_bridge.MediaError)
    assert 'pip install "django-voxtral[vad]"' in str(caught.value)
    assert caught.value.problems == problems


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.onnx"
    problems = ffmpeg_bridge.detector_problems(missing)
    assert len(problems) == 1
    assert str(missing) in problems[0]
    assert ffmpeg_bridge.speech_detector("auto", missing) == "level"
    with pytest.raises(DetectorUnavailable, match=r"nowhere\.onnx"):
        ffmpeg_bridge.speech_detector("silero", missing)


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(DetectorUnavailable, match="cannot be loaded"):
        SileroDetector(model_path=broken)


def test_asking_which_detector_loads_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> Any:
        raise AssertionError("a session was made")

    monkeypatch.setattr(detect, "_new_session", refuse)
    monkeypatch.setattr(detect, "_sessions", {})
    assert ffmpeg_bridge.speech_detector() == "silero"
    assert ffmpeg_bridge.detector_problems() == []


def test_one_session_per_process() -> None:
    first, second = SileroDetector(), SileroDetector()
    assert first._session is second._session


@pytest.mark.parametrize("kind", [None, "pink", "brown", "white", "chord", "melody"])
def test_silero_hears_the_phrases_and_the_pauses(speech_over: SpeechOver, kind: str | None) -> None:
    path, layout = speech_over(kind)
    mask = speech_mask(path)
    assert len(mask) == pytest.approx(layout.duration * FPS, abs=2)
    for start, end in layout.phrases:
        # The last phrase is two sentences, with a pause of 0.35 s between them.
        assert share(mask, start + EDGE, end - EDGE) > 0.8, (kind, start, end)
    for start, end in layout.gaps:
        assert share(mask, start + EDGE, end - EDGE) < 0.1, (kind, start, end)
    assert share(mask, 0, layout.phrases[0][0] - EDGE) == 0.0
    assert share(mask, layout.phrases[-1][1] + EDGE, layout.duration) == 0.0
    # The background changes hardly a frame's decision.
    over_silence = speech_mask(speech_over(None)[0])
    assert float((mask == over_silence).mean()) > 0.97


@pytest.mark.parametrize("kind", ["pink", "brown", "white", "chord", "melody"])
def test_silero_hears_no_speech_in_noise_or_music(
    background_only: Callable[[str], Path], kind: str
) -> None:
    mask = speech_mask(background_only(kind))
    assert mask.mean() < 0.01


def test_quiet_speech_is_heard_as_well_as_loud(media_dir: Path) -> None:
    gaps = (LONG_PAUSE,) * (len(LONG_PAUSE_TEXTS) - 1)
    masks = []
    for gain in (1.0, 0.01):  # peaks near 0 dBFS and near -40 dBFS
        audio, layout = media.compose(
            LONG_PAUSE_TEXTS, gaps, media_dir, lead=1.0, tail=1.0, gain=gain, noise_db=-80
        )
        masks.append(speech_mask(media.write_wav(audio, media_dir / f"gain {gain}.wav")))
    loud, quiet = masks
    assert float((loud == quiet).mean()) > 0.97
    for start, end in layout.phrases:
        assert share(quiet, start + EDGE, end - EDGE) > 0.9


def test_the_same_samples_give_the_same_frames_however_they_are_fed(
    speech_over: SpeechOver,
) -> None:
    samples = media.decode_16k(speech_over("pink")[0])
    whole = detect_all(SileroDetector(), samples, [len(samples)])
    for pieces in ([160_000], [1], [7, 1000, 333], [511, 513], [320 * 64]):
        energy, mask = detect_all(SileroDetector(), samples, pieces)
        assert np.array_equal(mask, whole[1]), pieces
        assert np.array_equal(energy, whole[0]), pieces


def test_energies_are_every_frames_level(speech_over: SpeechOver) -> None:
    samples = media.decode_16k(speech_over("melody")[0])[:-123]  # a last, partial frame
    energy, mask = detect_all(SileroDetector(), samples, [10_000])
    assert len(energy) == len(mask) == -(-len(samples) // 320)
    np.testing.assert_allclose(energy, frame_energy_db(samples, 320), atol=1e-3)


def test_level_detector_is_the_level_classifier(speech_over: SpeechOver) -> None:
    samples = media.decode_16k(speech_over("pink")[0])
    energy, mask = detect_all(LevelDetector(), samples, [160_000])
    expected = frame_energy_db(samples, 320)
    np.testing.assert_allclose(energy, expected, atol=1e-3)
    assert float((mask == classify_all(expected)).mean()) > 0.99
    for pieces in ([1000, 7], [333_333]):
        again = detect_all(LevelDetector(), samples, pieces)
        assert np.array_equal(again[1], mask)


def test_digital_silence_costs_no_model_runs() -> None:
    detector = SileroDetector()
    energy, mask = detect_all(detector, np.zeros(60 * 16000, np.int16), [160_000])
    assert len(mask) == 60 * FPS
    assert not mask.any()
    assert detector.windows_run <= detect.DEFAULT_SILERO.quiet_windows
    assert energy.max() == pytest.approx(-100.0)


def test_memory_stays_flat(speech_over: SpeechOver) -> None:
    samples = media.decode_16k(speech_over("white")[0])
    detector = SileroDetector()
    held = []
    decided = 0
    for _ in range(20):  # about 9 minutes
        for i in range(0, len(samples), 160_000):
            decided += len(detector.feed(samples[i : i + 160_000])[0])
            held.append(detector.held_samples)
    assert max(held) <= 160_000 + 2 * 64 * 512
    assert decided * 320 >= 20 * len(samples) - 64 * 512 - 320


def test_jfk_words_are_speech_and_its_breaths_are_not() -> None:
    samples = media.decode_16k(JFK)
    _, mask = detect_all(SileroDetector(), samples, [160_000])
    spans = [(a / FPS, b / FPS) for a, b in runs(mask)]
    # "And so my fellow Americans ... ask not ... what your country can do for you ...":
    # speech from about 0.3 s to 10.5 s, with pauses of a second after "Americans" and "you".
    assert spans[0][0] == pytest.approx(0.3, abs=0.15)
    assert spans[-1][1] == pytest.approx(10.5, abs=0.2)
    assert 6.0 < mask.sum() / FPS < 9.5
    assert any(later - end > 0.8 for (_, end), (later, _) in itertools.pairwise(spans))
