"""Benchmark: word error rate of the offline engine on the JFK clip, whole and chunked at 10 s.

Chunking must not make it worse; the clip and its reference live in tests/data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jiwer

from django_voxtral.backends import load_backend
from django_voxtral.backends.options import TranscriptionOptions
from django_voxtral.pipeline import transcribe_media

from tests.data import JFK, JFK_TEXT


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@dataclass
class WerFigures:
    whole: float
    chunked_10s: float
    chunks: int


def measure() -> WerFigures:
    clip = JFK
    reference = normalize(JFK_TEXT.read_text())
    options = TranscriptionOptions(language="en")
    with load_backend("local") as backend:
        whole = backend.transcribe(clip, options)
        pieces: list[object] = []
        chunked = transcribe_media(
            clip, backend, options, max_chunk_seconds=10, on_chunk=pieces.append
        )
    return WerFigures(
        whole=jiwer.wer(reference, normalize(whole.text)),
        chunked_10s=jiwer.wer(reference, normalize(chunked.text)),
        chunks=len(pieces),
    )
