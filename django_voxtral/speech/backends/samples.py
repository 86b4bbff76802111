"""Audio files as the offline engine wants them: 16 kHz mono float32 samples, read with soundfile.

Never run ffmpeg or decode through the engine's own reader: chunk files are FLAC or WAV already.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from .errors import BadAudio

SAMPLE_RATE = 16_000

Samples = npt.NDArray[np.float32]


def _fft_resample(
    samples: npt.NDArray[np.float64], rate: int, target: int, step: int
) -> npt.NDArray[np.float64]:
    # Padded to whole steps so that the output's sample times are exactly k / target: an FFT
    # resampler maps the whole input onto the whole output, stretching any remainder.
    padded = np.pad(samples, (0, -samples.size % step))
    count = padded.size * target // rate
    spectrum = np.fft.rfft(padded)
    kept = np.zeros(count // 2 + 1, dtype=np.complex128)
    bins = min(kept.size, spectrum.size)
    kept[:bins] = spectrum[:bins]
    out: npt.NDArray[np.float64] = np.fft.irfft(kept, count) * (count / padded.size)
    return out[: round(samples.size * target / rate)]


def resample(
    samples: npt.NDArray[np.float64], rate: int, target: int, *, block_seconds: float = 60.0
) -> npt.NDArray[np.float64]:
    """Band-limited resampling by Fourier transform, in overlapping blocks for long audio.

    An ideal low-pass at the lower Nyquist limit, like ffmpeg's resampler: filters that also
    dull 5-8 kHz cost speech engines words. Blocks keep memory flat; their seams fall in the
    middle of one-second margins that are computed twice and thrown away.
    """
    if rate == target or samples.size == 0:
        return samples
    step = rate // math.gcd(rate, target)  # source samples that map onto whole target samples
    out_step = target * step // rate
    total = round(samples.size * target / rate)
    block = max(1, math.ceil(block_seconds * rate / step)) * step
    margin = max(1, math.ceil(rate / step)) * step
    if samples.size <= block + 2 * margin:
        return _fft_resample(samples, rate, target, step)
    pieces: list[npt.NDArray[np.float64]] = []
    for start in range(0, samples.size, block):
        lo = max(0, start - margin)
        hi = min(samples.size, start + block + margin)
        out = _fft_resample(samples[lo:hi], rate, target, step)
        skip = (start - lo) // step * out_step
        keep = min(block, samples.size - start) * target / rate
        pieces.append(out[skip : skip + round(keep)])
    joined = np.concatenate(pieces)
    return joined[:total]


def read_samples(path: str | Path) -> tuple[Samples, float]:
    """The file's audio as 16 kHz mono float32 in [-1, 1], and its length in seconds."""
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise BadAudio(
            f"The local backend could not read {Path(path).name} ({exc}); it reads WAV, FLAC, "
            "OGG and MP3: convert other media first (voxtral transcribe does)."
        ) from None
    rate = int(rate)
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    duration = mono.size / rate if rate else 0.0
    if rate != SAMPLE_RATE:
        mono = resample(mono.astype(np.float64), rate, SAMPLE_RATE).astype(np.float32)
    out: Samples = np.ascontiguousarray(np.clip(mono, -1.0, 1.0), dtype=np.float32)
    return out, duration
