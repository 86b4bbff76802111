"""Repetition loops are collapsed to one occurrence and listed in ``dropped``; real repeats stay.

Never judge by the text alone: the times and the report of what was removed are checked too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from django_voxtral.speech.backends import load_backend
from django_voxtral.speech.pipeline import transcribe_media
from django_voxtral.speech.repetitions import collapse_repetitions, collapse_text, find_loops
from django_voxtral.speech.results import DroppedText, Segment, TranscriptionResult, Word


@pytest.mark.parametrize(
    "text",
    [
        "no no no, I said no",
        "thank you, thank you",
        "very very very good",
        "we will we will rock you",
        "the end",
        "",
    ],
)
def test_what_people_say_is_kept(text: str) -> None:
    assert collapse_text(text) == (text, [])


def test_a_phrase_looping_is_kept_once_with_its_sentence_end() -> None:
    loop = "and then we went home " * 6
    text, removed = collapse_text(f"Yesterday {loop.strip()}. The next day")
    assert text == "Yesterday and then we went home. The next day"
    assert removed == [" ".join(["and then we went home"] * 5) + "."]


def test_case_and_punctuation_do_not_hide_a_loop() -> None:
    text, removed = collapse_text("Merci. merci, MERCI! Merci. Merci... merci")
    assert text == "Merci."
    assert len(removed) == 1


def test_one_word_needs_five_repeats_and_the_longest_cover_wins() -> None:
    assert find_loops(["a"] * 4) == []
    [loop] = find_loops(["a"] * 6)
    assert (loop.start, loop.unit, loop.repeats) == (0, 1, 6)
    [loop] = find_loops(["x", "a", "b", "a", "b", "a", "b", "a", "b", "y"])
    assert (loop.start, loop.unit, loop.repeats) == (1, 2, 4)


def test_repeated_segments_are_dropped_with_their_times() -> None:
    result = TranscriptionResult(
        text="ignored",
        segments=(
            Segment(0, 0.0, 2.0, "Welcome to the show."),
            *(Segment(i, 2.0 + i, 3.0 + i, " Thank you for watching.") for i in range(1, 5)),
            Segment(5, 9.0, 10.0, "Goodbye."),
        ),
        duration=10.0,
    )
    cleaned = collapse_repetitions(result)
    assert [s.text.strip() for s in cleaned.segments] == [
        "Welcome to the show.",
        "Thank you for watching.",
        "Goodbye.",
    ]
    assert [s.id for s in cleaned.segments] == [0, 1, 2]
    assert cleaned.text == "Welcome to the show. Thank you for watching. Goodbye."
    [dropped] = cleaned.dropped
    assert dropped.reason == "repetition"
    assert (dropped.start, dropped.end) == pytest.approx((4.0, 7.0))
    assert dropped.text.count("Thank you for watching.") == 3


def test_a_loop_inside_a_segment_and_its_words() -> None:
    spoken = ["I", "think", "so", "so", "so", "so", "so", "so", "so"]
    words = tuple(Word(i * 0.5, i * 0.5 + 0.4, w) for i, w in enumerate(spoken))
    result = TranscriptionResult(
        text=" ".join(spoken),
        segments=(Segment(0, 0.0, 4.4, " ".join(spoken)),),
        words=words,
        duration=5.0,
    )
    cleaned = collapse_repetitions(result)
    assert cleaned.text == "I think so"
    assert [w.text for w in cleaned.words] == ["I", "think", "so"]
    assert cleaned.dropped == (DroppedText(0.0, 4.4, "so so so so so so", "repetition"),)


def test_text_without_segments_and_earlier_drops_are_kept() -> None:
    earlier = DroppedText(1.0, 2.0, "music", "no_speech")
    result = TranscriptionResult(text="go " * 8, duration=3.0, dropped=(earlier,))
    cleaned = collapse_repetitions(result)
    assert cleaned.text == "go"
    assert cleaned.dropped[0] == DroppedText(0.0, 3.0, "go go go go go go go", "repetition")
    assert earlier in cleaned.dropped


def test_a_result_without_loops_is_returned_as_it_is() -> None:
    result = TranscriptionResult(text="fine", segments=(Segment(0, 0.0, 1.0, "fine"),))
    assert collapse_repetitions(result) is result


def test_the_pipeline_collapses_loops_and_says_so(speech_video: Path) -> None:
    stored: list[object] = []
    with load_backend("dummy", text="la " * 12) as backend:
        result = transcribe_media(speech_video, backend, on_chunk=stored.append)
    assert stored, "the dummy answered every chunk"
    assert result.text.split().count("la") == len(stored)
    assert all(d.reason == "repetition" for d in result.dropped)
    assert len(result.dropped) == len(stored)
    assert "dropped" in result.to_contract()
