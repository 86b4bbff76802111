"""split() with real ffmpeg on generated speech: chunk bounds, cuts in pauses, files, progress.

Never assert on timings; expected times come from the layout the media was made from.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ffmpeg_bridge import Chunk, DetectorUnavailable, probe, split
from ffmpeg_bridge.detect import SileroDetector
from ffmpeg_bridge.plan import frame_energy_db, plan_chunks
from tests import make_media as media
from tests.data import JFK
from tests.fixtures_media import SpeechOver

RATE = 16000
#: One 20 ms analysis frame, plus a little for AAC/MP3 smearing of onsets.
SLACK = 0.05


def check_chunks(chunks: list[Chunk], workdir: Path, duration: float, max_seconds: float) -> None:
    """What every split must give: ordered, bounded, named, inside the media."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= duration + SLACK
        assert chunk.duration <= max_seconds + 1e-9
        assert chunk.path.parent == workdir.absolute()
        assert chunk.path.name == f"chunk-{chunk.index:05d}{chunk.path.suffix}"
        assert chunk.path.is_file()
    for a, b in itertools.pairwise(chunks):
        assert a.end <= b.start
    assert sorted(p.name for p in workdir.iterdir()) == [c.path.name for c in chunks]


def covered(chunks: list[Chunk], start: float, end: float) -> float:
    """Seconds of [start, end] that the chunks cover."""
    return sum(max(0.0, min(end, c.end) - max(start, c.start)) for c in chunks)


def in_a_gap(t: float, layout: media.Layout) -> bool:
    return any(a - SLACK <= t <= b + SLACK for a, b in layout.gaps)


def test_speech_video_chunks_cut_between_sentences(
    speech_video: Path, speech_layout: media.Layout, tmp_path: Path
) -> None:
    chunks = split(speech_video, tmp_path, max_chunk_seconds=5)
    check_chunks(chunks, tmp_path, speech_layout.duration, 5)
    assert len(chunks) >= len(speech_layout.phrases) - 1  # no phrase pair fits in 5 s
    for start, end in speech_layout.phrases:
        # every sentence is sent whole (each is shorter than 5 s)
        assert covered(chunks, start + SLACK, end - SLACK) == pytest.approx(end - start - 2 * SLACK)
        assert any(c.start <= start + SLACK and end - SLACK <= c.end for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert in_a_gap(a.end, speech_layout), a
        assert in_a_gap(b.start, speech_layout), b


def test_cut_points_are_quiet(speech_video: Path, tmp_path: Path) -> None:
    chunks = split(speech_video, tmp_path, max_chunk_seconds=3)
    check_chunks(chunks, tmp_path, 30, 3)
    energy = frame_energy_db(media.decode_16k(speech_video), 320)
    loud = float(np.percentile(energy, 95))
    for chunk in chunks[:-1]:
        frame = round(chunk.end * 50)
        around = energy[max(frame - 1, 0) : frame + 1]
        assert float(around.max()) < loud - 30, (chunk, around, loud)


def test_long_silences_are_not_sent(
    long_pause_audio: Path, long_pause_layout: media.Layout, tmp_path: Path
) -> None:
    chunks = split(long_pause_audio, tmp_path)
    check_chunks(chunks, tmp_path, long_pause_layout.duration, 30)
    assert len(chunks) == len(long_pause_layout.phrases)
    for chunk, (start, end) in zip(chunks, long_pause_layout.phrases, strict=True):
        assert chunk.start <= start <= end <= chunk.end
        assert start - chunk.start < 0.4  # a small pad, not the silence
        assert chunk.end - end < 0.4
    for gap_start, gap_end in long_pause_layout.gaps:
        assert covered(chunks, gap_start, gap_end) < 0.8
    sent = sum(c.duration for c in chunks)
    assert sent < long_pause_layout.speech_seconds() + 2 * 0.4 * len(chunks)
    assert sent < 0.6 * long_pause_layout.duration


def test_quiet_recording_is_cut_the_same_way(
    quiet_long_pause_audio: tuple[Path, media.Layout], tmp_path: Path
) -> None:
    path, layout = quiet_long_pause_audio
    chunks = split(path, tmp_path)
    assert len(chunks) == len(layout.phrases)
    for chunk, (start, end) in zip(chunks, layout.phrases, strict=True):
        assert chunk.start <= start + SLACK
        # the last syllable fades into the -80 dBFS noise 40 dB down: its tail is not speech
        assert end - 0.3 <= chunk.end
    assert sum(c.duration for c in chunks) < 0.6 * layout.duration


def test_chunk_audio_is_the_source_audio_at_the_chunk_times(
    long_pause_audio: Path, tmp_path: Path
) -> None:
    reference = media.decode_16k(long_pause_audio)
    chunks = split(long_pause_audio, tmp_path)
    for chunk in chunks:
        samples, rate = soundfile.read(chunk.path, dtype="int16")
        assert rate == RATE
        first = round(chunk.start * RATE)
        assert np.array_equal(samples, reference[first : first + len(samples)])


@pytest.mark.parametrize("fmt", ["flac", "wav", "mp3"])
def test_chunk_files_are_well_formed(speech_video: Path, tmp_path: Path, fmt: str) -> None:
    chunks = split(speech_video, tmp_path, max_chunk_seconds=8, fmt=fmt)
    assert chunks
    for chunk in chunks:
        assert chunk.path.suffix == f".{fmt}"
        info = soundfile.info(str(chunk.path))
        assert info.samplerate == RATE
        assert info.channels == 1
        expected = round(chunk.duration * RATE)
        # The header states the real length: sample-exact for flac and wav; mp3 carries a
        # LAME tag, so decoders trim its encoder delay and padding.
        assert info.frames == expected, (chunk, info.frames)
        assert len(media.decode_16k(chunk.path)) == expected
        # ffprobe's mp3 duration counts whole 36 ms frames, delay and padding included
        probed = media.ffprobe_duration(chunk.path)
        assert probed == pytest.approx(chunk.duration, abs=0.15 if fmt == "mp3" else 0.021)


def test_flac_is_smaller_than_wav(long_pause_audio: Path, tmp_path: Path) -> None:
    flac_dir, wav_dir = tmp_path / "flac", tmp_path / "wav"
    flac_dir.mkdir()
    wav_dir.mkdir()
    flac = split(long_pause_audio, flac_dir)
    wav = split(long_pause_audio, wav_dir, fmt="wav")
    assert [(c.start, c.end) for c in flac] == [(c.start, c.end) for c in wav]
    flac_bytes = sum(c.path.stat().st_size for c in flac)
    wav_bytes = sum(c.path.stat().st_size for c in wav)
    assert flac_bytes < 0.7 * wav_bytes


def test_same_file_same_chunks(speech_video: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("one", "two"):
        workdir = tmp_path / name
        workdir.mkdir()
        chunks = split(speech_video, workdir, max_chunk_seconds=4)
        runs.append([(c.index, c.start, c.end, c.path.read_bytes()) for c in chunks])
    assert runs[0] == runs[1]
    assert len(runs[0]) > 1


def test_progress_is_monotone_and_ends_at_one(speech_video: Path, tmp_path: Path) -> None:
    seen: list[float] = []
    split(speech_video, tmp_path, progress=seen.append)
    assert seen[-1] == 1.0
    assert all(0.0 <= x <= 1.0 for x in seen)
    assert seen == sorted(seen)


@pytest.mark.parametrize("suffix", ["mp3", "ogg", "opus", "m4a", "flac", "mp4", "mkv", "webm"])
def test_every_container_gives_the_same_timeline(
    container_media: dict[str, Path], long_pause_layout: media.Layout, tmp_path: Path, suffix: str
) -> None:
    chunks = split(container_media[suffix], tmp_path)
    assert len(chunks) == len(long_pause_layout.phrases)
    for chunk, (start, end) in zip(chunks, long_pause_layout.phrases, strict=True):
        assert chunk.start <= start + SLACK
        assert end - 0.1 <= chunk.end  # lossy codecs smear the last syllable's tail
        assert chunk.start > start - 0.5


def test_late_audio_keeps_the_source_timeline(
    long_pause_audio: Path, long_pause_layout: media.Layout, tmp_path: Path
) -> None:
    late = tmp_path / "late.mp4"
    offset = 1.5
    media.ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"),
        *("-itsoffset", str(offset), "-i", str(long_pause_audio)),
        *("-t", "22", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast"),
        *("-c:a", "aac", str(late)),
    )
    out = tmp_path / "out"
    out.mkdir()
    chunks = split(late, out)
    assert len(chunks) == len(long_pause_layout.phrases)
    for chunk, (start, end) in zip(chunks, long_pause_layout.phrases, strict=True):
        assert chunk.start <= start + offset + SLACK <= end + offset - SLACK <= chunk.end


def test_a_probe_the_caller_has_is_not_run_again(
    long_pause_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    info = probe(long_pause_audio)
    expected = split(long_pause_audio, first)
    monkeypatch.setenv("FFPROBE_BINARY", "/nonexistent/ffprobe")  # ffprobe cannot run now
    chunks = split(long_pause_audio, second, info=info)
    assert [(c.start, c.end) for c in chunks] == [(c.start, c.end) for c in expected]


def test_silence_gives_no_chunks(silence_audio: Path, tmp_path: Path) -> None:
    chunks = split(silence_audio, tmp_path)
    assert chunks == []
    assert list(tmp_path.iterdir()) == []
    # Nothing is sent, yet the length decoded is known (for media whose header states none).
    assert chunks.decoded_seconds == pytest.approx(10.0, abs=0.02)


def test_odd_file_names(odd_named_media: list[Path], tmp_path: Path) -> None:
    for i, path in enumerate(odd_named_media):
        workdir = tmp_path / f"out {i} ü"
        workdir.mkdir()
        chunks = split(path, workdir)
        assert chunks, path.name
        assert all(c.path.parent == workdir for c in chunks)


def test_bad_arguments(speech_wav: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ogg"):
        split(speech_wav, tmp_path, fmt="ogg")
    with pytest.raises(ValueError, match="at least 1 second"):
        split(speech_wav, tmp_path, max_chunk_seconds=0.5)
    with pytest.raises(NotADirectoryError, match="create it"):
        split(speech_wav, tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_many_minutes(many_minutes_video: tuple[Path, media.Layout], tmp_path: Path) -> None:
    path, layout = many_minutes_video
    seen: list[float] = []
    chunks = split(path, tmp_path, progress=seen.append)
    check_chunks(chunks, tmp_path, layout.duration, 30)
    assert len([x for x in seen if 0 < x < 1]) >= 5
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    for start, end in layout.phrases:
        assert covered(chunks, start + SLACK, end - SLACK) == pytest.approx(end - start - 2 * SLACK)
    for gap_start, gap_end in layout.gaps:
        if gap_end - gap_start >= 3:
            assert covered(chunks, gap_start, gap_end) < 0.8
    for a, b in itertools.pairwise(chunks):
        assert in_a_gap(a.end, layout)
        assert in_a_gap(b.start, layout)
    assert sum(c.duration for c in chunks) < 0.9 * layout.duration


def test_a_caller_that_cancels_from_progress_leaves_no_file(
    speech_video: Path, tmp_path: Path
) -> None:
    class Cancelled(Exception):
        pass

    def progress(fraction: float) -> None:
        # Cancelled once a chunk is on disk and before the end: there is something to remove.
        if fraction < 1.0 and any(tmp_path.iterdir()):
            raise Cancelled

    with pytest.raises(Cancelled):
        split(speech_video, tmp_path, max_chunk_seconds=5, progress=progress)
    assert list(tmp_path.iterdir()) == []


def spans_of(chunks: list[Chunk]) -> list[tuple[float, float]]:
    return [(c.start, c.end) for c in chunks]


@pytest.mark.parametrize("kind", ["pink", "brown", "chord", "melody"])
def test_speech_over_noise_or_music_is_split_like_speech_over_silence(
    speech_over: SpeechOver, kind: str, tmp_path: Path
) -> None:
    clean_dir, noisy_dir = tmp_path / "clean", tmp_path / "noisy"
    clean_dir.mkdir()
    noisy_dir.mkdir()
    clean_path, layout = speech_over(None)
    clean = split(clean_path, clean_dir, max_chunk_seconds=8)
    noisy = split(speech_over(kind)[0], noisy_dir, max_chunk_seconds=8)
    assert noisy.detector == "silero"
    check_chunks(noisy, noisy_dir, layout.duration, 8)
    assert len(noisy) == len(clean)
    for (a_start, a_end), (b_start, b_end) in zip(spans_of(noisy), spans_of(clean), strict=True):
        assert a_start == pytest.approx(b_start, abs=0.1)
        assert a_end == pytest.approx(b_end, abs=0.1)
    for start, end in layout.phrases:
        assert covered(noisy, start, end) == pytest.approx(end - start, abs=0.01)
    for a, b in itertools.pairwise(noisy):
        assert in_a_gap(a.end, layout), a
        assert in_a_gap(b.start, layout), b
    for gap_start, gap_end in layout.gaps:
        if gap_end - gap_start >= 2:
            assert covered(noisy, gap_start, gap_end) < 0.8
    sent = sum(c.duration for c in noisy)
    assert sent == pytest.approx(sum(c.duration for c in clean), abs=0.3)
    assert sent < 0.85 * layout.duration


@pytest.mark.parametrize("kind", ["pink", "melody", "chord"])
def test_noise_or_music_alone_gives_no_chunks(
    background_only: Callable[[str], Path], kind: str, tmp_path: Path
) -> None:
    chunks = split(background_only(kind), tmp_path)
    assert sum(c.duration for c in chunks) < 1.0
    level = tmp_path / "level"
    level.mkdir()
    # What the loudness detector made of it: all of it is sent.
    loud = split(background_only(kind), level, detector="level")
    assert sum(c.duration for c in loud) > 15


def test_the_level_detector_cuts_as_before(long_pause_audio: Path, tmp_path: Path) -> None:
    samples = media.decode_16k(long_pause_audio)
    expected = [(a / 50, b / 50) for a, b in plan_chunks(frame_energy_db(samples, 320), 30)]
    chunks = split(long_pause_audio, tmp_path, detector="level")
    assert chunks.detector == "level"
    assert len(chunks) == len(expected)
    for (start, end), (want_start, want_end) in zip(spans_of(chunks), expected, strict=True):
        assert start == pytest.approx(want_start, abs=0.021)
        assert end == pytest.approx(want_end, abs=0.021)


def test_silero_is_the_default(long_pause_audio: Path, tmp_path: Path) -> None:
    assert split(long_pause_audio, tmp_path).detector == "silero"


def test_without_onnxruntime_silero_is_a_clear_error_and_auto_falls_back(
    long_pause_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "onnxruntime" else real(name, *args),
    )
    with pytest.raises(DetectorUnavailable, match=re.escape('pip install "django-voxtral[vad]"')):
        split(long_pause_audio, tmp_path, detector="silero")
    assert list(tmp_path.iterdir()) == []
    chunks = split(long_pause_audio, tmp_path)
    assert chunks.detector == "level"
    assert len(chunks) == 3


def test_a_missing_model_is_a_clear_error(long_pause_audio: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.onnx"
    with pytest.raises(DetectorUnavailable, match="gone"):
        split(long_pause_audio, tmp_path, detector="silero", model_path=missing)
    assert split(long_pause_audio, tmp_path, model_path=missing).detector == "level"


def test_an_unknown_detector_is_refused(long_pause_audio: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="webrtc"):
        split(long_pause_audio, tmp_path, detector="webrtc")


@pytest.mark.parametrize("detector", ["silero", "level"])
def test_each_detector_gives_the_same_chunks_every_time(
    speech_over: SpeechOver, detector: str, tmp_path: Path
) -> None:
    path = speech_over("melody")[0]
    runs = []
    for name in ("one", "two"):
        workdir = tmp_path / name
        workdir.mkdir()
        chunks = split(path, workdir, max_chunk_seconds=4, detector=detector)
        runs.append([(c.index, c.start, c.end, c.path.read_bytes()) for c in chunks])
    assert runs[0] == runs[1]
    assert len(runs[0]) > 1


def test_jfk_is_cut_between_words(tmp_path: Path) -> None:
    chunks = split(JFK, tmp_path, max_chunk_seconds=5)
    assert len(chunks) >= 3
    _, mask = SileroDetector().feed(media.decode_16k(JFK))  # lags: the end is not needed
    for chunk in chunks[:-1]:
        frame = round(chunk.end * 50)
        if frame < len(mask):
            assert not mask[frame - 1 : frame + 1].any(), chunk
    assert chunks[0].start == pytest.approx(0.3 - 0.25, abs=0.15)
    assert chunks[-1].end == pytest.approx(10.5 + 0.25, abs=0.3)
