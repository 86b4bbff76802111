"""Tests of the output formats: contract JSON, SRT, WebVTT, plain text, and cue layout.

Outputs are checked by parsing them with the common subtitle libraries; never compare to text
copied from this code's own output.
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pysrt
import pytest
import webvtt

from django_voxtral.speech import formats
from django_voxtral.speech.formats import (
    FORMATS,
    Cue,
    format_timestamp,
    make_cues,
    render,
    to_json,
    to_ms,
    to_srt,
    to_txt,
    to_vtt,
)
from django_voxtral.speech.formats.text import width
from django_voxtral.speech.results import InferenceStatus, Segment, TranscriptionResult, Word

LOREM_TEXT = (
    "the quick brown fox jumps over a lazy dog while seven wizards quietly hex "
    "an unknown number of very patient jugglers near the river bank at dawn"
)
LOREM = LOREM_TEXT.split()


def result_of(
    *segments: tuple[float, float, str], words: tuple[Word, ...] = ()
) -> TranscriptionResult:
    segs = tuple(Segment(i, s, e, t) for i, (s, e, t) in enumerate(segments))
    end = max((e for _, e, _ in segments), default=0.0)
    return TranscriptionResult(
        text=" ".join(t for _, _, t in segments),
        segments=segs,
        language="en",
        words=words,
        duration=end,
        input_length_ms=round(end * 1000),
    )


def timed_words(
    text: str, start: float, *, pause_after: dict[int, float] | None = None
) -> tuple[Word, ...]:
    """Words of ``text`` spoken one after another from ``start``, punctuation left out (as
    services often do), with optional pauses after given word positions."""
    out = []
    t = start
    for k, token in enumerate(text.split()):
        length = 0.15 + 0.04 * len(token)
        out.append(Word(round(t, 3), round(t + length, 3), re.sub(r"[^\w'-]", "", token)))
        t += length + 0.08 + (pause_after or {}).get(k, 0.0)
    return tuple(out)


def random_text(rng: random.Random, n_words: int) -> str:
    words = []
    for k in range(n_words):
        w = rng.choice(LOREM)
        if rng.random() < 0.05:
            w = "x" * rng.randint(43, 95)  # longer than a line
        if rng.random() < 0.1:
            w += rng.choice(".,?!;")
        if k == 0 or words[-1][-1] in ".?!":
            w = w.capitalize()
        words.append(w)
    return " ".join(words)


def random_result(rng: random.Random) -> TranscriptionResult:
    segments = []
    words: list[Word] = []
    t = rng.uniform(0, 5)
    with_words = rng.random() < 0.5
    for _ in range(rng.randint(0, 6)):
        text = random_text(rng, rng.randint(1, 60))
        if with_words:
            ws = timed_words(text, t, pause_after={rng.randrange(60): rng.uniform(0.5, 3)})
            end = ws[-1].end
            words.extend(ws)
        else:
            end = t + rng.uniform(0.05, 40)
        segments.append((round(t, 3), round(end, 3), text))
        t = end + rng.choice([0.0, 0.01, rng.uniform(0, 8)])
    return result_of(*segments, words=tuple(words))


def assert_readable(
    cues: list[Cue], *, max_chars: int = 42, max_lines: int = 2, max_seconds: float = 7.0
) -> None:
    previous_end = 0.0
    for cue in cues:
        assert 1 <= len(cue.lines) <= max_lines, cue
        assert all(width(line) <= max_chars for line in cue.lines), cue
        assert all(line and line == line.strip() for line in cue.lines), cue
        assert cue.start < cue.end, cue
        assert cue.end - cue.start <= max_seconds + 1e-9, cue
        assert cue.start >= previous_end, cue
        previous_end = cue.end


def tokens_of(cues: list[Cue]) -> list[str]:
    return [token for cue in cues for line in cue.lines for token in line.split()]


def test_random_results_give_readable_cues_that_keep_every_word() -> None:
    rng = random.Random(20240611)
    for _ in range(150):
        result = random_result(rng)
        cues = make_cues(result)
        assert_readable(cues)
        # Over-long words are the only ones cut; every other word arrives whole and in order.
        got = tokens_of(cues)
        k = 0
        for token in result.text.split():
            if len(token) <= 42:
                assert got[k] == token
                k += 1
            else:
                pieces = ""
                while pieces != token:
                    assert len(got[k]) <= 42
                    pieces += got[k]
                    k += 1
        assert k == len(got)


@pytest.mark.parametrize(
    ("max_chars", "max_lines", "max_seconds"), [(20, 1, 3.0), (32, 3, 5.0), (42, 2, 7.0)]
)
def test_limits_are_parameters(max_chars: int, max_lines: int, max_seconds: float) -> None:
    rng = random.Random(max_chars)
    for _ in range(40):
        result = random_result(rng)
        cues = make_cues(
            result, max_chars_per_line=max_chars, max_lines=max_lines, max_seconds=max_seconds
        )
        assert_readable(cues, max_chars=max_chars, max_lines=max_lines, max_seconds=max_seconds)


def test_long_segment_is_split_into_cues_of_two_balanced_lines() -> None:
    text = " ".join(LOREM * 3)
    cues = make_cues(result_of((10.0, 40.0, text)))
    assert len(cues) > 1
    assert_readable(cues)
    assert tokens_of(cues) == text.split()
    for cue in cues:
        if len(cue.lines) == 2:
            # No break after a longer word (a line should not end on "the" or "of") would make
            # the two lines more even.
            joined = " ".join(cue.lines)
            spaces = [m.start() for m in re.finditer(" ", joined)]
            good = [s for s in spaces if len(joined[:s].split()[-1]) > 3]
            best = min(abs(len(joined[:s]) - len(joined[s + 1 :])) for s in good)
            assert abs(len(cue.lines[0]) - len(cue.lines[1])) <= best
        else:
            assert len(cue.lines[0]) <= 42


def test_short_text_stays_on_one_line() -> None:
    cues = make_cues(result_of((1.0, 2.5, "Hello there, world.")))
    assert [c.lines for c in cues] == [("Hello there, world.",)]
    assert (cues[0].start, cues[0].end) == (1.0, 2.5)


def test_a_word_longer_than_a_line_is_the_only_thing_cut() -> None:
    long_word = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"
    cues = make_cues(result_of((0.0, 6.0, f"Sie sagte {long_word} und ging.")))
    assert_readable(cues)
    lines = [line for c in cues for line in c.lines]
    assert "".join(lines).replace(" ", "") == f"Siesagte{long_word}undging."
    assert "Sie sagte" in " ".join(lines)


def test_cues_end_at_sentence_ends_when_that_helps() -> None:
    text = (
        "This is the first sentence and it is rather short. Then comes a second one that "
        "runs on for quite a while longer than the first."
    )
    cues = make_cues(result_of((0.0, 6.5, text)))
    assert len(cues) == 2
    assert cues[0].lines[-1].endswith("short.")
    assert cues[1].lines[0].startswith("Then")


def test_word_times_set_the_cues_times() -> None:
    text = (
        "So we went down to the harbour early in the morning to see the boats. "
        "Nobody was there except an old man mending his nets and humming a song."
    )
    words = timed_words(text, 3.0, pause_after={14: 2.5})
    result = result_of((3.0, words[-1].end + 0.4, text), words=words)
    cues = make_cues(result, min_seconds=0)
    assert_readable(cues)
    assert len(cues) >= 2
    assert any(c.lines[-1].endswith("boats.") for c in cues)
    k = 0
    for cue in cues:
        n = len(" ".join(cue.lines).split())
        first, last = words[k], words[k + n - 1]
        assert cue.start == first.start
        assert cue.end == last.end
        k += n
    assert k == len(words)
    # The pause after "boats." is never inside a cue.
    pause_start, pause_end = words[14].end, words[15].start
    assert not any(c.start < pause_start and c.end > pause_end for c in cues)


def test_word_times_are_used_despite_case_punctuation_and_small_mismatches() -> None:
    text = "Well, UM, the results—as you can see—were great, weren't they? Twenty-five of them."
    spoken = [
        ("well", 0.2, 0.5),
        ("the", 1.4, 1.5),
        ("results", 1.55, 2.0),
        ("as", 2.1, 2.2),
        ("you", 2.25, 2.4),
        ("can", 2.45, 2.6),
        ("see", 2.65, 2.9),
        ("were", 3.0, 3.2),
        ("great", 3.25, 3.6),
        ("weren't", 3.7, 4.0),
        ("they", 4.05, 4.3),
        ("twenty", 5.0, 5.3),
        ("five", 5.35, 5.6),
        ("of", 5.65, 5.75),
        ("them", 5.8, 6.0),
    ]
    words = tuple(Word(s, e, w) for w, s, e in spoken)
    result = result_of((0.0, 6.5, text), words=words)
    cues = make_cues(result, max_chars_per_line=16, min_seconds=0)
    assert_readable(cues, max_chars=16)
    starts = {w.start for w in words}
    ends = {w.end for w in words}
    spoken_keys = {w for w, _, _ in spoken}

    def key(token: str) -> str:
        return re.sub(r"[^\w']", "", token.lower())

    # A cue that starts or ends on a word the service timed takes that word's time; only the
    # tokens it did not time ("UM,", "results—as", "Twenty-five") fall back to interpolation.
    checked = 0
    for cue in cues:
        first, last = cue.lines[0].split()[0], cue.lines[-1].split()[-1]
        if key(first) in spoken_keys:
            assert cue.start in starts, cue
            checked += 1
        if key(last) in spoken_keys:
            assert cue.end in ends, cue
            checked += 1
    assert checked >= len(cues)


def test_without_words_time_is_shared_by_text_length() -> None:
    text = " ".join(LOREM * 2)
    start, end = 100.0, 130.0
    cues = make_cues(result_of((start, end, text)), min_seconds=0)
    assert_readable(cues)
    per_char = (end - start) / len(text)
    offset = 0
    for cue in cues:
        joined = " ".join(cue.lines)
        at = text.index(joined, offset)
        assert cue.start == pytest.approx(start + per_char * at, abs=per_char + 1e-3)
        assert cue.end == pytest.approx(start + per_char * (at + len(joined)), abs=per_char + 1e-3)
        offset = at + len(joined)
    assert cues[0].start == start
    assert cues[-1].end == end


def test_a_sparse_long_segment_is_shown_at_most_max_seconds() -> None:
    cues = make_cues(result_of((0.0, 30.0, "Hmm.")))
    assert [(c.start, c.end, c.lines) for c in cues] == [(0.0, 7.0, ("Hmm.",))]


def test_short_cues_get_a_minimum_duration_but_never_overlap_the_next() -> None:
    result = result_of((1.0, 1.1, "Oh."), (5.0, 5.05, "Ah."), (5.3, 6.0, "Yes."))
    cues = make_cues(result, min_seconds=0.8)
    assert [c.start for c in cues] == [1.0, 5.0, 5.3]
    assert cues[0].end == pytest.approx(1.8)
    assert cues[1].end == 5.3  # would be 5.8, but the next cue starts at 5.3
    assert cues[2].end == 6.1


def test_broken_times_from_a_service_still_give_ordered_positive_cues() -> None:
    result = result_of(
        (4.0, 4.0, "zero length"),
        (2.0, 1.0, "ends before it starts"),
        (2.0, 3.0, "same start as another"),
        (2.0, 2.5, "and again"),
        (-1.0, 0.5, "negative"),
    )
    cues = make_cues(result)
    assert len(cues) == 5
    assert_readable(cues)


def test_srt_parses_with_pysrt() -> None:
    rng = random.Random(7)
    for _ in range(30):
        result = random_result(rng)
        cues = make_cues(result)
        srt = to_srt(result)
        subs = pysrt.from_string(srt)
        assert len(subs) == len(cues)
        for n, (sub, cue) in enumerate(zip(subs, cues, strict=True), 1):
            assert sub.index == n
            assert sub.start.ordinal == to_ms(cue.start)
            assert sub.end.ordinal == to_ms(cue.end)
            assert sub.text == cue.text


def test_vtt_parses_with_webvtt(tmp_path: Path) -> None:
    rng = random.Random(8)
    for i in range(30):
        result = random_result(rng)
        cues = make_cues(result)
        vtt = to_vtt(result)
        assert vtt.startswith("WEBVTT\n\n")
        path = tmp_path / f"{i}.vtt"
        path.write_text(vtt, encoding="utf-8")
        for captions in (webvtt.from_string(vtt), webvtt.read(str(path))):
            assert len(captions) == len(cues)
            for caption, cue in zip(captions, cues, strict=True):
                assert caption.start_time.in_milliseconds() == to_ms(cue.start)
                assert caption.end_time.in_milliseconds() == to_ms(cue.end)
                assert html.unescape(caption.text) == cue.text


def test_empty_result_gives_valid_empty_subtitles() -> None:
    for result in (
        TranscriptionResult(text=""),
        result_of((0.0, 2.0, "   "), (3.0, 4.0, "\n\n")),
    ):
        assert make_cues(result) == []
        assert to_srt(result) == ""
        assert len(pysrt.from_string(to_srt(result))) == 0
        assert to_vtt(result) == "WEBVTT\n\n"
        assert len(webvtt.from_string(to_vtt(result))) == 0
        assert to_txt(result) == ""


def test_text_is_made_safe_for_each_format() -> None:
    nasty = "a --> b\n\nc <i>d</i> & e > f\r\n\tg\x00h"
    result = result_of(
        (0.0, 3.0, nasty), (4.0, 5.0, "1"), (6.0, 7.0, "00:00:01,000 --> 00:00:02,000")
    )
    subs = pysrt.from_string(to_srt(result))
    assert len(subs) == 3
    assert "-->" not in subs[0].text
    assert "\n\n" not in subs[0].text
    assert "\x00" not in to_srt(result)
    assert subs[1].text == "1"
    vtt = to_vtt(result)
    captions = webvtt.from_string(vtt)
    assert len(captions) == 3
    body = vtt.split("\n\n", 1)[1]
    cue_lines = [line for line in body.splitlines() if line and "-->" not in line]
    assert not any(ch in line for line in cue_lines for ch in "<>")
    assert "&lt;i&gt;d&lt;/i&gt; &amp; e &gt; f" in vtt
    text = html.unescape(captions[0].text)
    assert text.replace("\n", " ") == "a -> b c <i>d</i> & e > f gh"


def test_unicode_text_survives_every_format() -> None:
    segments = (
        (0.0, 3.0, "Voilà, ça marche très bien — naïve café crème brûlée."),
        (
            3.5,
            9.0,
            "我们今天在这里讨论一个非常重要的问题，关于人工智能的未来发展和它对社会的影响。",
        ),
        (9.5, 11.0, "Ünïcödé 🎉 emoji ok"),
    )
    result = result_of(*segments)
    cues = make_cues(result)
    assert_readable(cues)
    assert "".join(c.text.replace("\n", "").replace(" ", "") for c in cues) == "".join(
        t.replace(" ", "") for _, _, t in segments
    )
    assert pysrt.from_string(to_srt(result))[0].text.startswith("Voilà, ça")
    assert html.unescape(webvtt.from_string(to_vtt(result))[-1].text) == "Ünïcödé 🎉 emoji ok"
    assert "我们今天" in to_txt(result)
    assert "brûlée" in to_json(result)
    assert "\\u" not in to_json(result)


def test_timestamps_round_to_milliseconds_without_ever_writing_1000() -> None:
    assert format_timestamp(0.9995) == "00:00:01,000"
    assert format_timestamp(0.9994) == "00:00:00,999"
    assert format_timestamp(59.9999) == "00:01:00,000"
    assert format_timestamp(3599.9996, decimal_marker=".") == "01:00:00.000"
    assert format_timestamp(0.0005) == "00:00:00,001"
    assert format_timestamp(-2.0) == "00:00:00,000"
    assert format_timestamp(float("nan")) == "00:00:00,000"
    assert format_timestamp(100 * 3600 + 61.25) == "100:01:01,250"
    for seconds in (i / 10000 for i in range(0, 40000, 7)):
        stamp = format_timestamp(seconds)
        assert re.fullmatch(r"\d\d+:[0-5]\d:[0-5]\d,\d{3}", stamp), stamp
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        total = ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)
        assert abs(total - seconds * 1000) <= 0.5 + 1e-6


def test_rounding_and_long_hours_parse_in_subtitle_libraries() -> None:
    base = 123 * 3600.0
    result = result_of((0.9995, 2.0, "first"), (base + 0.25, base + 1.9995, "much later"))
    subs = pysrt.from_string(to_srt(result))
    assert [s.start.ordinal for s in subs] == [1000, to_ms(base + 0.25)]
    assert subs[1].end.ordinal == to_ms(base) + 2000
    captions = webvtt.from_string(to_vtt(result))
    assert [c.start_time.in_milliseconds() for c in captions] == [1000, to_ms(base + 0.25)]
    assert "123:00:00.250 --> 123:00:02.000" in to_vtt(result)


def test_txt_is_paragraphs_split_at_long_pauses() -> None:
    result = result_of(
        (0.0, 2.0, " Good morning. "),
        (2.2, 4.0, "Today we talk\nabout bees."),
        (9.0, 11.0, "Next topic: wasps."),
    )
    assert to_txt(result) == "Good morning. Today we talk about bees.\n\nNext topic: wasps.\n"
    assert to_txt(TranscriptionResult(text=" only text ")) == "only text\n"


def test_txt_breaks_a_long_run_without_pauses_at_a_sentence_end() -> None:
    sentence = " ".join(LOREM).capitalize() + "."
    segments = [(i * 8.0, i * 8.0 + 7.9, sentence) for i in range(30)]
    paragraphs = to_txt(result_of(*segments)).rstrip("\n").split("\n\n")
    assert len(paragraphs) > 3
    assert all(p.endswith(".") for p in paragraphs)
    assert all(len(p) < 600 + 2 * len(sentence) for p in paragraphs)
    assert " ".join(paragraphs) == " ".join(t for _, _, t in segments)


# Copied from docs/contract/speech-api.md ("Response (200, JSON)").
CONTRACT_EXAMPLE: dict[str, Any] = {
    "text": "Hello World",
    "segments": [
        {"id": 0, "start": 0.0, "end": 1.0, "text": "Hello"},
        {"id": 1, "start": 4.0, "end": 5.0, "text": "World"},
    ],
    "language": "en",
    "input_length_ms": 5000,
    "words": [
        {"start": 0.0, "end": 1.0, "text": "Hello"},
        {"start": 4.0, "end": 5.0, "text": "World"},
    ],
    "duration": 5.0,
    "request_id": None,
    "inference_status": {
        "status": "succeeded",
        "runtime_ms": 0,
        "cost": 0.0,
        "tokens_generated": 0,
        "tokens_input": 0,
    },
}


def shape(value: Any) -> Any:
    """The JSON types of a document, keys kept: what two documents of one schema share."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def test_contract_example_here_is_the_contracts() -> None:
    contract = Path(__file__).resolve().parents[2] / "docs" / "contract" / "speech-api.md"
    block = contract.read_text(encoding="utf-8").split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == CONTRACT_EXAMPLE


def test_json_has_exactly_the_contracts_keys_and_types() -> None:
    words = (Word(0.0, 0.4, "Héllo"), Word(0.5, 1.0, "wörld"))
    result = TranscriptionResult(
        text="Héllo wörld",
        segments=(Segment(0, 0.0, 1.0, "Héllo wörld"),),
        language="fr",
        words=words,
        duration=12.5,
        input_length_ms=12500,
        inference_status=InferenceStatus(runtime_ms=1234, cost=0.0006, tokens_generated=5),
    )
    document = json.loads(to_json(result))
    assert shape(document) == shape(CONTRACT_EXAMPLE)
    assert list(document) == list(CONTRACT_EXAMPLE)
    assert TranscriptionResult.from_contract(document) == result
    compact = to_json(result, indent=None)
    assert "\n" not in compact
    assert json.loads(compact) == document
    assert "Héllo" in compact
    # Whole seconds still travel as JSON numbers with a fraction (floats), as in the contract.
    assert '"duration": 12.5' in to_json(result)
    assert '"start": 0.0' in to_json(result)


def test_json_round_trips_the_contract_example() -> None:
    result = TranscriptionResult.from_contract(CONTRACT_EXAMPLE)
    assert json.loads(to_json(result)) == CONTRACT_EXAMPLE


def test_json_refuses_numbers_json_cannot_carry() -> None:
    result = TranscriptionResult(text="x", duration=float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        to_json(result)


def test_formats_registry_and_render() -> None:
    result = result_of((0.0, 1.0, "Hello"), (1.5, 2.0, "world"))
    expected = {
        "json": ("application/json", to_json),
        "srt": ("application/x-subrip", to_srt),
        "vtt": ("text/vtt", to_vtt),
        "txt": ("text/plain", to_txt),
    }
    assert set(FORMATS) == set(expected)
    for name, (media_type, writer) in expected.items():
        formatter = FORMATS[name]
        assert formatter.media_type == media_type
        assert formatter.extension == name
        assert formatter.render(result) == writer(result)
        assert render(result, name) == writer(result)
        assert render(result, name.upper()) == writer(result)
    with pytest.raises(ValueError, match="json, srt, vtt, txt") as info:
        render(result, "docx")
    assert "'docx'" in str(info.value)


def test_results_without_segments_use_words_or_the_whole_text() -> None:
    words = timed_words("Just words here, nothing else.", 2.0)
    from_words = TranscriptionResult(text="Just words here, nothing else.", words=words)
    cues = make_cues(from_words, min_seconds=0)
    assert [c.text for c in cues] == ["Just words here nothing else"]
    assert (cues[0].start, cues[0].end) == (words[0].start, words[-1].end)
    only_text = TranscriptionResult(text="Text without any times.", duration=3.0)
    cues = make_cues(only_text)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 3.0, "Text without any times.")]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_chars_per_line": 1},
        {"max_lines": 0},
        {"max_seconds": 0},
        {"max_seconds": float("inf")},
        {"min_seconds": -1},
        {"min_seconds": 8.0},
    ],
)
def test_make_cues_refuses_impossible_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_cues(result_of((0.0, 1.0, "x")), **kwargs)


def test_module_exports() -> None:
    assert set(formats.__all__) >= {
        "FORMATS",
        "render",
        "to_json",
        "to_srt",
        "to_vtt",
        "to_txt",
        "make_cues",
        "Cue",
    }


# -- speakers ------------------------------------------------------------------------------


def spoken_by(*turns: tuple[float, float, str, str | None]) -> TranscriptionResult:
    """A result of segments (start, end, text, speaker)."""
    segments = tuple(Segment(i, s, e, t, who) for i, (s, e, t, who) in enumerate(turns))
    end = max((e for _, e, _, _ in turns), default=0.0)
    return TranscriptionResult(
        text=" ".join(t for _, _, t, _ in turns),
        segments=segments,
        language="en",
        duration=end,
        input_length_ms=round(end * 1000),
    )


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("0", "Speaker 1"),
        ("1", "Speaker 2"),
        ("speaker_0", "Speaker 1"),
        ("speaker_1", "Speaker 2"),
        ("SPEAKER_00", "Speaker 1"),
        ("spk-2", "Speaker 3"),
        (" speaker_3 ", "Speaker 4"),
        ("Alice", "Alice"),
        ("Speaker 1", "Speaker 1"),  # already written for people: never shifted again
        ("speaker_x", "speaker_x"),
        ("Dr. Who\n", "Dr. Who"),
    ],
)
def test_speaker_labels_read_as_a_person_counts(label: str, shown: str) -> None:
    assert formats.speaker_label(label) == shown


def test_vtt_cues_of_a_speaker_are_voice_spans() -> None:
    long_turn = " ".join(LOREM) + "."
    result = spoken_by(
        (0.0, 2.0, "Hello there.", "speaker_0"),
        (2.5, 16.0, long_turn, "speaker_1"),
        (17.0, 18.0, "Right.", None),
        (19.0, 20.0, "Bye.", "Alice"),
    )
    captions = webvtt.from_string(to_vtt(result))
    cues = make_cues(result)
    assert len(captions) == len(cues) > 4  # the long turn takes several cues
    assert [c.voice for c in captions] == [
        {"speaker_0": "Speaker 1", "speaker_1": "Speaker 2", "Alice": "Alice", None: None}[
            cue.speaker
        ]
        for cue in cues
    ]
    assert captions[0].text == "Hello there."
    assert captions[0].raw_text == "<v Speaker 1>Hello there."
    # Every cue of the long turn is its voice, and its words are all there, in order.
    turn = [c for c in captions if c.voice == "Speaker 2"]
    assert " ".join(c.text.replace("\n", " ") for c in turn) == long_turn
    assert [c.text for c in captions if c.voice is None] == ["Right."]


def test_vtt_voice_names_are_escaped() -> None:
    vtt = to_vtt(spoken_by((0.0, 1.0, "Hi.", "Tom & <Jerry>")))
    (caption,) = webvtt.from_string(vtt)
    assert caption.voice is not None and html.unescape(caption.voice) == "Tom & <Jerry>"
    assert caption.text == "Hi."
    assert "<Jerry>" not in vtt


def test_srt_prefixes_the_speaker_where_it_changes() -> None:
    long_turn = " ".join(LOREM) + "."
    result = spoken_by(
        (0.0, 2.0, "Hello there.", "speaker_0"),
        (2.5, 16.0, long_turn, "speaker_1"),
        (16.5, 17.5, "Indeed.", "speaker_1"),
        (18.0, 19.0, "Yes.", "speaker_0"),
    )
    subs = pysrt.from_string(to_srt(result))
    texts = [s.text for s in subs]
    assert texts[0] == "Speaker 1: Hello there."
    assert texts[1].startswith("Speaker 2: the quick brown")
    assert not any(t.startswith("Speaker") for t in texts[2:-1])  # the same turn goes on
    assert texts[-2] == "Indeed."
    assert texts[-1] == "Speaker 1: Yes."
    # The prefix was laid out with the line: no line grows past the limit for it.
    assert all(width(line) <= 42 for s in subs for line in s.text.splitlines())
    words = " ".join(t.replace("\n", " ") for t in texts)
    assert words.replace("Speaker 2: ", "").count("quick brown fox") == 1


def test_a_cue_never_mixes_two_speakers() -> None:
    # One segment, two speakers by the words' own labels (a service that diarizes words).
    text = "Is it ready? Yes, it is."
    words = tuple(
        replace(w, speaker="A" if k < 3 else "B") for k, w in enumerate(timed_words(text, 1.0))
    )
    result = result_of((1.0, words[-1].end, text), words=words)
    cues = make_cues(result)
    assert [(c.speaker, c.text) for c in cues] == [("A", "Is it ready?"), ("B", "Yes, it is.")]
    assert cues[0].end <= cues[1].start
    assert cues[1].start == pytest.approx(words[3].start, abs=0.002)
    # Without segments, the words alone are cut the same way.
    only_words = TranscriptionResult(text=text, words=words, duration=5.0)
    assert [c.speaker for c in make_cues(only_words)] == ["A", "B"]


def test_random_results_with_speakers_keep_one_speaker_per_cue() -> None:
    rng = random.Random(99)
    for _ in range(60):
        plain = random_result(rng)
        speakers = ["speaker_0", "speaker_1", None]
        segments = tuple(replace(s, speaker=rng.choice(speakers)) for s in plain.segments)
        words = tuple(replace(w, speaker=rng.choice(speakers[:2])) for w in plain.words)
        result = replace(plain, segments=segments, words=words)
        for cues in (make_cues(result), make_cues(result, speaker_prefixes=True)):
            assert_readable(cues)
            assert tokens_of(cues) == tokens_of(make_cues(plain))
        subs = pysrt.from_string(to_srt(result))
        assert len(subs) == len(cues)
        for line in (line for sub in subs for line in sub.text.splitlines()):
            # Only a line of one word a line long can grow past the limit by its prefix.
            prefix, _, rest = line.partition(": ")
            assert width(line) <= 42 or (prefix.startswith("Speaker") and " " not in rest)
        captions = webvtt.from_string(to_vtt(result))
        assert [c.voice for c in captions] == [
            None if c.speaker is None else formats.speaker_label(c.speaker)
            for c in make_cues(result)
        ]


def test_txt_starts_a_paragraph_with_the_speaker_where_it_changes() -> None:
    result = spoken_by(
        (0.0, 2.0, "Good morning.", "speaker_0"),
        (2.2, 4.0, "Today we talk about bees.", "speaker_0"),
        (4.1, 5.0, "Bees?", "speaker_1"),
        (9.0, 11.0, "Yes, bees.", "speaker_1"),
        (11.1, 12.0, "Oh.", None),
    )
    assert to_txt(result) == (
        "Speaker 1: Good morning. Today we talk about bees.\n\n"
        "Speaker 2: Bees?\n\n"
        "Yes, bees.\n\n"  # a long pause, the same speaker: no new prefix
        "Oh.\n"
    )


def test_json_names_speakers_only_where_known() -> None:
    result = spoken_by((0.0, 1.0, "Hi.", "speaker_0"), (1.0, 2.0, "Ho.", None))
    segments = json.loads(to_json(result))["segments"]
    assert segments[0]["speaker"] == "speaker_0"  # the service's label, not the shown name
    assert "speaker" not in segments[1]


def test_results_without_speakers_show_none() -> None:
    rng = random.Random(3)
    for _ in range(20):
        result = random_result(rng)
        assert all(c.speaker is None for c in make_cues(result))
        assert "<v " not in to_vtt(result)
        assert make_cues(result, speaker_prefixes=True) == make_cues(result)
