"""Signals sent as a transcript runs: started, finished (done) and failed.

Receivers get ``sender=Transcript`` and ``transcript=``; never send these from outside the runner.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A worker has claimed the transcript and starts on it.
transcript_started = Signal()
#: The transcript is done; its text and segments are saved.
transcript_finished = Signal()
#: The transcript failed; ``error`` holds the message that was saved on it.
transcript_failed = Signal()
