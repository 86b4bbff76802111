"""Fixtures that make test media with real ffmpeg and espeak-ng, once per test session.

Never download media; everything is generated, small and reproducible (see tests/make_media.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import make_media as media

#: Sentences of the `speech_video` fixture; pauses between them are SPEECH_GAPS seconds.
SPEECH_TEXTS = (
    "Welcome to the test of the transcription pipeline.",
    "Today we talk about splitting audio into chunks.",
    "Silence is golden but speech is what we want.",
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "This is the end of the recording. Thank you for listening.",
)
SPEECH_GAPS = (0.7, 1.2, 0.6, 3.0, 0.9)
#: Phrases of `long_pause_audio`, each followed by LONG_PAUSE seconds of silence.
LONG_PAUSE_TEXTS = (
    "The first phrase comes before a long pause.",
    "Then a second phrase after five seconds of silence.",
    "And a third one to finish.",
)
LONG_PAUSE = 5.0


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    media.require_tools()
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_wav_and_layout(media_dir: Path) -> tuple[Path, media.Layout]:
    audio, layout = media.compose(SPEECH_TEXTS, SPEECH_GAPS, media_dir)
    return media.write_wav(audio, media_dir / "speech.wav"), layout


@pytest.fixture(scope="session")
def speech_layout(speech_wav_and_layout: tuple[Path, media.Layout]) -> media.Layout:
    """Where the sentences of `speech_wav` / `speech_video` are (seconds)."""
    return speech_wav_and_layout[1]


@pytest.fixture(scope="session")
def speech_wav(speech_wav_and_layout: tuple[Path, media.Layout]) -> Path:
    """Six espeak-ng sentences (voice en+f3) with pauses of 0.6-3 s, ~25 s, 22.05 kHz WAV."""
    return speech_wav_and_layout[0]


@pytest.fixture(scope="session")
def speech_video(media_dir: Path, speech_wav: Path) -> Path:
    """The `speech_wav` sentences over a test-pattern video: MP4, H.264 and AAC (~25 s)."""
    return media.encode_video(speech_wav, media_dir / "speech video.mp4")


@pytest.fixture(scope="session")
def long_pause_wav_and_layout(media_dir: Path) -> tuple[Path, media.Layout]:
    gaps = (LONG_PAUSE,) * (len(LONG_PAUSE_TEXTS) - 1)
    audio, layout = media.compose(LONG_PAUSE_TEXTS, gaps, media_dir, lead=1.0, tail=1.0)
    return media.write_wav(audio, media_dir / "long pause.wav"), layout


@pytest.fixture(scope="session")
def long_pause_audio(long_pause_wav_and_layout: tuple[Path, media.Layout]) -> Path:
    """Three phrases separated by 5 s of digital silence (WAV, 22.05 kHz, ~20 s)."""
    return long_pause_wav_and_layout[0]


@pytest.fixture(scope="session")
def long_pause_layout(long_pause_wav_and_layout: tuple[Path, media.Layout]) -> media.Layout:
    return long_pause_wav_and_layout[1]


@pytest.fixture(scope="session")
def quiet_long_pause_audio(media_dir: Path) -> tuple[Path, media.Layout]:
    """The long-pause phrases 40 dB down over faint noise (-80 dBFS): a quiet recording."""
    gaps = (LONG_PAUSE,) * (len(LONG_PAUSE_TEXTS) - 1)
    audio, layout = media.compose(
        LONG_PAUSE_TEXTS, gaps, media_dir, lead=1.0, tail=1.0, gain=0.01, noise_db=-80
    )
    return media.encode_audio(
        media.write_wav(audio, media_dir / "quiet.wav"), media_dir / "quiet.flac"
    ), layout


@pytest.fixture(scope="session")
def silence_audio(media_dir: Path) -> Path:
    """Ten seconds of digital silence (WAV)."""
    path = media_dir / "silence.wav"
    return media.write_wav(np.zeros(10 * media.RATE, np.float32), path)


@pytest.fixture(scope="session")
def video_without_audio(media_dir: Path) -> Path:
    """A 3 s H.264 test pattern with no audio track at all (MP4)."""
    return media.encode_video(None, media_dir / "mute.mp4", seconds=3)


@pytest.fixture(scope="session")
def container_media(media_dir: Path, long_pause_audio: Path) -> dict[str, Path]:
    """`long_pause_audio` in every common container: mp4, mkv, webm, mp3, ogg, opus, m4a,
    flac, wav; keyed by suffix without the dot."""
    made = {"wav": long_pause_audio}
    for suffix in ("mp3", "ogg", "opus", "m4a", "flac"):
        made[suffix] = media.encode_audio(long_pause_audio, media_dir / f"lp.{suffix}")
    for suffix in ("mp4", "mkv", "webm"):
        made[suffix] = media.encode_video(long_pause_audio, media_dir / f"lp.{suffix}")
    return made


@pytest.fixture
def odd_named_media(tmp_path: Path, speech_wav: Path) -> Iterator[list[Path]]:
    """Copies of `speech_wav` under hard names: spaces, unicode, a leading '-', a colon."""
    names = ["with spaces.wav", "ünïcødé 音声.wav", "-i evil.wav", "-y", "a:b.wav", "--.mp4"]
    paths = []
    for name in names:
        target = tmp_path / name
        shutil.copyfile(speech_wav, target)
        paths.append(target)
    yield paths


@pytest.fixture(scope="session")
def many_minutes_video(media_dir: Path) -> tuple[Path, media.Layout]:
    """About 7 minutes of sentences with pauses of 0.4-6 s over a test pattern (MP4)."""
    out = media_dir / "many minutes.mp4"
    layout = media.make_long_media(out, 7 * 60, media_dir)
    return out, layout


#: How far under the speech's level the backgrounds of `speech_over` are mixed, in dB.
BED_BELOW_DB = {"pink": 15.0, "brown": 15.0, "white": 20.0, "chord": 18.0, "melody": 15.0}

SpeechOver = Callable[[str | None], tuple[Path, media.Layout]]


@pytest.fixture(scope="session")
def speech_over(media_dir: Path) -> SpeechOver:
    """The `speech_wav` sentences (pauses of 0.6-3 s) over a background: speech_over("pink"),
    ("brown"), ("white"), ("chord") or ("melody"), BED_BELOW_DB under the speech; None for
    digital silence. WAV, 22.05 kHz, ~27 s; made once per session."""
    made: dict[str | None, tuple[Path, media.Layout]] = {}

    def make(kind: str | None) -> tuple[Path, media.Layout]:
        if kind not in made:
            audio, layout = media.compose(SPEECH_TEXTS, SPEECH_GAPS, media_dir, lead=1.0, tail=1.5)
            if kind is not None:
                bed = media.background(kind, layout.duration, media_dir)
                audio = media.mix(audio, layout, bed, BED_BELOW_DB[kind])
            made[kind] = (media.write_wav(audio, media_dir / f"over {kind}.wav"), layout)
        return made[kind]

    return make


@pytest.fixture(scope="session")
def background_only(media_dir: Path) -> Callable[[str], Path]:
    """20 s of one background alone (no speech) at -20 dBFS RMS: background_only("pink")."""
    made: dict[str, Path] = {}

    def make(kind: str) -> Path:
        if kind not in made:
            bed = media.background(kind, 20.0, media_dir)
            bed = bed * np.float32(10 ** ((-20.0 - media.rms_db(bed)) / 20))
            made[kind] = media.write_wav(bed, media_dir / f"only {kind}.wav")
        return made[kind]

    return make
