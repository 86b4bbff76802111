"""Fixtures that start the local stand-in of the contract's speech service on 127.0.0.1.

Never reach the network; the stand-in speaks the real contract over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.standin import StandIn

STANDIN_TOKEN = "standin-secret-token-0123456789"


def write_tones(
    path: Path,
    *,
    duration: float,
    tones: Sequence[tuple[float, float]],
    rate: int = 16_000,
    channels: int = 1,
    frequency: float = 440.0,
    amplitude: float = 0.3,
) -> Path:
    """Writes silence of ``duration`` seconds with sine tones over the (start, end) stretches.

    The format follows the suffix (.wav, .flac, .ogg); no ffmpeg needed.
    """
    samples = np.zeros(round(duration * rate), dtype=np.float64)
    for start, end in tones:
        a, b = round(start * rate), min(round(end * rate), samples.size)
        t = np.arange(b - a) / rate
        samples[a:b] = amplitude * np.sin(2 * np.pi * frequency * t)
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    soundfile.write(str(path), data, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def _standin_server() -> Iterator[StandIn]:
    with StandIn(token=STANDIN_TOKEN) as server:
        yield server


@pytest.fixture
def standin(_standin_server: StandIn) -> Iterator[StandIn]:
    """The running stand-in, with no faults, no latency and no records at the start of a test."""
    _standin_server.reset()
    _standin_server.token = STANDIN_TOKEN
    yield _standin_server
    _standin_server.reset()
    _standin_server.token = STANDIN_TOKEN


@pytest.fixture
def standin_token() -> str:
    return STANDIN_TOKEN


@pytest.fixture(scope="session")
def tones_audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files with two tones (0.5-1.5 s and 2.5-3.0 s) in 4 s of silence, by format."""
    folder = tmp_path_factory.mktemp("tones")
    tones = [(0.5, 1.5), (2.5, 3.0)]
    return {
        "flac": write_tones(folder / "tones.flac", duration=4.0, tones=tones),
        "wav": write_tones(folder / "tones.wav", duration=4.0, tones=tones),
        "wav44stereo": write_tones(
            folder / "tones-44k-stereo.wav", duration=4.0, tones=tones, rate=44_100, channels=2
        ),
    }
