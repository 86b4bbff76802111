"""The dummy backend (an outbox like Django's locmem mail) and loading backends by name.

Never rely on the order other tests ran in: the outbox is cleared around each test here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from django_voxtral.speech.backends import (
    BACKEND_ALIASES,
    default_backend_name,
    load_backend,
)
from django_voxtral.speech.backends import dummy as dummy_module
from django_voxtral.speech.backends.deepinfra import DeepInfraBackend
from django_voxtral.speech.backends.dummy import DummyBackend, clear_outbox
from django_voxtral.speech.backends.errors import BackendNotConfigured, BadAudio, ServiceUnavailable
from django_voxtral.speech.backends.local import LocalBackend
from django_voxtral.speech.backends.openai import OpenAIBackend
from django_voxtral.speech.backends.options import TranscriptionOptions


@pytest.fixture(autouse=True)
def empty_outbox() -> Iterator[None]:
    clear_outbox()
    yield
    clear_outbox()


def test_records_every_call_in_the_outbox(tones_audio: dict[str, Path]) -> None:
    backend = load_backend("dummy")
    options = TranscriptionOptions(language="fr", initial_prompt="Bonjour")
    backend.transcribe(tones_audio["flac"], options)
    backend.transcribe(tones_audio["wav44stereo"], TranscriptionOptions())
    first, second = dummy_module.outbox
    assert first.audio_path == str(tones_audio["flac"])
    assert first.options == options
    assert first.duration == pytest.approx(4.0)
    assert second.audio_path.endswith("tones-44k-stereo.wav")
    assert second.duration == pytest.approx(4.0)


def test_answer_is_deterministic_and_covers_the_audio(tones_audio: dict[str, Path]) -> None:
    backend = DummyBackend(text="hello there world")
    one = backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="de"))
    two = DummyBackend(text="hello there world").transcribe(
        tones_audio["flac"], TranscriptionOptions(language="de")
    )
    assert one == two
    assert one.text == "hello there world"
    ((segment),) = one.segments
    assert (segment.start, segment.end) == (0.0, pytest.approx(4.0))
    assert [w.text for w in one.words] == ["hello", "there", "world"]
    assert one.words[-1].end == pytest.approx(4.0)
    assert one.language == "de"
    assert one.to_contract()["duration"] == pytest.approx(4.0)


def test_default_text_and_language(tones_audio: dict[str, Path]) -> None:
    result = DummyBackend().transcribe(tones_audio["wav"], TranscriptionOptions())
    assert result.text == "dummy transcript"
    assert result.language == "en"
    translated = DummyBackend(language="fr").transcribe(
        tones_audio["wav"], TranscriptionOptions(task="translate")
    )
    assert translated.language == "en"


def test_can_fail_a_number_of_times(tones_audio: dict[str, Path]) -> None:
    backend = DummyBackend(error=ServiceUnavailable("down for tests"), fail_calls=2)
    for _ in range(2):
        with pytest.raises(ServiceUnavailable, match="down for tests"):
            backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert backend.transcribe(tones_audio["flac"], TranscriptionOptions()).text
    assert len(dummy_module.outbox) == 3  # failed calls are recorded too


def test_can_always_fail(tones_audio: dict[str, Path]) -> None:
    backend = DummyBackend(error=ServiceUnavailable("down"))
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            backend.transcribe(tones_audio["flac"], TranscriptionOptions())


def test_error_option_must_be_a_speech_error() -> None:
    with pytest.raises(BackendNotConfigured, match="SpeechError"):
        DummyBackend(error="boom")


def test_unreadable_audio_is_bad_audio(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"nope")
    with pytest.raises(BadAudio, match=r"x\.wav"):
        DummyBackend().transcribe(path, TranscriptionOptions())


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("deepinfra", DeepInfraBackend),
        ("openai", OpenAIBackend),
        ("local", LocalBackend),
        ("dummy", DummyBackend),
        ("django_voxtral.speech.backends.dummy.DummyBackend", DummyBackend),
    ],
)
def test_load_backend_by_alias_or_path(name: str, cls: type) -> None:
    backend = load_backend(name)
    assert type(backend) is cls
    backend.close()


def test_aliases_are_the_four_backends() -> None:
    assert sorted(BACKEND_ALIASES) == ["deepinfra", "dummy", "local", "openai"]


@pytest.mark.parametrize(
    "name",
    [
        "whisper",
        "django_voxtral.speech.backends.nope.Backend",
        "django_voxtral.speech.results.Word",
    ],
)
def test_unknown_backend_names_the_choices(name: str) -> None:
    with pytest.raises(BackendNotConfigured) as caught:
        load_backend(name)
    message = str(caught.value)
    assert name in message
    assert all(alias in message for alias in BACKEND_ALIASES)


def test_options_reach_the_backend() -> None:
    backend = load_backend("deepinfra", model="mistralai/Voxtral-Mini-3B-2507", token="t" * 8)
    assert backend.model == "mistralai/Voxtral-Mini-3B-2507"


def test_default_backend_follows_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPINFRA_TOKEN", raising=False)
    assert default_backend_name() == "local"
    monkeypatch.setenv("DEEPINFRA_TOKEN", "x")
    assert default_backend_name() == "deepinfra"


def test_speakers_option_gives_one_segment_per_speaker_in_turn(
    tones_audio: dict[str, Path],
) -> None:
    backend = DummyBackend(text="one two three four five", speakers=["speaker_0", "speaker_1"])
    result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [(s.text, s.speaker) for s in result.segments] == [
        ("one two three", "speaker_0"),
        ("four five", "speaker_1"),
    ]
    assert [s.id for s in result.segments] == [0, 1]
    assert result.segments[0].start == 0.0
    assert result.segments[0].end == result.segments[1].start == result.words[3].start
    assert result.segments[-1].end == pytest.approx(4.0)
    assert result.speakers == ("speaker_0", "speaker_1")


def test_more_speakers_than_words_gives_a_turn_per_word(tones_audio: dict[str, Path]) -> None:
    backend = DummyBackend(text="hi there", speakers=["A", "B", "C"])
    result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [(s.text, s.speaker) for s in result.segments] == [("hi", "A"), ("there", "B")]


@pytest.mark.parametrize("speakers", ["speaker_0", ["A", ""], [0, 1], 2])
def test_speakers_option_must_be_labels(speakers: object) -> None:
    with pytest.raises(BackendNotConfigured, match="speakers"):
        DummyBackend(speakers=speakers)
