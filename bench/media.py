"""Makes the benchmark's media: long H.264/AAC videos of speech with pauses, cached in bench/out.

Only for benchmarks: trusted inputs, so lavfi and concat are used here, never in ffmpeg_bridge.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

PHRASES = [
    "The quarterly report shows steady growth in every region we serve.",
    "Please remember to bring the signed forms to the front desk tomorrow morning.",
    "Our next meeting will cover the budget, the schedule and the new hires.",
    "Thank you all for coming, and see you again next week.",
]


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def speech_minute(workdir: Path) -> Path:
    """One minute of speech (espeak-ng en+f3) with pauses of 1 to 5 s, as 16 kHz WAV."""
    path = workdir / "minute.wav"
    if path.exists():
        return path
    parts: list[Path] = []
    for i, text in enumerate(PHRASES):
        wav = workdir / f"phrase{i}.wav"
        _run(["espeak-ng", "-v", "en+f3", "-s", "150", "-w", str(wav), text])
        parts.append(wav)
    # Phrase, pause, phrase...: pauses of 1, 2.5, 5 and 8 s, so some are sent and some skipped.
    pauses = [1.0, 2.5, 5.0, 8.0]
    inputs: list[str] = []
    filters: list[str] = []
    for i, (wav, pause) in enumerate(zip(parts, pauses, strict=True)):
        inputs += ["-i", str(wav)]
        filters.append(f"[{i}:a]aresample=16000,apad=pad_dur={pause}[p{i}]")
    concat = "".join(f"[p{i}]" for i in range(len(parts)))
    graph = ";".join(filters) + f";{concat}concat=n={len(parts)}:v=0:a=1,apad=whole_dur=60[a]"
    _run(
        ["ffmpeg", "-nostdin", "-y", *inputs, "-filter_complex", graph, "-map", "[a]",
         "-ac", "1", "-ar", "16000", "-t", "60", str(path)]
    )  # fmt: skip
    return path


def _looped(minutes: int, suffix: str, encode: list[str], video: list[str] | None = None) -> Path:
    """``minutes`` of repeated speech minutes, made once and cached in bench/out.

    ``video``, when given, are the input arguments of a picture to put under the sound.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"speech-{minutes}min{suffix}"
    if path.exists():
        return path
    minute = speech_minute(OUT)
    tmp = path.with_suffix(".part" + suffix)
    maps = ["-map", "0:v", "-map", "1:a"] if video else []
    _run(
        ["ffmpeg", "-nostdin", "-y", *(video or []), "-stream_loop", "-1", "-i", str(minute),
         *maps, "-t", str(minutes * 60), *encode, str(tmp)]
    )  # fmt: skip
    tmp.rename(path)
    return path


def long_video(minutes: int) -> Path:
    """A ``minutes`` long H.264/AAC MP4: a small test pattern over repeated speech minutes."""
    return _looped(
        minutes,
        ".mp4",
        ["-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2"],
        video=["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10"],
    )  # fmt: skip


def long_audio(minutes: int) -> Path:
    """A ``minutes`` long FLAC of repeated speech minutes (for the request benchmarks)."""
    return _looped(minutes, ".flac", ["-c:a", "flac"])
