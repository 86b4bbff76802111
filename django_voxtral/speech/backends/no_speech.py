"""Whisper's own rules for a segment that is probably not speech, for every backend that has them.

Never guess from the text: only the engine's figures decide (its no-speech probability, its
confidence, and, where it gives them, its words' probabilities and times).

A segment is not speech when Whisper's decoding of it failed (average log-probability under -1,
Whisper's ``logprob_threshold``) and Whisper has a second sign that nothing was said:

- its no-speech probability is over 0.6 (Whisper's ``no_speech_threshold``; openai/whisper's
  transcribe.py skips such a window), or
- its words are anomalous by Whisper's own hallucination test (openai/whisper's
  ``word_anomaly_score`` and ``is_segment_anomaly``, which faster-whisper copies): improbable
  (probability under 0.15), or implausibly short or long.

A failed decoding alone is not enough (hard but real speech may fail), nor is either sign alone
(a confident decoding is kept however quiet or odd). The second sign is what makes the rule hold
on any CPU: music's no-speech probability sits near 0.6 (0.53 to 0.61 for the same chord,
depending on which int8 kernels CTranslate2 picks on the machine), while the words Whisper makes
up over it are given a probability near 0, far from 0.15.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Whisper's thresholds (openai/whisper transcribe.py): both must hold, so a quiet but confident
#: segment is kept.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0

#: Whisper's word anomaly score (openai/whisper transcribe.py, ``word_anomaly_score``): a word
#: under this probability scores 1, ...
ANOMALY_PROBABILITY = 0.15
#: ... one shorter than this many seconds up to 2 (15 a second short of it), ...
ANOMALY_SHORT_SECONDS = 0.133
#: ... one longer than this many seconds 1 a second over it.
ANOMALY_LONG_SECONDS = 2.0
#: A segment is anomalous when its first 8 words (punctuation left out) score 3 or more, or
#: nearly as much as their number (``is_segment_anomaly``).
ANOMALY_WORDS = 8
ANOMALY_SCORE = 3.0
#: The punctuation openai/whisper leaves out of the test (its ``punctuation`` string).
PUNCTUATION = "\"'“¿([{-\"'.。,，!！?？:：”)]}、"


def word_anomaly_score(probability: float, duration: float) -> float:
    """How anomalous one word is, by Whisper's own measure (0 for a plausible word)."""
    score = 0.0
    if probability < ANOMALY_PROBABILITY:
        score += 1.0
    if duration < ANOMALY_SHORT_SECONDS:
        score += (ANOMALY_SHORT_SECONDS - duration) * 15
    if duration > ANOMALY_LONG_SECONDS:
        score += duration - ANOMALY_LONG_SECONDS
    return score


def is_anomalous(words: Iterable[tuple[str, float, float]]) -> bool:
    """Whether ``(text, probability, duration)`` words look made up, by Whisper's own test.

    False without words: there is nothing to judge.
    """
    kept = [(p, d) for text, p, d in words if text.strip() and text.strip() not in PUNCTUATION]
    kept = kept[:ANOMALY_WORDS]
    if not kept:
        return False
    score = sum(word_anomaly_score(p, d) for p, d in kept)
    return score >= ANOMALY_SCORE or score + 0.01 >= len(kept)


def is_no_speech(no_speech_prob: float, avg_logprob: float, *, anomalous: bool = False) -> bool:
    """Whether the engine itself judged a segment to be probably not speech.

    ``anomalous``: whether its words failed Whisper's hallucination test (is_anomalous), for an
    engine that gives word probabilities.
    """
    if avg_logprob >= NO_SPEECH_LOGPROB:
        return False
    return no_speech_prob > NO_SPEECH_PROB or anomalous


def marked_no_speech(segment: dict[str, Any]) -> bool:
    """The same rule on a Whisper-style JSON segment; False when it lacks either figure.

    Such segments carry no word probabilities (OpenAI's ``verbose_json`` gives words without
    them), so only the no-speech probability is the second sign here.
    """
    prob, logprob = segment.get("no_speech_prob"), segment.get("avg_logprob")
    if not isinstance(prob, int | float) or not isinstance(logprob, int | float):
        return False
    return is_no_speech(float(prob), float(logprob))
