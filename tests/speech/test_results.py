"""Tests of the normalized result: merging chunk results, reading the contract, round trips.

Pure data; never touch media, HTTP or Django here.
"""

from __future__ import annotations

import json
import random

import pytest

from django_voxtral.speech.results import (
    ChunkResult,
    InferenceStatus,
    Segment,
    TranscriptionResult,
    Word,
    merge_chunk_results,
)

# The contract's own example, checked against docs/contract/speech-api.md there.
from tests.speech.test_formats import CONTRACT_EXAMPLE as CONTRACT_RESPONSE


def chunk(
    index: int,
    start: float,
    end: float,
    segments: list[tuple[float, float, str]],
    *,
    language: str | None = "en",
    cost: float = 0.0,
    runtime_ms: int = 0,
    tokens: tuple[int, int] = (0, 0),
    text: str | None = None,
) -> ChunkResult:
    """A chunk's result as a service would answer it: times relative to the chunk."""
    segs = tuple(Segment(i, s, e, t) for i, (s, e, t) in enumerate(segments))
    words = tuple(
        Word(s + k * (e - s) / len(t.split()), s + (k + 1) * (e - s) / len(t.split()), w)
        for s, e, t in segments
        for k, w in enumerate(t.split())
    )
    result = TranscriptionResult(
        text=" ".join(t for _, _, t in segments) if text is None else text,
        segments=segs,
        language=language,
        words=words,
        duration=end - start,
        input_length_ms=round((end - start) * 1000),
        inference_status=InferenceStatus(
            runtime_ms=runtime_ms,
            cost=cost,
            tokens_generated=tokens[0],
            tokens_input=tokens[1],
        ),
    )
    return ChunkResult(index, start, end, result)


@pytest.fixture
def pieces() -> list[ChunkResult]:
    return [
        chunk(0, 0.0, 28.5, [(0.5, 4.0, "Hello there."), (6.25, 9.0, "How are you?")], cost=0.001),
        # A long silence was skipped between 28.5 and 61.0: the next chunk starts later.
        chunk(1, 61.0, 90.0, [(1.0, 3.5, "Fine, thanks.")], runtime_ms=700, cost=0.002),
        chunk(2, 90.0, 100.0, [(0.0, 2.0, "Bye.")], runtime_ms=300, tokens=(5, 7)),
    ]


def test_merge_shifts_segments_and_words_by_each_chunks_start(
    pieces: list[ChunkResult],
) -> None:
    merged = merge_chunk_results(pieces, duration=100.0)
    expected = [(p.start + s.start, p.start + s.end) for p in pieces for s in p.result.segments]
    got = [(s.start, s.end) for s in merged.segments]
    assert [t for pair in got for t in pair] == pytest.approx([t for p in expected for t in p])
    assert [s.text for s in merged.segments] == [s.text for p in pieces for s in p.result.segments]
    expected_words = [(p.start + w.start, p.start + w.end) for p in pieces for w in p.result.words]
    got_words = [(w.start, w.end) for w in merged.words]
    # Shifted times are kept at millisecond precision.
    assert [t for pair in got_words for t in pair] == pytest.approx(
        [t for pair in expected_words for t in pair], abs=5e-4
    )
    assert [w.text for w in merged.words] == [w.text for p in pieces for w in p.result.words]


def test_merged_segment_times_are_the_services_not_the_chunks(
    pieces: list[ChunkResult],
) -> None:
    merged = merge_chunk_results(pieces, duration=100.0)
    chunk_edges = {p.start for p in pieces} | {p.end for p in pieces}
    # The first segment starts half a second into its chunk, the second chunk's ends before it.
    assert merged.segments[0].start == pieces[0].start + pieces[0].result.segments[0].start
    assert merged.segments[2].end < pieces[1].end
    assert not any(s.start in chunk_edges and s.end in chunk_edges for s in merged.segments)
    # No segment covers the skipped silence between the first two chunks.
    assert not any(s.start < pieces[1].start < s.end for s in merged.segments)


def test_merge_renumbers_ids_and_joins_text(pieces: list[ChunkResult]) -> None:
    merged = merge_chunk_results(pieces, duration=100.0)
    assert [s.id for s in merged.segments] == list(range(len(merged.segments)))
    assert merged.text == " ".join(p.result.text.strip() for p in pieces)


def test_merge_sums_cost_runtime_and_tokens(pieces: list[ChunkResult]) -> None:
    merged = merge_chunk_results(pieces, duration=100.0, request_id="job-1")
    status = merged.inference_status
    assert status.cost == pytest.approx(sum(p.result.inference_status.cost for p in pieces))
    assert status.runtime_ms == sum(p.result.inference_status.runtime_ms for p in pieces)
    assert status.tokens_generated == sum(
        p.result.inference_status.tokens_generated for p in pieces
    )
    assert status.tokens_input == sum(p.result.inference_status.tokens_input for p in pieces)
    assert status.status == "succeeded"
    assert merged.request_id == "job-1"


def test_merge_takes_duration_and_length_of_the_whole_media(pieces: list[ChunkResult]) -> None:
    merged = merge_chunk_results(pieces, duration=123.4567)
    assert merged.duration == 123.4567
    assert merged.input_length_ms == round(123.4567 * 1000)
    assert merged.input_length_ms != sum(p.result.input_length_ms for p in pieces)


def test_merge_language_is_that_of_most_audio_not_most_chunks() -> None:
    long_english = chunk(0, 0.0, 25.0, [(0.0, 5.0, "one")], language="en")
    short_french = [
        chunk(1, 25.0, 30.0, [(0.0, 1.0, "deux")], language="fr"),
        chunk(2, 30.0, 35.0, [(0.0, 1.0, "trois")], language="fr"),
    ]
    assert merge_chunk_results([long_english, *short_french], duration=35).language == "en"
    more_french = [*short_french, chunk(3, 35.0, 60.0, [(0.0, 1.0, "quatre")], language="fr")]
    assert merge_chunk_results([long_english, *more_french], duration=60).language == "fr"
    unknown = chunk(0, 0.0, 5.0, [(0.0, 1.0, "?")], language=None)
    assert merge_chunk_results([unknown], duration=5).language is None


def test_merge_orders_by_start_whatever_order_pieces_arrive_in(
    pieces: list[ChunkResult],
) -> None:
    in_order = merge_chunk_results(pieces, duration=100.0)
    for seed in range(5):
        shuffled = pieces[:]
        random.Random(seed).shuffle(shuffled)
        assert merge_chunk_results(shuffled, duration=100.0) == in_order
    starts = [s.start for s in in_order.segments]
    assert starts == sorted(starts)


def test_merge_sorts_segments_a_service_returned_out_of_order() -> None:
    piece = chunk(0, 10.0, 40.0, [(5.0, 6.0, "second"), (1.0, 2.0, "first")])
    merged = merge_chunk_results([piece], duration=40.0)
    assert [s.text for s in merged.segments] == ["first", "second"]
    assert [s.id for s in merged.segments] == [0, 1]
    assert [s.start for s in merged.segments] == [11.0, 15.0]


def test_merge_counts_a_chunk_given_twice_once(pieces: list[ChunkResult]) -> None:
    once = merge_chunk_results(pieces, duration=100.0)
    twice = merge_chunk_results([*pieces, pieces[1]], duration=100.0)
    assert twice == once


def test_merge_takes_text_from_segments_when_a_chunk_has_none() -> None:
    piece = chunk(0, 0.0, 10.0, [(0.0, 2.0, " Only segments. ")], text="")
    other = chunk(1, 10.0, 20.0, [(0.0, 2.0, "And text.")])
    assert merge_chunk_results([piece, other], duration=20).text == "Only segments. And text."


def test_merge_of_nothing_is_an_empty_result() -> None:
    merged = merge_chunk_results([], duration=12.0)
    assert merged.text == ""
    assert merged.segments == ()
    assert merged.language is None
    assert merged.input_length_ms == 12000


def test_shift_keeps_millisecond_times() -> None:
    shifted = Segment(0, 0.1, 0.2, "x").shifted(0.2)
    # 0.1 + 0.2 is 0.30000000000000004 in floats; stored times stay at milliseconds.
    assert shifted.start == 0.3
    assert shifted.end == 0.4


def test_from_contract_then_to_contract_is_the_identity() -> None:
    result = TranscriptionResult.from_contract(CONTRACT_RESPONSE)
    assert result.to_contract() == CONTRACT_RESPONSE
    assert list(result.to_contract()) == list(CONTRACT_RESPONSE)


def test_from_contract_reads_openai_verbose_json() -> None:
    verbose = {
        "task": "transcribe",
        "language": "english",
        "duration": 2.5,
        "text": " Hello world.",
        "segments": [
            {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": 2.5,
                "text": " Hello world.",
                "tokens": [1, 2],
                "temperature": 0.0,
                "avg_logprob": -0.2,
            }
        ],
        "words": [
            {"word": "Hello", "start": 0.0, "end": 0.9},
            {"word": "world", "start": 1.0, "end": 2.4},
        ],
    }
    result = TranscriptionResult.from_contract(verbose)
    assert [w.text for w in result.words] == ["Hello", "world"]
    assert [(w.start, w.end) for w in result.words] == [(0.0, 0.9), (1.0, 2.4)]
    assert result.segments[0].text == " Hello world."
    assert result.input_length_ms == 2500
    assert result.inference_status == InferenceStatus()
    assert result.request_id is None


def test_from_contract_tolerates_missing_optional_keys() -> None:
    result = TranscriptionResult.from_contract({"text": "just text"})
    assert result.text == "just text"
    assert result.segments == ()
    assert result.words == ()
    assert result.language is None
    assert result.duration == 0.0
    assert result.input_length_ms == 0
    assert result.inference_status.status == "succeeded"
    no_ids = TranscriptionResult.from_contract(
        {"text": "a b", "segments": [{"start": 0, "end": 1, "text": "a"}, {"start": 1, "end": 2}]}
    )
    assert [(s.id, s.text) for s in no_ids.segments] == [(0, "a"), (1, "")]
    nulls = TranscriptionResult.from_contract(
        {"text": None, "segments": None, "words": None, "inference_status": None}
    )
    assert nulls.text == ""
    assert nulls.segments == ()


def test_chunk_result_round_trips_through_a_dict_and_json(pieces: list[ChunkResult]) -> None:
    for piece in pieces:
        assert ChunkResult.from_dict(piece.to_dict()) == piece
        assert ChunkResult.from_dict(json.loads(json.dumps(piece.to_dict()))) == piece
    stored = pieces[1].to_dict()
    assert set(stored) == {"index", "start", "end", "result"}
    assert set(stored["result"]) == set(CONTRACT_RESPONSE)
