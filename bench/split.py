"""Benchmark: split() against ffmpeg's own one-pass segmenter, and its peak memory.

Each run is a fresh process, alternating the two contenders; never judged from a single run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .media import long_video

RUNS = 3


@dataclass
class SplitFigures:
    minutes: int
    baseline_s: float
    split_s: float
    chunks: int
    python_peak_mb: float
    ffmpeg_peak_mb: float
    audio_seconds: float
    chunk_bytes: int

    @property
    def ratio(self) -> float:
        return self.split_s / self.baseline_s


def baseline_seconds(path: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-seg-") as out:
        began = time.perf_counter()
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path),
             "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000",
             "-f", "segment", "-segment_time", "30", f"{out}/out%05d.flac"],
            check=True,
        )  # fmt: skip
        return time.perf_counter() - began


def split_run(path: Path, fmt: str = "flac") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.split_peak", str(path), fmt],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def measure(minutes: int, runs: int = RUNS) -> SplitFigures:
    path = long_video(minutes)
    baselines: list[float] = []
    splits: list[dict[str, float]] = []
    for _ in range(runs):
        baselines.append(baseline_seconds(path))
        splits.append(split_run(path))
    return SplitFigures(
        minutes=minutes,
        baseline_s=statistics.median(baselines),
        split_s=statistics.median(s["seconds"] for s in splits),
        chunks=int(splits[0]["chunks"]),
        python_peak_mb=max(s["python_peak_mb"] for s in splits),
        ffmpeg_peak_mb=max(s["ffmpeg_peak_mb"] for s in splits),
        audio_seconds=splits[0]["audio_seconds"],
        chunk_bytes=int(splits[0]["chunk_bytes"]),
    )


def chunk_bytes(minutes: int, fmt: str) -> tuple[float, int]:
    """Audio seconds and bytes of the chunks split() writes in ``fmt`` (one run: no timing)."""
    figures = split_run(long_video(minutes), fmt)
    return figures["audio_seconds"], int(figures["chunk_bytes"])
