"""Benchmark: memory of the gunicorn worker that receives a 1 GB upload at POST /api/transcripts/.

Streams the file from disk (never holds it whole, here or there) to its own server on 127.0.0.1,
and deletes the file afterwards.
"""

from __future__ import annotations

import http.client
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .serve import HOST, WORKERS, Site, serve

SIZE = 1_000_000_000  # bytes: just under MAX_UPLOAD_SIZE (1 GiB)
RATE = 48_000  # 48 kHz stereo 16-bit: 1 GB is 87 minutes, under MAX_MEDIA_SECONDS (4 hours)
CHANNELS = 2
BLOCK = 1 << 20
SAMPLE_S = 0.01
RUNS = 2
BEFORE_GROWTH_MB = 9.5  # measured before issue 7


def write_wav(path: Path, size: int, rate: int = RATE, channels: int = CHANNELS) -> None:
    """A WAV of silence of exactly `size` bytes (sparse: zeros are not written to disk)."""
    data = size - 44
    data -= data % (2 * channels)
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
    header += b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16
    )
    header += b"data" + struct.pack("<I", data)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(44 + data)


def _proc_kb(pid: int, key: str) -> int:
    """A line of /proc/<pid>/status in kB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _rchar(pid: int) -> int:
    """Bytes the process has read (sockets included), from /proc/<pid>/io."""
    with open(f"/proc/{pid}/io", encoding="ascii") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise KeyError("rchar")


def upload(site: Site, path: Path, name: str) -> tuple[int, bytes]:
    """POST the file as multipart/form-data, streamed from disk in 1 MiB blocks."""
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="{name}"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection(HOST, site.port, timeout=600)
    try:
        conn.putrequest("POST", "/api/transcripts/")
        conn.putheader("Authorization", f"Token {site.token}")
        conn.putheader("Accept", "application/json")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        with open(path, "rb") as f:
            while block := f.read(BLOCK):
                conn.send(block)
        conn.send(tail)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@dataclass
class UploadRun:
    run: int
    status: int
    seconds: float
    worker_pid: int
    before_kb: int  # VmRSS of that worker just before the upload
    peak_kb: int  # the highest VmRSS sampled during it
    hwm_before_kb: int  # VmHWM before and after: the kernel's own high-water mark
    hwm_after_kb: int
    samples: int

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.before_kb) / 1024

    @property
    def hwm_growth_mb(self) -> float:
        return (self.hwm_after_kb - self.hwm_before_kb) / 1024


def measure_once(run: int) -> UploadRun:
    with serve("sqlite", timeout_s=600) as site:
        small = site.folder / "warmup.wav"
        write_wav(small, 44 + 4 * RATE, channels=CHANNELS)  # one second
        big = site.folder / "big.wav"
        write_wav(big, SIZE)
        try:
            # Warm the workers up until each has taken a small upload (at most 20 of them), so
            # each has imported the upload's code path before the figure.
            pids = site.workers()
            read_start = {pid: _rchar(pid) for pid in pids}
            for _ in range(20):
                status, body = upload(site, small, "warmup.wav")
                assert status == 202, (status, body[:500])
                grown = [_rchar(p) - read_start[p] for p in pids]
                if min(grown) >= small.stat().st_size:
                    break
            before = {pid: _proc_kb(pid, "VmRSS") for pid in pids}
            hwm_before = {pid: _proc_kb(pid, "VmHWM") for pid in pids}
            read_before = {pid: _rchar(pid) for pid in pids}
            peaks = dict(before)
            samples = 0
            stop = threading.Event()

            def sample() -> None:
                nonlocal samples
                while not stop.is_set():
                    for pid in pids:
                        peaks[pid] = max(peaks[pid], _proc_kb(pid, "VmRSS"))
                    samples += 1
                    time.sleep(SAMPLE_S)

            sampler = threading.Thread(target=sample)
            sampler.start()
            t0 = time.perf_counter()
            try:
                status, body = upload(site, big, "big.wav")
            finally:
                seconds = time.perf_counter() - t0
                stop.set()
                sampler.join()
            # The worker that handled it is the one that read the gigabyte.
            pid = max(pids, key=lambda p: _rchar(p) - read_before[p])
            return UploadRun(
                run=run,
                status=status,
                seconds=seconds,
                worker_pid=pid,
                before_kb=before[pid],
                peak_kb=peaks[pid],
                hwm_before_kb=hwm_before[pid],
                hwm_after_kb=_proc_kb(pid, "VmHWM"),
                samples=samples,
            )
        finally:
            big.unlink(missing_ok=True)
            small.unlink(missing_ok=True)


def measure(runs: int = RUNS) -> list[UploadRun]:
    return [measure_once(run) for run in range(1, runs + 1)]


def report(runs: list[UploadRun] | None = None) -> list[str]:
    """The markdown section for BENCHMARKS.md."""
    runs = measure() if runs is None else runs
    lines = [
        "## Server memory while receiving a 1 GB upload",
        "",
        f"The example site under gunicorn ({WORKERS} sync workers, `DJANGO_DEBUG=0`, SQLite in "
        "a temporary folder) on 127.0.0.1. The upload is a WAV of silence of "
        f"{SIZE:,} bytes ({RATE // 1000} kHz stereo 16-bit, {SIZE / (RATE * 4) / 60:.0f} "
        "minutes; just under `MAX_UPLOAD_SIZE`, 1 GiB), sent by `bench/upload_rss.py` to "
        "`POST /api/transcripts/` as multipart/form-data with its `Content-Length`, streamed "
        "from disk in 1 MiB blocks (http.client), with an API token; the file is deleted "
        "afterwards. Before it, each worker takes small uploads (one second of WAV) so the "
        "upload's code is imported. The worker that handled it is the one whose `rchar` "
        "(`/proc/<pid>/io`) grew by the gigabyte; its `VmRSS` (`/proc/<pid>/status`) is read "
        f"just before the upload and every {SAMPLE_S * 1000:.0f} ms during it, and its "
        "`VmHWM` (the kernel's high-water mark) before and after. The answer is 202 when the "
        "transcript was queued (no worker runs it here). 2 shared cores: the time is only "
        "indicative.",
        "",
        "| run | answer | time | worker RSS before | peak during | growth (before issue 7: "
        f"+{BEFORE_GROWTH_MB} MB) | VmHWM growth | samples |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r.run} | {r.status} | {r.seconds:.1f} s | {r.before_kb / 1024:.1f} MB | "
            f"{r.peak_kb / 1024:.1f} MB | +{r.growth_mb:.1f} MB | +{r.hwm_growth_mb:.1f} MB | "
            f"{r.samples} |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(report()))
