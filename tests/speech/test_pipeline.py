"""The pipeline end to end: real ffmpeg on generated media, chunks sent at once, results merged.

Uses the dummy backend (in memory) and the offline engine; HTTP backends are in test_pipeline_http.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import ffmpeg_bridge
from django_voxtral.speech.backends import dummy, load_backend
from django_voxtral.speech.backends.base import AudioPath
from django_voxtral.speech.backends.dummy import DummyBackend
from django_voxtral.speech.backends.errors import ServiceUnavailable, UnsupportedOption
from django_voxtral.speech.backends.options import TranscriptionOptions
from django_voxtral.speech.pipeline import ChunkFailed, PipelineProgress, transcribe_media
from django_voxtral.speech.results import ChunkResult, TranscriptionResult
from tests import make_media as media
from tests.data import JFK, JFK_TEXT
from tests.testapp.backends import EnglishOnlyBackend


@pytest.fixture(autouse=True)
def _clean_outbox() -> None:
    dummy.clear_outbox()


def test_result_is_in_the_media_timeline(
    long_pause_audio: Path, long_pause_layout: media.Layout
) -> None:
    pieces: list[ChunkResult] = []
    result = transcribe_media(long_pause_audio, DummyBackend(), on_chunk=pieces.append)

    info = ffmpeg_bridge.probe(long_pause_audio)
    assert result.duration == pytest.approx(info.duration)
    assert result.input_length_ms == round(info.duration * 1000)
    assert len(pieces) == len(dummy.outbox) == len(long_pause_layout.phrases)
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    # The dummy answers one segment per chunk spanning the chunk's audio: after merging, each
    # segment sits where its chunk sits in the source, around one phrase, never over a pause.
    for segment, (start, end) in zip(result.segments, long_pause_layout.phrases, strict=True):
        assert segment.start <= start + 0.05
        assert segment.end >= end - 0.05
        assert segment.end - segment.start < (end - start) + 1.5
    assert result.text == " ".join(["dummy transcript"] * len(pieces))
    assert result.language == "en"


def test_on_chunk_runs_in_the_calling_thread(long_pause_audio: Path) -> None:
    threads: set[int] = set()
    transcribe_media(
        long_pause_audio,
        DummyBackend(),
        concurrency=4,
        on_chunk=lambda piece: threads.add(threading.get_ident()),
    )
    assert threads == {threading.get_ident()}


def test_stored_chunks_are_not_sent_again(long_pause_audio: Path) -> None:
    pieces: list[ChunkResult] = []
    first = transcribe_media(long_pause_audio, DummyBackend(), on_chunk=pieces.append)
    sent = len(dummy.outbox)
    assert sent >= 3

    dummy.clear_outbox()
    again = transcribe_media(long_pause_audio, DummyBackend(), done_chunks=pieces)
    assert dummy.outbox == []
    assert again.to_contract() == first.to_contract()

    dummy.clear_outbox()
    transcribe_media(long_pause_audio, DummyBackend(), done_chunks=pieces[:1])
    assert len(dummy.outbox) == sent - 1


def test_peaks_are_handed_over_once_before_any_chunk_is_sent(
    long_pause_audio: Path, long_pause_layout: media.Layout
) -> None:
    events: list[str] = []
    handed: list[ffmpeg_bridge.Peaks] = []

    def peaks(p: ffmpeg_bridge.Peaks) -> None:
        events.append(f"peaks after {len(dummy.outbox)} sent")
        handed.append(p)

    result = transcribe_media(
        long_pause_audio,
        DummyBackend(),
        on_peaks=peaks,
        on_chunk=lambda piece: events.append("chunk"),
    )
    assert events[0] == "peaks after 0 sent"
    assert events.count("peaks after 0 sent") == 1
    (p,) = handed
    # Over the whole media, pauses included, in the source's timeline.
    assert p.duration == pytest.approx(result.duration, abs=0.05)
    assert len(p) == len(p.maxs) == -(-p.duration // p.seconds_per_peak)
    loud = [i * p.seconds_per_peak for i, hi in enumerate(p.maxs) if hi > 0.05]
    start = long_pause_layout.phrases[0][0]
    assert min(loud) == pytest.approx(start, abs=0.1)
    quiet_start, quiet_end = long_pause_layout.gaps[0]
    assert not [t for t in loud if quiet_start + 0.1 < t < quiet_end - 0.1]
    # The result's contract does not carry them.
    assert "peaks" not in result.to_contract()


def test_progress_goes_up_to_done(long_pause_audio: Path) -> None:
    seen: list[PipelineProgress] = []
    transcribe_media(long_pause_audio, DummyBackend(), progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert seen[0].stage == "splitting"
    assert seen[-1] == PipelineProgress("done", 1.0, 3, 3)
    transcribing = [p for p in seen if p.stage == "transcribing"]
    assert [p.chunks_done for p in transcribing] == [0, 1, 2, 3]


def test_a_chunk_that_fails_names_itself_and_its_times(long_pause_audio: Path) -> None:
    backend = DummyBackend(error=ServiceUnavailable("capacity"), fail_calls=None)
    with pytest.raises(ChunkFailed) as caught:
        transcribe_media(long_pause_audio, backend, concurrency=1)
    error = caught.value
    assert error.chunk_index == 0
    assert error.start < error.end
    assert str(error).startswith(f"chunk 0 (0:00:0{int(error.start)}")
    assert "capacity" in str(error)
    assert isinstance(error.cause, ServiceUnavailable)
    assert len(dummy.outbox) == 1, "no chunk is started after a failure"


class DownFromThirdChunk(DummyBackend):
    """A service that goes down in the middle of a job."""

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        if Path(audio).name.startswith("chunk-00002"):
            raise ServiceUnavailable("gone")
        return super().transcribe(audio, options)


def test_finished_chunks_are_handed_over_before_the_failure(long_pause_audio: Path) -> None:
    pieces: list[ChunkResult] = []
    with pytest.raises(ChunkFailed) as caught:
        transcribe_media(
            long_pause_audio, DownFromThirdChunk(), concurrency=3, on_chunk=pieces.append
        )
    assert sorted(p.index for p in pieces) == [0, 1]
    assert caught.value.chunk_index == 2


def test_options_are_checked_before_any_work(tmp_path: Path) -> None:
    missing = tmp_path / "not there.mp4"
    with pytest.raises(UnsupportedOption, match="translate"):
        transcribe_media(missing, EnglishOnlyBackend(), TranscriptionOptions(task="translate"))
    with pytest.raises(UnsupportedOption, match="fr"):
        transcribe_media(missing, EnglishOnlyBackend(), TranscriptionOptions(language="fr"))


def test_media_errors_reach_the_caller(video_without_audio: Path, tmp_path: Path) -> None:
    with pytest.raises(ffmpeg_bridge.NoAudioTrack):
        transcribe_media(video_without_audio, DummyBackend())
    text = tmp_path / "notes.mp4"
    text.write_text("just text\n")
    with pytest.raises(ffmpeg_bridge.NotAMediaFile):
        transcribe_media(text, DummyBackend())
    assert dummy.outbox == []


def test_silence_gives_an_empty_transcript(silence_audio: Path) -> None:
    result = transcribe_media(silence_audio, DummyBackend())
    assert result.text == ""
    assert result.segments == ()
    assert result.duration == pytest.approx(10.0, abs=0.05)
    assert dummy.outbox == []


#: Plain sentences the offline engine's general English model knows well.
PLAIN = ("Please call me when you get home.", "I would like a cup of coffee.")


@pytest.fixture(scope="module")
def plain_speech_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PLAIN spoken by espeak-ng (en-us+f3) 4 s apart, as MP4."""
    folder = tmp_path_factory.mktemp("plain")
    wav = folder / "plain.wav"
    media.ffmpeg(
        "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono:d=1", str(folder / "lead.wav")
    )  # fmt: skip
    parts = [folder / "lead.wav"]
    for i, text in enumerate(PLAIN):
        spoken = folder / f"{i}.wav"
        media._run(["espeak-ng", "-v", "en-us+f3", "-s", "150", "-w", str(spoken), text])
        parts.append(spoken)
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    graph = "[0:a][1:a]concat=n=2:v=0:a=1,apad=pad_dur=4[x];[x][2:a]concat=n=2:v=0:a=1[a]"
    media.ffmpeg(*inputs, "-filter_complex", graph, "-map", "[a]", str(wav))
    return media.encode_video(wav, folder / "plain speech.mp4")


def test_video_with_speech_through_the_offline_engine(plain_speech_video: Path) -> None:
    import jiwer

    with load_backend("local") as backend:
        result = transcribe_media(
            plain_speech_video, backend, TranscriptionOptions(language="en"), max_chunk_seconds=30
        )

    def words(text: str) -> str:
        return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())

    error_rate = jiwer.wer(words(" ".join(PLAIN)), words(result.text))
    assert error_rate <= 0.1, (error_rate, result.text)
    assert result.language == "en"
    # Two phrases 4 s apart: two chunks, and the second's words are shifted into the video's
    # timeline (after the pause), not left at the chunk's own zero.
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert starts[0] >= 0.8
    assert result.words[-1].end <= result.duration + 0.05
    assert any(w.start > 5.0 for w in result.words)
    assert not any(2.9 < w.start < 5.0 for w in result.words), "no word inside the pause"


@pytest.fixture
def chunk_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pipeline's temporary directories go here, so a test can see none is left behind."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_chunk_files_are_removed_after_success_and_failure(
    long_pause_audio: Path, chunk_dirs: Path
) -> None:
    transcribe_media(long_pause_audio, DummyBackend())
    assert len(dummy.outbox) == 3
    assert list(chunk_dirs.iterdir()) == []
    with pytest.raises(ChunkFailed):
        transcribe_media(long_pause_audio, DummyBackend(error=ServiceUnavailable("down")))
    assert list(chunk_dirs.iterdir()) == []


def test_an_on_chunk_that_raises_stops_the_job_at_once(
    long_pause_audio: Path, chunk_dirs: Path
) -> None:
    class Full(Exception):
        pass

    def store(piece: ChunkResult) -> None:
        raise Full(piece.index)

    with pytest.raises(Full):
        transcribe_media(long_pause_audio, DummyBackend(), concurrency=1, on_chunk=store)
    assert len(dummy.outbox) == 1, "no chunk is sent after the caller failed to store one"
    assert list(chunk_dirs.iterdir()) == []


def test_media_without_a_stated_duration_gets_the_decoded_one(
    long_pause_audio: Path, long_pause_layout: media.Layout, tmp_path: Path
) -> None:
    webm = media.encode_streamed_webm(long_pause_audio, tmp_path / "recorded.webm")
    assert ffmpeg_bridge.probe(webm).duration == 0.0
    result = transcribe_media(webm, DummyBackend())
    assert result.duration == pytest.approx(long_pause_layout.duration, abs=0.05)
    assert result.input_length_ms == round(result.duration * 1000)
    assert result.segments[-1].end <= result.duration


@pytest.mark.parametrize("seconds", [0.0, 0.05])
def test_empty_and_tiny_media_give_an_empty_transcript(tmp_path: Path, seconds: float) -> None:
    wav = media.write_wav(np.zeros(round(seconds * media.RATE), np.float32), tmp_path / "e.wav")
    result = transcribe_media(wav, DummyBackend())
    assert (result.text, result.segments, result.words) == ("", (), ())
    assert result.duration == pytest.approx(seconds, abs=0.001)
    assert dummy.outbox == []


def test_a_word_under_a_second_long_is_sent(tmp_path: Path) -> None:
    wav = media.write_wav(media.speak("Yes.", tmp_path), tmp_path / "yes.wav")
    length = ffmpeg_bridge.probe(wav).duration
    assert length < 1.0
    result = transcribe_media(wav, DummyBackend())
    assert len(dummy.outbox) == 1
    # The one chunk ends at the file's end, never after it.
    assert result.segments[0].start == 0.0
    assert result.segments[0].end == pytest.approx(length, abs=0.002)


def test_chunking_jfk_at_10_s_is_not_worse_than_whole() -> None:
    from bench import wer

    figures = wer.measure()  # the offline engine on tests/data/jfk.flac, as `make bench`
    assert figures.chunks == 2
    assert figures.whole <= 0.35
    # One word of the 22 may differ: the engine's int8 kernels and versions vary by CPU and
    # release (seen: "as what" for "ask what" in the cut clip only). BENCHMARKS.md has the figures.
    one_word = 1 / 22
    assert figures.chunked_10s <= figures.whole + one_word + 1e-9


class PairingBackend(DummyBackend):
    """Packs neighbouring chunks two by two, as an engine with a fixed window would."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.packs: list[int] = []

    def pack_sizes(self, durations: Sequence[float]) -> list[int]:
        return [2] * (len(durations) // 2) + [1] * (len(durations) % 2)

    def transcribe_many(
        self, audios: Sequence[str | Path], options: TranscriptionOptions
    ) -> list[TranscriptionResult]:
        self.packs.append(len(audios))
        return super().transcribe_many(audios, options)


def test_packs_follow_the_backends_sizes_and_each_chunk_is_stored(long_pause_audio: Path) -> None:
    backend = PairingBackend()
    pieces: list[ChunkResult] = []
    result = transcribe_media(long_pause_audio, backend, concurrency=4, on_chunk=pieces.append)
    count = len(pieces)
    assert count >= 3
    assert backend.packs == [2] * (count // 2)  # single leftovers go through transcribe()
    assert sorted(p.index for p in pieces) == list(range(count))
    assert len(result.segments) == count


def test_pack_sizes_that_do_not_cover_the_chunks_are_a_clear_error(
    long_pause_audio: Path,
) -> None:
    class Broken(DummyBackend):
        def pack_sizes(self, durations: Sequence[float]) -> list[int]:
            return [1]

    with pytest.raises(ValueError, match="pack_sizes"):
        transcribe_media(long_pause_audio, Broken())


@pytest.fixture(scope="module")
def jfk_between_music(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """Twelve seconds of music, the JFK clip, twelve more seconds of music, as MP4 video."""
    folder = tmp_path_factory.mktemp("music-jfk")
    resampled = media.decode(JFK)
    lead = 0.3 * media.music(12.0)
    tail = 0.3 * media.music(12.0, "chord")
    audio = np.concatenate([lead, resampled, tail])
    wav = media.write_wav(audio, folder / "music jfk music.wav")
    start = len(lead) / media.RATE
    return media.encode_video(wav, folder / "music jfk music.mp4"), start, start + 11.0


def test_long_music_stretches_give_no_text_through_the_offline_engine(
    jfk_between_music: tuple[Path, float, float],
) -> None:
    import jiwer

    path, speech_start, speech_end = jfk_between_music
    with load_backend("local") as backend:
        result = transcribe_media(path, backend, TranscriptionOptions())
    words = " ".join(re.sub(r"[^a-z' ]+", " ", result.text.lower()).split())
    reference = " ".join(JFK_TEXT.read_text().split())
    assert jiwer.wer(reference, words) <= 0.05, result.text
    assert result.language == "en"
    assert result.segments
    for segment in result.segments:
        assert speech_start - 0.5 <= segment.start and segment.end <= speech_end + 0.5, segment
