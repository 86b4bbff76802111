"""Makes the benchmark's media: long H.264/AAC videos of speech with pauses, cached in bench/out.

Only for benchmarks: trusted inputs, so lavfi and concat are used here, never in ffmpeg_bridge.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile

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


#: Backgrounds bed_minute() can put under the speech, as ffmpeg lavfi sources (trusted here).
_NOTES = (0, 3, 7, 12, 10, 7, 3, 5)
_NOTE = "+".join(f"{n}*eq(mod(floor(t/0.4),8),{i})" for i, n in enumerate(_NOTES) if n)
_FREQ = f"440*pow(2,({_NOTE})/12)"
_PLUCK = "pow(sin(PI*mod(t,0.4)/0.4),2)"
_HARMONICS = "+".join(f"{1 / k:.3f}*sin({2 * k}*PI*{_FREQ}*t)" for k in (1, 2, 3))
_CHORD = "0.3*(sin(2*PI*220*t)+sin(2*PI*261.63*t)+sin(2*PI*329.63*t))"
BEDS = {
    "noise": "anoisesrc=d=60:c=pink:r=16000:a=0.5:s=42",
    # A plucked melody of harmonic tones over a sustained A minor chord.
    "music": f"aevalsrc='{_PLUCK}*({_HARMONICS})+{_CHORD}':s=16000:d=60",
}
#: The background sits this far under the speech's level (RMS over the voiced windows).
BED_BELOW_DB = 18.0


def _voiced_rms_db(samples: np.ndarray) -> float:
    windows = samples[: len(samples) // 512 * 512].reshape(-1, 512).astype(np.float64)
    power = np.mean(windows * windows, axis=1)
    voiced = power[power > 10 ** (-50 / 10)]
    return 10 * float(np.log10(np.mean(voiced)))


def speech_share() -> float:
    """Share of the speech minute's 32 ms windows above -50 dBFS: how much of it is speech."""
    samples, _ = soundfile.read(speech_minute(OUT), dtype="float32")
    windows = samples[: len(samples) // 512 * 512].reshape(-1, 512).astype(np.float64)
    return float(np.mean(np.mean(windows * windows, axis=1) > 10 ** (-50 / 10)))


def bed_minute(bed: str) -> Path:
    """The speech minute with a background (a key of BEDS) BED_BELOW_DB under it, 16 kHz WAV."""
    path = OUT / f"minute-{bed}.wav"
    if path.exists():
        return path
    speech, rate = soundfile.read(speech_minute(OUT), dtype="float32")
    raw = OUT / f"bed-{bed}.wav"
    _run(["ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", BEDS[bed], "-ac", "1",
          "-c:a", "pcm_f32le", str(raw)])  # fmt: skip
    under, _ = soundfile.read(raw, dtype="float32")
    raw.unlink()
    under = np.resize(under, len(speech))
    level = 10 * np.log10(np.mean(under.astype(np.float64) ** 2))
    gain = 10 ** ((_voiced_rms_db(speech) - BED_BELOW_DB - level) / 20)
    soundfile.write(path, np.clip(speech + under * gain, -1, 1), rate, subtype="PCM_16")
    return path


def _looped(
    minutes: int,
    suffix: str,
    encode: list[str],
    video: list[str] | None = None,
    bed: str | None = None,
) -> Path:
    """``minutes`` of repeated speech minutes, made once and cached in bench/out.

    ``video``, when given, are the input arguments of a picture to put under the sound;
    ``bed`` a background under the speech (see bed_minute).
    """
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"speech-{minutes}min{'-' + bed if bed else ''}{suffix}"
    if path.exists():
        return path
    minute = speech_minute(OUT) if bed is None else bed_minute(bed)
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


def long_audio(minutes: int, bed: str | None = None) -> Path:
    """A ``minutes`` long FLAC of repeated speech minutes (for the request benchmarks), over
    a background when ``bed`` ("noise" or "music") is given."""
    return _looped(minutes, ".flac", ["-c:a", "flac"], bed=bed)
