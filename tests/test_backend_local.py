"""The offline backend: pocketsphinx on the JFK clip (44.1 kHz stereo), refusals, thread safety.

Never touch the network: a fixture makes any connection attempt fail loudly.
"""

from __future__ import annotations

import itertools
import re
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile

from django_voxtral.backends import load_backend
from django_voxtral.backends.errors import BackendNotConfigured, BadAudio, UnsupportedOption
from django_voxtral.backends.local import LocalBackend, group_words, resample
from django_voxtral.backends.options import TranscriptionOptions
from django_voxtral.results import TranscriptionResult, Word

MEDIA = Path("/work/shared/media")
JFK = MEDIA / "jfk.flac"

pytest.importorskip("pocketsphinx")


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the local backend tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def backend() -> Iterator[LocalBackend]:
    local = load_backend("local")
    assert isinstance(local, LocalBackend)
    with local:
        yield local


@pytest.fixture(scope="module")
def jfk_result(backend: LocalBackend) -> TranscriptionResult:
    if not JFK.exists():
        pytest.skip("shared/media/jfk.flac is not here")
    return backend.transcribe(JFK, TranscriptionOptions())


def test_jfk_word_error_rate(jfk_result: TranscriptionResult, no_network: None) -> None:
    reference = normalize((MEDIA / "jfk.txt").read_text())
    error_rate = jiwer.wer(reference, normalize(jfk_result.text))
    assert error_rate <= 0.35, (error_rate, jfk_result.text)


def test_jfk_words_are_timed_in_order_within_the_audio(jfk_result: TranscriptionResult) -> None:
    duration = soundfile.info(str(JFK)).duration
    assert jfk_result.duration == pytest.approx(duration, abs=0.01)
    assert jfk_result.input_length_ms == round(duration * 1000)
    words = jfk_result.words
    assert len(words) >= 15
    assert all(0 <= w.start < w.end <= duration for w in words)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    # No fillers or alternate-pronunciation markers leak into the text.
    assert not [w.text for w in words if not re.fullmatch(r"[a-z']+", w.text)]
    assert jfk_result.text == " ".join(w.text for w in words)
    assert jfk_result.language == "en"


def test_jfk_segments_cover_the_words(jfk_result: TranscriptionResult) -> None:
    segments = jfk_result.segments
    assert segments and [s.id for s in segments] == list(range(len(segments)))
    assert " ".join(s.text for s in segments) == jfk_result.text
    assert all(s.end - s.start <= 10.0 for s in segments)
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))
    # The clip has a long pause after "americans": there is a segment break.
    assert len(segments) >= 2


def test_translate_is_refused(backend: LocalBackend) -> None:
    with pytest.raises(UnsupportedOption, match="cannot translate"):
        backend.transcribe(JFK, TranscriptionOptions(task="translate"))


def test_other_languages_are_refused(backend: LocalBackend) -> None:
    with pytest.raises(UnsupportedOption) as caught:
        backend.transcribe(JFK, TranscriptionOptions(language="fr"))
    assert "'fr'" in str(caught.value) and "en" in str(caught.value)
    assert backend.supports_translate is False
    assert backend.supports_language_detection is False
    assert backend.languages == frozenset({"en"})


def test_threads_take_turns_on_one_decoder(
    backend: LocalBackend, tmp_path: Path, no_network: None
) -> None:
    # A 16 kHz mono piece of the clip, as the pipeline's chunks are.
    data, rate = soundfile.read(str(JFK), dtype="float64", always_2d=True)
    piece = resample(data.mean(axis=1), rate, 16_000)[: 16_000 * 3]
    path = tmp_path / "piece.wav"
    soundfile.write(str(path), piece, 16_000, subtype="PCM_16")
    results: list[TranscriptionResult] = []

    def work() -> None:
        results.append(backend.transcribe(path, TranscriptionOptions(language="en")))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    texts = {r.text for r in results}
    assert len(texts) == 1 and texts != {""}
    assert {r.words for r in results} == {results[0].words}


def test_unreadable_file_is_bad_audio(backend: LocalBackend, tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    with pytest.raises(BadAudio, match=r"notes\.wav.*convert"):
        backend.transcribe(path, TranscriptionOptions())


def test_missing_engine_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # import now raises ImportError
    local = LocalBackend()
    with pytest.raises(BackendNotConfigured, match=r'pip install "django-voxtral\[local\]"'):
        local.transcribe(JFK, TranscriptionOptions())


def test_unknown_options_are_refused() -> None:
    with pytest.raises(BackendNotConfigured, match="base_url"):
        LocalBackend(base_url="http://example.com")


def test_resample_keeps_length_and_a_tone() -> None:
    rate = 44_100
    t = np.arange(rate) / rate
    out = resample(np.sin(2 * np.pi * 440 * t), rate, 16_000)
    assert out.size == 16_000
    assert int(np.argmax(np.abs(np.fft.rfft(out)))) == 440  # 1 Hz per bin over one second
    # A tone above the new Nyquist limit must not fold back into the speech band.
    high = resample(np.sin(2 * np.pi * 12_000 * t), rate, 16_000)
    assert np.abs(high).max() < 0.01


def test_resample_in_blocks_matches_one_transform() -> None:
    rng = np.random.default_rng(7)
    for rate in (44_100, 22_050, 48_000):
        noise = rng.standard_normal(rate * 5 + 3)
        whole = resample(noise, rate, 16_000, block_seconds=3600)
        blocks = resample(noise, rate, 16_000, block_seconds=1.0)
        assert blocks.size == whole.size == round(noise.size * 16_000 / rate)
        # Seams sit inside margins that are thrown away; only the file's own ends differ.
        middle = slice(16_000, -16_000)
        assert np.abs(blocks[middle] - whole[middle]).max() < 0.01 * np.abs(whole).max()


def test_group_words_splits_at_pauses_and_length() -> None:
    words = [Word(0.0, 0.4, "a"), Word(0.5, 0.9, "b"), Word(2.0, 2.3, "c"), Word(2.4, 13.0, "d")]
    segments = group_words(words, pause=0.5, max_seconds=10.0)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.0, 0.9, "a b"),
        (2.0, 2.3, "c"),
        (2.4, 13.0, "d"),
    ]
    assert group_words([], pause=0.5, max_seconds=10.0) == ()
