"""Plain value types of the media floor: what probe() finds and what split() writes.

Only data and small derived properties here; never run a process or touch a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .peaks import Peaks


@dataclass(frozen=True, slots=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int
    language: str | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    container: str
    duration: float
    audio_streams: tuple[AudioStream, ...] = ()
    has_video: bool = False

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["audio_streams"] = [asdict(s) for s in self.audio_streams]
        data["has_audio"] = self.has_audio
        return data


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of the source's audio: times are seconds in the source's own timeline."""

    index: int
    start: float
    end: float
    path: Path = field(compare=False)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "end": self.end, "path": str(self.path)}


class Chunks(list[Chunk]):
    """What split() returns: the chunks, and how many seconds of audio the decoder gave.

    ``decoded_seconds`` is the real length where the container states none (a WebM recorded
    in a browser), so callers need not trust a duration of 0 from probe(). ``detector`` is the
    speech detector that found the speech ("silero" or "level"): the same file cut by another
    detector gives other chunks, so a caller that resumes should keep it. ``peaks`` is the
    waveform of the whole decoded audio (min and max per window, see ffmpeg_bridge.peaks).
    """

    def __init__(
        self,
        chunks: Iterable[Chunk] = (),
        *,
        decoded_seconds: float = 0.0,
        detector: str = "",
        peaks: Peaks | None = None,
    ) -> None:
        super().__init__(chunks)
        self.decoded_seconds = decoded_seconds
        self.detector = detector
        self.peaks = peaks if peaks is not None else Peaks(0.0, decoded_seconds)
