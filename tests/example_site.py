"""The example project run in processes of its own, for tests and benchmarks: its folder, an
environment the caller's own settings do not leak into, and manage.py with a time limit.

Never let the caller's environment reconfigure the example, and never wait on it without a limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "example_project"

#: What in the caller's environment the example's settings would follow: left out.
FOREIGN_ENV = (
    "DEEPINFRA_",
    "VOXTRAL_",
    "DJANGO_",
    "DATABASE_URL",
    "MEDIA_ROOT",
    "REDIS_URL",
    "CACHE_URL",
    "AWS_",
)


def example_env(**extra: str) -> dict[str, str]:
    """This process's environment without FOREIGN_ENV, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    return {**env, **extra}


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Runs the example's ``manage.py args``; its stdout, or RuntimeError with its output's end."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(
            f"manage.py {args[0]} failed ({done.returncode}):\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout
