"""Whisper's own rule for a segment that is probably not speech, for every backend that has it.

Never guess from the text: only the engine's no-speech probability and confidence decide.
"""

from __future__ import annotations

from typing import Any

#: Whisper's thresholds (openai/whisper transcribe.py): both must hold, so a quiet but confident
#: segment is kept.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0


def is_no_speech(no_speech_prob: float, avg_logprob: float) -> bool:
    """Whether the engine itself judged a segment to be probably not speech."""
    return no_speech_prob > NO_SPEECH_PROB and avg_logprob < NO_SPEECH_LOGPROB


def marked_no_speech(segment: dict[str, Any]) -> bool:
    """The same rule on a Whisper-style JSON segment; False when it lacks either figure."""
    prob, logprob = segment.get("no_speech_prob"), segment.get("avg_logprob")
    if not isinstance(prob, int | float) or not isinstance(logprob, int | float):
        return False
    return is_no_speech(float(prob), float(logprob))
