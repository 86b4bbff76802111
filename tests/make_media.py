"""Makes test media with espeak-ng and ffmpeg: speech with known pauses, in any container.

Never download anything and never depend on the machine's clock: the same call makes the same file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

VOICE = "en+f3"
#: espeak-ng writes 22.05 kHz mono.
RATE = 22050

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "How vexingly quick daft zebras jump.",
    "A wizard's job is to vex chumps quickly in fog.",
    "The five boxing wizards jump quickly.",
    "Sphinx of black quartz, judge my vow.",
    "Bright vixens jump while dozy fowl quack.",
    "Jackdaws love my big sphinx of quartz.",
    "We promptly judged antique ivory buckles for the next prize.",
    "Crazy Frederick bought many very exquisite opal jewels.",
    "Six big devils from Japan quickly forgot how to waltz.",
    "Heavy boxes perform quick waltzes and jigs.",
)

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Layout:
    """Where the speech is in a generated recording: (start, end) seconds of each phrase."""

    duration: float
    phrases: tuple[tuple[float, float], ...]
    texts: tuple[str, ...] = field(default=())

    @property
    def gaps(self) -> tuple[tuple[float, float], ...]:
        """The pauses between phrases, as (start, end) seconds."""
        return tuple(
            (self.phrases[i][1], self.phrases[i + 1][0]) for i in range(len(self.phrases) - 1)
        )

    def speech_seconds(self) -> float:
        return sum(end - start for start, end in self.phrases)


def require_tools() -> None:
    for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is needed to make test media; install it (apt-get install)")


def _run(args: Sequence[str]) -> None:
    subprocess.run(list(args), check=True, stdin=subprocess.DEVNULL, capture_output=True)


def ffmpeg(*args: str) -> None:
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args])


def speak(text: str, workdir: Path) -> Samples:
    """One phrase from espeak-ng, trimmed to where its sound starts and ends."""
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
    out = workdir / f"speak-{digest}-{os.getpid()}.wav"
    _run(["espeak-ng", "-v", VOICE, "-w", str(out), text])
    data, rate = soundfile.read(out, dtype="float32")
    out.unlink()
    if rate != RATE:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected {RATE}")
    loud = np.flatnonzero(np.abs(data) > 1e-3)
    trimmed = data[loud[0] : loud[-1] + 1] if len(loud) else data
    return np.asarray(trimmed, dtype=np.float32)


def compose(
    texts: Sequence[str],
    gaps: Sequence[float],
    workdir: Path,
    *,
    lead: float = 0.5,
    tail: float = 0.5,
    gain: float = 1.0,
    noise_db: float | None = None,
) -> tuple[Samples, Layout]:
    """Phrases separated by the given pauses (seconds); gaps[i] follows texts[i]."""
    cache: dict[str, Samples] = {}
    parts: list[Samples] = [np.zeros(round(lead * RATE), np.float32)]
    phrases: list[tuple[float, float]] = []
    position = len(parts[0])
    for i, text in enumerate(texts):
        if text not in cache:
            cache[text] = speak(text, workdir)
        voice = cache[text] * np.float32(gain)
        phrases.append((position / RATE, (position + len(voice)) / RATE))
        parts.append(voice)
        position += len(voice)
        pause = gaps[i] if i < len(gaps) else tail
        parts.append(np.zeros(round(pause * RATE), np.float32))
        position += len(parts[-1])
    audio = np.concatenate(parts)
    if noise_db is not None:
        rng = np.random.default_rng(1234)
        noise = rng.standard_normal(len(audio)).astype(np.float32)
        audio = audio + noise * np.float32(10 ** (noise_db / 20))
    return audio, Layout(len(audio) / RATE, tuple(phrases), tuple(texts))


def write_wav(audio: Samples, path: Path) -> Path:
    soundfile.write(path, np.clip(audio, -1, 1), RATE, subtype="PCM_16")
    return path


def encode_audio(wav: Path, out: Path) -> Path:
    """The wav in the container its suffix names (.mp3, .ogg, .opus, .m4a, .flac, .wav)."""
    codecs = {
        ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        ".ogg": ["-c:a", "libvorbis", "-q:a", "3"],
        ".opus": ["-c:a", "libopus", "-b:a", "32k"],
        ".m4a": ["-c:a", "aac", "-b:a", "64k"],
        ".flac": ["-c:a", "flac"],
        ".wav": ["-c:a", "pcm_s16le"],
    }
    ffmpeg("-i", str(wav), *codecs[out.suffix], str(out))
    return out


def encode_streamed_webm(wav: Path, out: Path) -> Path:
    """The wav as Opus in a WebM written to a pipe, as a browser's MediaRecorder makes it:
    the container states no duration at all."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(wav)]
    args += ["-c:a", "libopus", "-b:a", "32k", "-f", "webm", "pipe:1"]
    with out.open("wb") as sink:
        subprocess.run(
            args,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
        )
    return out


def encode_video(wav: Path | None, out: Path, *, seconds: float | None = None) -> Path:
    """A test-pattern video with the wav as its audio; .mp4 is H.264/AAC, .mkv and .webm too.

    Without a wav, a video with no audio track at all, `seconds` long.
    """
    size, rate = "160x120", "10"
    video = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    audio = ["-i", str(wav)] if wav is not None else []
    if wav is not None:
        seconds = soundfile.info(str(wav)).duration
    length = ["-t", f"{seconds or 5:.3f}"]
    if out.suffix == ".webm":
        codecs = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k"]
        codecs += ["-c:a", "libopus", "-b:a", "32k"] if wav is not None else []
    else:
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        codecs += ["-c:a", "aac", "-b:a", "64k"] if wav is not None else []
    ffmpeg(*video, *audio, *length, *codecs, "-metadata:s:a:0", "language=eng", str(out))
    return out


def long_layout_plan(seconds: float) -> tuple[list[str], list[float]]:
    """Sentences and pauses (0.4 s to 6 s, cycling) adding up to about `seconds` of media."""
    pauses = (0.4, 0.8, 1.5, 0.6, 3.0, 0.5, 6.0)
    texts: list[str] = []
    gaps: list[float] = []
    estimate = 0.0
    i = 0
    while estimate < seconds:
        texts.append(SENTENCES[i % len(SENTENCES)])
        gaps.append(pauses[i % len(pauses)])
        estimate += 2.6 + gaps[-1]  # an espeak sentence lasts about 2.6 s
        i += 1
    return texts, gaps


def make_long_media(out: Path, seconds: float, workdir: Path) -> Layout:
    """Many minutes of sentences with pauses; a video (test pattern) if out ends in .mp4/.mkv.

    Used by the slow tests and the benchmarks (a 60-minute H.264/AAC video).
    """
    texts, gaps = long_layout_plan(seconds)
    audio, layout = compose(texts, gaps, workdir)
    wav = workdir / f"long-{os.getpid()}.wav"
    write_wav(audio, wav)
    try:
        if out.suffix in (".mp4", ".mkv", ".webm"):
            encode_video(wav, out)
        else:
            encode_audio(wav, out)
    finally:
        wav.unlink()
    return layout


def decode_16k(path: Path) -> npt.NDArray[np.int16]:
    """The first audio track as 16 kHz mono samples, decoded independently of ffmpeg_bridge."""
    done = subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0"),
            *("-ac", "1", "-ar", "16000", "-f", "s16le", "-"),
        ],
        check=True,
        capture_output=True,
    )
    return np.frombuffer(done.stdout, dtype="<i2")


def decode(path: Path) -> Samples:
    """The first audio track as mono float samples at RATE, to mix with generated media."""
    done = subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0"),
            *("-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"),
        ],
        check=True,
        capture_output=True,
    )
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)


def ffprobe_duration(path: Path) -> float:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip())


#: Kinds of background `background()` makes.
BACKGROUNDS = ("pink", "brown", "white", "chord", "melody")
#: Equal-tempered semitones of the melody and the chord under it (A minor, then F, C and G).
_MELODY = (0, 3, 7, 12, 10, 7, 3, 5, 8, 12, 7, 3, 2, 5, 10, 7)
_CHORDS = ((0, 3, 7), (-4, 0, 3), (3, 7, 10), (-2, 2, 5))


def _tone(freq: float, seconds: float, harmonics: int = 5) -> Samples:
    """A plucked, harmonic-rich note: what makes music look like a voice to a detector."""
    t = np.arange(round(seconds * RATE), dtype=np.float64) / RATE
    note = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-2.5 * t)
    return (note * envelope).astype(np.float32)


def music(seconds: float, kind: str = "melody") -> Samples:
    """Generated music: a sustained chord ("chord") or a melody over changing chords."""
    n = round(seconds * RATE)
    if kind == "chord":
        t = np.arange(n, dtype=np.float64) / RATE
        freqs = (220.0, 277.18, 329.63, 440.0)
        chord = sum(np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in freqs)
        return np.asarray(chord, dtype=np.float32)
    out = np.zeros(n + RATE, dtype=np.float32)
    beat = 0.4
    for i in range(int(seconds / beat) + 1):
        at = round(i * beat * RATE)
        note = _tone(440.0 * 2 ** (_MELODY[i % len(_MELODY)] / 12), 0.8)
        out[at : at + len(note)] += note[: len(out) - at]
        if i % 4 == 0:
            for step in _CHORDS[(i // 4) % len(_CHORDS)]:
                pad = 0.5 * _tone(220.0 * 2 ** (step / 12), 4 * beat, harmonics=3)
                out[at : at + len(pad)] += pad[: len(out) - at]
    return out[:n]


def noise(seconds: float, colour: str, workdir: Path) -> Samples:
    """Coloured noise from ffmpeg's anoisesrc (fixed seed: the same call, the same noise)."""
    out = workdir / f"noise-{colour}-{seconds:.3f}-{os.getpid()}.wav"
    ffmpeg(
        *("-f", "lavfi", "-i", f"anoisesrc=d={seconds:.3f}:c={colour}:r={RATE}:a=0.5:s=42"),
        *("-ac", "1", "-c:a", "pcm_f32le", str(out)),
    )
    data, _ = soundfile.read(out, dtype="float32")
    out.unlink()
    return np.asarray(data[: round(seconds * RATE)], dtype=np.float32)


def background(kind: str, seconds: float, workdir: Path) -> Samples:
    """`seconds` of one of BACKGROUNDS, at no particular level (mix() sets it)."""
    if kind in ("chord", "melody"):
        return music(seconds, kind)
    if kind in ("pink", "brown", "white"):
        return noise(seconds, kind, workdir)
    raise ValueError(f"background {kind!r} is not one of {', '.join(BACKGROUNDS)}")


def rms_db(audio: Samples) -> float:
    power = float(np.mean(np.square(audio, dtype=np.float64))) if len(audio) else 0.0
    return 10 * float(np.log10(max(power, 1e-20)))


def mix(audio: Samples, layout: Layout, under: Samples, below_db: float) -> Samples:
    """`audio` with `under` added `below_db` dB under the speech's level (RMS over its phrases)."""
    voiced = np.concatenate([audio[round(a * RATE) : round(b * RATE)] for a, b in layout.phrases])
    gain = 10 ** ((rms_db(voiced) - below_db - rms_db(under)) / 20)
    bed = np.resize(under, len(audio)) * np.float32(gain)
    return (audio + bed).astype(np.float32)
