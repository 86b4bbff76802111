"""Cuts a media file's first audio track into chunk files at silences, and gathers its waveform's
peaks, decoding it exactly once.

Never keep more than a chunk or two of audio in memory, never decode video, never leave files
behind when something fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import ffmpeg
import numpy as np
import soundfile

from . import safety, settings
from .detect import SpeechDetector, make_detector, speech_detector
from .errors import FFmpegFailed, MediaTooLong, NoAudioTrack
from .peaks import PeakAccumulator
from .plan import DEFAULT_SETTINGS, ChunkPlanner, Int16Array, SplitSettings
from .probe import probe
from .runner import FFmpegProcess
from .types import Chunk, Chunks, MediaInfo

Progress = Callable[[float], None]

#: soundfile's format and subtype for each chunk format.
_FORMATS: dict[str, tuple[str, str]] = {
    "flac": ("FLAC", "PCM_16"),
    "wav": ("WAV", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
#: libFLAC level 6 of 8: within 0.5 % of the smallest files on speech, a third faster than 8,
#: whose encoding is most of split()'s own CPU time.
_FLAC_LEVEL = 0.75
#: Blocks of PCM the reader thread may hold ahead of the planner.
_QUEUE_BLOCKS = 4
#: Linux lets a pipe hold this much; a larger pipe lets ffmpeg run ahead while we encode.
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def decode_args(path: Path, fd: int, sample_rate: int) -> list[str]:
    """ffmpeg arguments: the first audio track as mono s16le PCM on fd, progress on stdout."""
    source = ffmpeg.input(safety.input_url(path), **safety.input_options())
    # async/first_pts pad a late start or a gap with silence, so sample n is at n / rate
    # seconds in the source's timeline.
    output = source["a:0"].output(
        f"pipe:{fd}",
        f="s16le",
        acodec="pcm_s16le",
        ac=1,
        ar=sample_rate,
        af="aresample=async=1:first_pts=0",
        # Write whole I/O buffers, not one small write per audio frame: far fewer syscalls
        # and thread wake-ups on our side of the pipe.
        flush_packets=0,
        vn=None,
        sn=None,
        dn=None,
    )
    args: list[str] = output.get_args()
    return [
        settings.ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-stats_period",
        "0.1",
        *args,
    ]


def split(
    path: str | Path,
    workdir: str | Path,
    *,
    max_chunk_seconds: float = 30,
    fmt: str = "flac",
    progress: Progress | None = None,
    max_media_seconds: float | None = None,
    timeout: float | None = None,
    info: MediaInfo | None = None,
    detector: str = "auto",
    model_path: str | Path | None = None,
) -> Chunks:
    """Write the speech of path's first audio track as chunk files in workdir, cut at pauses.

    Chunk times are in the source's timeline; long stretches without speech are not written.
    The list returned also tells how long the decoded audio was (``decoded_seconds``), which
    speech detector found the speech (``detector``) and the waveform's ``peaks`` over the whole
    decoded audio (ffmpeg_bridge.peaks: min and max per window, gathered in the same decode).
    ``info`` is probe(path) when the caller already has it (ffprobe is then not run again).
    ``detector`` is "silero" (a neural voice detector: hears speech over noise and music),
    "level" (loudness) or "auto" (silero where onnxruntime is installed, else level);
    "silero" raises DetectorUnavailable where it cannot run. ``model_path`` replaces the
    vendored Silero model.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"chunk format {fmt!r} is not one of {', '.join(_FORMATS)}")
    if not max_chunk_seconds >= 1:
        raise ValueError(f"max_chunk_seconds must be at least 1 second, not {max_chunk_seconds}")
    detector = speech_detector(detector, model_path)
    path = Path(path)
    workdir = Path(workdir).absolute()
    if not workdir.is_dir():
        raise NotADirectoryError(f"{workdir} is not a directory; create it before splitting")
    limit = settings.max_media_seconds() if max_media_seconds is None else max_media_seconds
    if info is None:
        info = probe(path, timeout=settings.DEFAULT_PROBE_TIMEOUT if timeout is None else timeout)
    if not info.has_audio:
        raise NoAudioTrack(path.name)
    if info.duration > limit:
        raise MediaTooLong(path.name, info.duration, limit)
    # Made before ffmpeg starts: a model that cannot load fails the call with nothing to undo.
    speech = make_detector(detector, DEFAULT_SETTINGS, model_path=model_path)
    writer = _ChunkWriter(workdir, fmt, DEFAULT_SETTINGS.sample_rate)
    peaks = PeakAccumulator(DEFAULT_SETTINGS.sample_rate)
    try:
        _decode_and_cut(
            path,
            writer,
            speech,
            peaks,
            max_chunk_seconds=max_chunk_seconds,
            duration=info.duration,
            limit=limit,
            progress=progress,
            timeout=settings.split_timeout(info.duration) if timeout is None else timeout,
        )
    except BaseException:
        writer.remove_all()
        raise
    if progress is not None:
        progress(1.0)
    return Chunks(
        writer.chunks,
        decoded_seconds=writer.decoded_samples / writer.sample_rate,
        detector=speech.name,
        peaks=peaks.result(),
    )


class _ChunkWriter:
    def __init__(self, workdir: Path, fmt: str, sample_rate: int) -> None:
        self.workdir = workdir
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.chunks: list[Chunk] = []
        self.decoded_samples = 0
        self._paths: list[Path] = []

    def write(self, samples: Int16Array, start_sample: int) -> None:
        index = len(self.chunks)
        target = self.workdir / f"chunk-{index:05d}.{self.fmt}"
        self._paths.append(target)
        container, subtype = _FORMATS[self.fmt]
        extra: dict[str, float] = {"compression_level": _FLAC_LEVEL} if self.fmt == "flac" else {}
        soundfile.write(
            target, samples, self.sample_rate, format=container, subtype=subtype, **extra
        )
        start = start_sample / self.sample_rate
        end = (start_sample + len(samples)) / self.sample_rate
        self.chunks.append(Chunk(index=index, start=start, end=end, path=target))

    def remove_all(self) -> None:
        for target in self._paths:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        self.chunks = []
        self._paths = []


class _ProgressReader:
    """Reads ffmpeg's `-progress` key=value lines; keeps the latest output time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us":
                with contextlib.suppress(ValueError):
                    self.seconds = max(self.seconds, int(value) / 1e6)

    def join(self) -> None:
        self._thread.join()


class _PcmReader:
    """Reads PCM in blocks of exactly `block_bytes` (the last may be short) on its own thread.

    Fixed block sizes keep the analysis independent of how the pipe delivered the bytes; the
    thread lets ffmpeg keep decoding while the planner works and chunks are encoded.
    """

    def __init__(self, fd: int, block_bytes: int) -> None:
        self.blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(_QUEUE_BLOCKS)
        self._stream = os.fdopen(fd, "rb", buffering=0)
        self._block_bytes = block_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                block = self._fill()
                if not block:
                    break
                self._put(block)
                if len(block) < self._block_bytes:
                    break
            self._put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def _fill(self) -> bytes:
        buffer = bytearray(self._block_bytes)
        view = memoryview(buffer)
        filled = 0
        while filled < self._block_bytes:
            got = self._stream.readinto(view[filled:])
            if not got:
                break
            filled += got
        return bytes(buffer[:filled])

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self.blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self._stream.close()


def _decode_and_cut(
    path: Path,
    writer: _ChunkWriter,
    detector: SpeechDetector,
    peaks: PeakAccumulator,
    *,
    max_chunk_seconds: float,
    duration: float,
    limit: float,
    progress: Progress | None,
    timeout: float,
    split_settings: SplitSettings = DEFAULT_SETTINGS,
) -> None:
    s = split_settings
    frame = s.frame
    block_bytes = s.block_frames * frame * 2
    max_samples = int((limit + 1.0) * s.sample_rate)
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    try:
        process = FFmpegProcess(
            decode_args(path, write_fd, s.sample_rate),
            what=f"decoding {path.name}",
            timeout=timeout,
            pass_fds=(write_fd,),
        )
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    os.close(write_fd)
    with process:
        assert process.stdout is not None
        ticker = _ProgressReader(process.stdout)
        reader = _PcmReader(read_fd, block_bytes)
        try:
            planner = ChunkPlanner(max_chunk_seconds, s)
            pending: Int16Array = np.zeros(0, dtype=np.int16)
            pending_start = 0  # absolute sample index of pending[0]
            decoded = 0
            reported = 0.0
            while True:
                item = reader.blocks.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    spans = planner.feed(*detector.finish()) + planner.finish()
                else:
                    block = np.frombuffer(item[: len(item) - len(item) % 2], dtype="<i2")
                    decoded += len(block)
                    if decoded > max_samples:
                        process.kill()
                        raise MediaTooLong(path.name, decoded / s.sample_rate, limit)
                    spans = planner.feed(*detector.feed(block))
                    peaks.feed(block)
                    pending = np.concatenate((pending, block.astype(np.int16, copy=False)))
                for first, last in spans:
                    lo = first * frame - pending_start
                    hi = min(last * frame, pending_start + len(pending)) - pending_start
                    writer.write(pending[lo:hi], first * frame)
                if item is None:
                    break
                keep = planner.keep_from * frame - pending_start
                if keep > 0:
                    pending = pending[keep:]
                    pending_start += keep
                if progress is not None and duration > 0:
                    # ffmpeg reports at most every stats period; what we consumed is
                    # finer when decoding is fast.
                    done = max(ticker.seconds, decoded / s.sample_rate)
                    fraction = min(done / duration, 0.999)
                    if fraction > reported:
                        reported = fraction
                        progress(fraction)
            returncode = process.wait()
            writer.decoded_samples = decoded
        finally:
            if process.proc.poll() is None:
                process.kill()
            reader.close()
        ticker.join()
        if returncode != 0:
            raise FFmpegFailed(f"decoding {path.name}", process.last_line(), returncode)
