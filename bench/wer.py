"""Benchmark: word error rate of the offline engine (faster-whisper) on the JFK clip, whole and cut.

Chunks cut at 10 s must not read worse than the whole clip; clip and reference live in tests/data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jiwer

from django_voxtral.speech.backends import load_backend
from django_voxtral.speech.backends.options import TranscriptionOptions
from django_voxtral.speech.pipeline import transcribe_media
from tests.data import JFK, JFK_TEXT


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@dataclass
class WerFigures:
    whole: float
    chunked_10s: float
    chunks: int
    model: str


def measure() -> WerFigures:
    reference = normalize(JFK_TEXT.read_text())
    options = TranscriptionOptions(language="en")
    with load_backend("local") as backend:
        whole = backend.transcribe(JFK, options)
        pieces: list[object] = []
        chunked = transcribe_media(
            JFK, backend, options, max_chunk_seconds=10, on_chunk=pieces.append
        )
        model = backend.model
    return WerFigures(
        whole=jiwer.wer(reference, normalize(whole.text)),
        chunked_10s=jiwer.wer(reference, normalize(chunked.text)),
        chunks=len(pieces),
        model=model,
    )


def report(f: WerFigures) -> list[str]:
    """The markdown section for BENCHMARKS.md."""
    not_worse = "not worse: met" if f.chunked_10s <= f.whole else "**worse**"
    return [
        "## Offline engine on the JFK clip",
        "",
        f"faster-whisper with the Whisper `{f.model}` model from its wheels (int8 on CPU, "
        "beam 5, language en), on `tests/data/jfk.flac` (44.1 kHz stereo, read and resampled "
        "by the backend) against `tests/data/jfk.txt`.",
        "",
        "| | word error rate |",
        "| --- | --- |",
        f"| whole clip | {f.whole:.3f} |",
        f"| chunked at 10 s ({f.chunks} chunks) | {f.chunked_10s:.3f} ({not_worse}) |",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(report(measure())))
