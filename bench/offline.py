"""Benchmark: our pipeline with the local backend against faster-whisper's own VAD transcription.

Each contender runs in a fresh process, alternating, medians of 3; never judged from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import soundfile

from .media import OUT
from .wer import normalize

RUNS = 3
VOICE = "en+f3"
RATE = 22_050  # espeak-ng's own rate
#: Public domain: Lincoln's Gettysburg Address (1863) and the Preamble of the U.S. Constitution,
#: in phrases read one by one, with pauses between them.
PHRASES: tuple[str, ...] = (
    "Four score and seven years ago our fathers brought forth on this continent,",
    "a new nation, conceived in Liberty,",
    "and dedicated to the proposition that all men are created equal.",
    "Now we are engaged in a great civil war,",
    "testing whether that nation, or any nation so conceived and so dedicated,",
    "can long endure.",
    "We are met on a great battle-field of that war.",
    "We have come to dedicate a portion of that field,",
    "as a final resting place for those who here gave their lives",
    "that that nation might live.",
    "It is altogether fitting and proper that we should do this.",
    "But, in a larger sense, we can not dedicate,",
    "we can not consecrate, we can not hallow this ground.",
    "The brave men, living and dead, who struggled here,",
    "have consecrated it, far above our poor power to add or detract.",
    "The world will little note, nor long remember what we say here,",
    "but it can never forget what they did here.",
    "It is for us the living, rather, to be dedicated here",
    "to the unfinished work which they who fought here have thus far so nobly advanced.",
    "It is rather for us to be here dedicated to the great task remaining before us,",
    "that from these honored dead we take increased devotion",
    "to that cause for which they gave the last full measure of devotion,",
    "that we here highly resolve that these dead shall not have died in vain,",
    "that this nation, under God, shall have a new birth of freedom,",
    "and that government of the people, by the people, for the people,",
    "shall not perish from the earth.",
    "We the People of the United States,",
    "in Order to form a more perfect Union,",
    "establish Justice, insure domestic Tranquility,",
    "provide for the common defence, promote the general Welfare,",
    "and secure the Blessings of Liberty to ourselves and our Posterity,",
    "do ordain and establish this Constitution for the United States of America.",
)
#: The pauses after each phrase, drawn once from a fixed seed: the same file on every machine.
_DRAW = random.Random(1863)
PAUSES: tuple[float, ...] = tuple(round(_DRAW.uniform(0.5, 6.0), 2) for _ in PHRASES)


def make_media() -> tuple[Path, str]:
    """The speech file (cached in bench/out) and its reference text."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "offline-gettysburg.flac"
    reference = " ".join(PHRASES)
    if path.exists():
        return path, reference
    pieces: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    for i, (text, pause) in enumerate(zip(PHRASES, PAUSES, strict=True)):
        wav = OUT / f"offline-phrase-{i}.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", "150", "-w", str(wav), text],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
        data, rate = soundfile.read(str(wav), dtype="float32")
        assert rate == RATE, rate
        wav.unlink()
        pieces.append(data)
        pieces.append(np.zeros(round(pause * RATE), dtype=np.float32))
    tmp = path.with_suffix(".part.flac")
    soundfile.write(str(tmp), np.concatenate(pieces), RATE)
    tmp.rename(path)
    return path, reference


def decode_16k(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    """16 kHz mono float32 by ffmpeg: faster-whisper's own PyAV decoding breaks with PyAV 15+."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path),
         "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.float32).copy()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: Path, concurrency: int, backend_options: dict[str, Any]) -> dict[str, Any]:
    from django_voxtral.speech.backends import load_backend
    from django_voxtral.speech.backends.options import TranscriptionOptions
    from django_voxtral.speech.pipeline import transcribe_media

    options = TranscriptionOptions(language="en")
    with load_backend("local", **backend_options) as backend:
        # The model is loaded (and assembled, once) before the clock starts, as for the baseline.
        backend._model()  # type: ignore[attr-defined]
        began = time.perf_counter()
        result = transcribe_media(path, backend, options, concurrency=concurrency)
        seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "text": result.text,
        "words": len(result.words),
        "peak_mb": peak_mb(),
    }


def run_baseline(path: Path) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    from django_voxtral.speech.backends.whisper_models import cache_root, resolve

    folder, _ = resolve("base", cache_root(None))  # the same assembled model as ours
    model = WhisperModel(folder, device="cpu", compute_type="int8")
    began = time.perf_counter()
    audio = decode_16k(path)
    segments, _info = model.transcribe(audio, language="en", vad_filter=True)
    text = " ".join(s.text.strip() for s in segments)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "text": text, "peak_mb": peak_mb()}


def _fresh(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.offline", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@dataclass
class OfflineFigures:
    media_seconds: float
    speech_seconds: float
    phrases: int
    concurrency: int
    baseline_s: float
    ours_s: float
    baseline_wer: float
    ours_wer: float
    baseline_runs: list[float]
    ours_runs: list[float]
    baseline_peak_mb: float
    ours_peak_mb: float

    @property
    def ratio(self) -> float:
        return self.ours_s / self.baseline_s

    @property
    def met(self) -> bool:
        return self.ours_s <= self.baseline_s and self.ours_wer <= self.baseline_wer


def measure(
    runs: int = RUNS, concurrency: int = 8, backend_options: dict[str, Any] | None = None
) -> OfflineFigures:
    path, reference = make_media()
    info = soundfile.info(str(path))
    ours_args = [
        "--run",
        "ours",
        "--concurrency",
        str(concurrency),
        "--options",
        json.dumps(backend_options or {}),
        str(path),
    ]
    baselines: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    for _ in range(runs):
        baselines.append(_fresh(["--run", "baseline", str(path)]))
        ours.append(_fresh(ours_args))
    want = normalize(reference)
    speech = info.duration - sum(PAUSES)
    return OfflineFigures(
        media_seconds=info.duration,
        speech_seconds=speech,
        phrases=len(PHRASES),
        concurrency=concurrency,
        baseline_s=statistics.median(r["seconds"] for r in baselines),
        ours_s=statistics.median(r["seconds"] for r in ours),
        baseline_wer=statistics.median(jiwer.wer(want, normalize(r["text"])) for r in baselines),
        ours_wer=statistics.median(jiwer.wer(want, normalize(r["text"])) for r in ours),
        baseline_runs=[round(r["seconds"], 2) for r in baselines],
        ours_runs=[round(r["seconds"], 2) for r in ours],
        baseline_peak_mb=max(r["peak_mb"] for r in baselines),
        ours_peak_mb=max(r["peak_mb"] for r in ours),
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(f: OfflineFigures) -> list[str]:
    """The markdown section for BENCHMARKS.md."""
    return [
        "## Offline engine: our pipeline against faster-whisper's own transcription",
        "",
        f"A {f.media_seconds / 60:.1f}-minute speech file ({f.phrases} phrases of the "
        f"Gettysburg Address and the Preamble read by espeak-ng `{VOICE}`, "
        f"{f.speech_seconds:.0f} s of speech, pauses of 0.5 to 6 s), 22.05 kHz FLAC, "
        f"`bench/out/`. Both use the same Whisper base model (int8 on CPU, beam 5, "
        "language en), loaded before the clock starts. Baseline: faster-whisper's "
        "`WhisperModel.transcribe(audio, vad_filter=True)` on the file decoded to 16 kHz float "
        "by ffmpeg (its own PyAV decoding fails with current PyAV; the decode is timed). Ours: "
        f'`transcribe_media(path, load_backend("local"), concurrency={f.concurrency})`: '
        "probe, split at silences, chunks through the local backend, with word times "
        "(the baseline has none). Target: at least as fast, word error rate no higher.",
        "",
        "| | wall time (median) | runs | word error rate | peak memory |",
        "| --- | --- | --- | --- | --- |",
        f"| faster-whisper, vad_filter=True | {f.baseline_s:.1f} s | "
        f"{', '.join(f'{s:.1f}' for s in f.baseline_runs)} | {f.baseline_wer:.3f} | "
        f"{f.baseline_peak_mb:.0f} MB |",
        f"| ours, pipeline + local backend | {f.ours_s:.1f} s | "
        f"{', '.join(f'{s:.1f}' for s in f.ours_runs)} | {f.ours_wer:.3f} | "
        f"{f.ours_peak_mb:.0f} MB |",
        "",
        f"Ratio ours / baseline: {f.ratio:.2f} (target <= 1.00, word error rate no higher: "
        f"{verdict(f.met)}).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.offline")
    parser.add_argument("--run", choices=("ours", "baseline"))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--options", default="{}")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("path", nargs="?")
    args = parser.parse_args()
    if args.run == "ours":
        print(json.dumps(run_ours(Path(args.path), args.concurrency, json.loads(args.options))))
    elif args.run == "baseline":
        print(json.dumps(run_baseline(Path(args.path))))
    else:
        figures = measure(args.runs, args.concurrency, json.loads(args.options))
        print("\n".join(report(figures)))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
