"""Benchmark: 60 minutes of audio sent to the local stand-in at 1 s per request, by concurrency.

The ideal is the split time plus ceil(chunks / concurrency) seconds; never judged on one run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django_voxtral.speech.backends import load_backend
from django_voxtral.speech.pipeline import PipelineProgress, transcribe_media
from tests.standin import StandIn

from .media import long_audio

LATENCY = 1.0


@dataclass
class RequestFigures:
    concurrency: int
    chunks: int
    split_s: float
    wall_s: float
    max_in_flight: int

    @property
    def ideal_s(self) -> float:
        return self.split_s + math.ceil(self.chunks / self.concurrency) * LATENCY

    @property
    def ratio(self) -> float:
        return self.wall_s / self.ideal_s


def measure(minutes: int, concurrency: int) -> RequestFigures:
    path = long_audio(minutes)
    with StandIn(token="bench", latency=LATENCY) as server:
        backend = load_backend("deepinfra", base_url=server.base_url, token="bench")
        split_done: list[float] = []

        def progress(p: PipelineProgress) -> None:
            if p.stage == "transcribing" and not split_done:
                split_done.append(time.perf_counter())

        with backend:
            began = time.perf_counter()
            transcribe_media(path, backend, concurrency=concurrency, progress=progress)
            ended = time.perf_counter()
        return RequestFigures(
            concurrency=concurrency,
            chunks=len(server.requests),
            split_s=split_done[0] - began,
            wall_s=ended - began,
            max_in_flight=server.max_in_flight,
        )
