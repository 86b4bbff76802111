"""Describes the machine a benchmark ran on, for the header of BENCHMARKS.md.

Reads only local facts (CPU, cores, memory, versions); never the network.
"""

from __future__ import annotations

import os
import platform
import subprocess


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def ffmpeg_version() -> str:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-version"], capture_output=True, text=True, check=False
    ).stdout
    return out.splitlines()[0] if out else "ffmpeg not found"


def describe() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB RAM; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"{ffmpeg_version()}"
    )
