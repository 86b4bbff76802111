"""Runs one split in this process and prints its time and peak memory as JSON (for bench.split).

Run in a fresh process so the peak RSS belongs to the split alone; never import the test suite.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time

import ffmpeg_bridge


def main() -> None:
    path, fmt = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "flac"
    detector = sys.argv[3] if len(sys.argv) > 3 else "auto"
    with tempfile.TemporaryDirectory(prefix="bench-split-") as workdir:
        began = time.perf_counter()
        chunks = ffmpeg_bridge.split(
            path, workdir, max_chunk_seconds=30, fmt=fmt, detector=detector
        )
        seconds = time.perf_counter() - began
        chunk_bytes = sum(c.path.stat().st_size for c in chunks)
    # `python -m bench.split_peak FILE [FORMAT [DETECTOR]]`
    print(
        json.dumps(
            {
                "seconds": seconds,
                "detector": chunks.detector,
                "chunks": len(chunks),
                "audio_seconds": sum(c.end - c.start for c in chunks),
                "chunk_bytes": chunk_bytes,
                # ru_maxrss is in KiB on Linux.
                "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "ffmpeg_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
