"""Benchmark: how much audio split() sends per second of media, over silence, noise and music.

Each split is a fresh process (bench.split_peak); never judged on media other than bench/media.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .media import BED_BELOW_DB, long_audio, speech_share
from .split import split_run

#: Audio seconds sent per media second may be at most this (speech is about a third).
TARGET = 0.45
DETECTORS = ("silero", "level")
BEDS: tuple[str | None, ...] = (None, "noise", "music")


@dataclass
class SentRow:
    bed: str | None
    detector: str
    media_seconds: float
    sent_seconds: float
    chunks: int
    split_s: float
    python_peak_mb: float

    @property
    def ratio(self) -> float:
        return self.sent_seconds / self.media_seconds


@dataclass
class SentFigures:
    minutes: int
    speech_share: float
    rows: list[SentRow]


def measure(minutes: int = 10) -> SentFigures:
    rows: list[SentRow] = []
    for bed in BEDS:
        path = long_audio(minutes, bed)
        for detector in DETECTORS:
            run = split_run(path, detector=detector)
            rows.append(
                SentRow(
                    bed=bed,
                    detector=str(run["detector"]),
                    media_seconds=minutes * 60.0,
                    sent_seconds=float(run["audio_seconds"]),
                    chunks=int(run["chunks"]),
                    split_s=float(run["seconds"]),
                    python_peak_mb=float(run["python_peak_mb"]),
                )
            )
    return SentFigures(minutes=minutes, speech_share=speech_share(), rows=rows)


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(figures: SentFigures) -> list[str]:
    """The markdown section: seconds sent per media second, by background and detector."""
    lines = [
        "## What is sent, over silence, noise and music",
        "",
        f"{figures.minutes} minutes of the benchmark's speech minute (four phrases, pauses of "
        f"1, 2.5, 5 and 8 s; {figures.speech_share:.0%} of its 32 ms windows are above "
        f"-50 dBFS) as FLAC: over digital silence, over pink noise (ffmpeg `anoisesrc`) and "
        f"over music (a plucked melody over a chord, ffmpeg `aevalsrc`), each background "
        f"{BED_BELOW_DB:.0f} dB under the speech. Figure: audio seconds sent (the sum of the "
        "chunks' durations) per media second; pauses of 2 s or more should not be sent.",
        "",
        f"| background | detector | sent / media (target <= {TARGET}) | sent | chunks | "
        "split time | Python peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in figures.rows:
        lines.append(
            f"| {row.bed or 'silence'} | {row.detector} | {row.ratio:.2f} "
            f"({_verdict(row.ratio <= TARGET)}) | {row.sent_seconds:.0f} s of "
            f"{row.media_seconds:.0f} s | {row.chunks} | {row.split_s:.2f} s | "
            f"{row.python_peak_mb:.0f} MB |"
        )
    lines += [
        "",
        "Under noise or music the Silero detector runs its model on every 32 ms window (over "
        "digital silence it skips most of them), so the split takes longer there.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
