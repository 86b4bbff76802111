"""speech/retime.py: edited words keep their times; segments split and merged with their words.

Pure functions on plain data: no Django, no media.
"""

from __future__ import annotations

import itertools

import pytest

from django_voxtral.speech.results import Word
from django_voxtral.speech.retime import (
    TimedText,
    clamp_words,
    merge,
    retime_words,
    split_at_time,
    split_at_word,
)

# "the quick brown fox jumps" said from 10 s to 15 s, one word a second.
OLD = tuple(
    Word(10.0 + i, 10.0 + i + 0.8, text, "speaker_0")
    for i, text in enumerate(["the", "quick", "brown", "fox", "jumps"])
)


def times(words: tuple[Word, ...]) -> list[tuple[str, float, float]]:
    return [(w.text, w.start, w.end) for w in words]


def retimed(text: str) -> list[tuple[str, float, float]]:
    return times(retime_words(OLD, text, start=10.0, end=15.0, speaker="speaker_0"))


def test_the_same_text_keeps_every_time() -> None:
    assert retimed("the quick brown fox jumps") == times(OLD)


def test_case_and_punctuation_do_not_move_a_time() -> None:
    assert retimed("The quick, brown fox jumps!") == [
        ("The", 10.0, 10.8),
        ("quick,", 11.0, 11.8),
        ("brown", 12.0, 12.8),
        ("fox", 13.0, 13.8),
        ("jumps!", 14.0, 14.8),
    ]


def test_a_word_replaced_one_for_one_keeps_its_time() -> None:
    assert retimed("the quick red fox jumps")[2] == ("red", 12.0, 12.8)


def test_inserted_words_are_spread_between_their_unchanged_neighbours() -> None:
    assert retimed("the quick very brown and fox jumps") == [
        ("the", 10.0, 10.8),
        ("quick", 11.0, 11.8),
        ("very", 11.8, 12.0),  # between quick's end and brown's start
        ("brown", 12.0, 12.8),
        ("and", 12.8, 13.0),
        ("fox", 13.0, 13.8),
        ("jumps", 14.0, 14.8),
    ]


def test_a_changed_run_is_spread_evenly_over_its_gap() -> None:
    # "brown fox" (two words) becomes "dog that was" (three): between 11.8 and 14.0.
    words = retimed("the quick dog that was jumps")
    assert words[:2] == [("the", 10.0, 10.8), ("quick", 11.0, 11.8)]
    assert words[2:5] == [
        ("dog", 11.8, pytest.approx(12.533, abs=0.001)),
        ("that", pytest.approx(12.533, abs=0.001), pytest.approx(13.267, abs=0.001)),
        ("was", pytest.approx(13.267, abs=0.001), 14.0),
    ]
    assert words[5] == ("jumps", 14.0, 14.8)


def test_words_added_at_the_edges_use_the_segment_span() -> None:
    words = retimed("so the quick brown fox jumps high")
    assert words[0] == ("so", 10.0, 10.0)  # nothing before "the" (10.0): a zero-length word
    assert words[-1] == ("high", 14.8, 15.0)


def test_new_words_take_the_speaker_given_and_kept_ones_keep_theirs() -> None:
    words = retime_words(OLD, "the quick brown fox leaps over", start=10, end=15, speaker="Alice")
    assert [w.speaker for w in words] == ["speaker_0"] * 4 + ["Alice", "Alice"]


def test_no_old_words_means_no_invented_times() -> None:
    assert retime_words((), "hello there", start=0, end=2) == ()
    assert retime_words(OLD, "   ", start=10, end=15) == ()


def test_times_always_rise_and_stay_inside_the_span() -> None:
    for text in ["jumps fox brown quick the", "a b c d e f g h i j", "fox", "the the the"]:
        words = retime_words(OLD, text, start=10.0, end=15.0)
        assert [w.text for w in words] == text.split()
        assert all(10.0 <= w.start <= w.end <= 15.0 for w in words)
        assert all(a.start <= b.start for a, b in itertools.pairwise(words))


def test_clamp_words_moves_words_inside_a_nudged_span() -> None:
    assert times(clamp_words(OLD, 10.5, 13.5))[0] == ("the", 10.5, 10.8)
    assert times(clamp_words(OLD, 10.5, 13.5))[-1] == ("jumps", 13.5, 13.5)


SEGMENT = TimedText(10.0, 15.0, "the quick brown fox jumps", OLD, "speaker_0")


def test_split_at_a_time_puts_the_words_said_before_it_first() -> None:
    first, second = split_at_time(SEGMENT, 12.9)
    assert (first.start, first.end, first.text) == (10.0, 12.9, "the quick brown")
    assert (second.start, second.end, second.text) == (12.9, 15.0, "fox jumps")
    assert times(first.words) == times(OLD[:3])
    assert times(second.words) == times(OLD[3:])
    assert first.speaker == second.speaker == "speaker_0"


def test_split_keeps_a_word_on_each_side() -> None:
    first, second = split_at_time(SEGMENT, 10.1)
    assert (first.text, second.text) == ("the", "quick brown fox jumps")
    assert first.words[0].end == 10.1  # clamped to its half


def test_split_without_word_times_goes_by_the_share_of_the_text() -> None:
    plain = TimedText(0.0, 10.0, "aaaa bbbb cccc dddd")
    first, second = split_at_time(plain, 5.0)
    assert (first.text, second.text) == ("aaaa bbbb", "cccc dddd")
    assert first.words == second.words == ()


def test_split_at_a_word_cuts_in_the_gap_before_it() -> None:
    first, second = split_at_word(SEGMENT, 2)
    assert (first.text, second.text) == ("the quick", "brown fox jumps")
    assert first.end == second.start == 11.9  # between quick's end (11.8) and brown (12.0)


@pytest.mark.parametrize("at", [10.0, 15.0, 9.0, 20.0])
def test_split_outside_the_segment_is_refused(at: float) -> None:
    with pytest.raises(ValueError, match="not inside the segment"):
        split_at_time(SEGMENT, at)


def test_one_word_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="one word"):
        split_at_time(TimedText(0.0, 1.0, "hello"), 0.5)
    with pytest.raises(ValueError, match="give 1 to 4"):
        split_at_word(SEGMENT, 5)


def test_merge_joins_text_words_and_span() -> None:
    first, second = split_at_time(SEGMENT, 12.9)
    merged = merge(first, second)
    assert (merged.start, merged.end, merged.text) == (10.0, 15.0, SEGMENT.text)
    assert times(merged.words) == times(OLD)
    assert merged.speaker == "speaker_0"
