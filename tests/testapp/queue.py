"""What the tests put on Django's DummyBackend task queue, which records tasks without running them.

Test-only: never imported by the package itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django_voxtral.tasks import enqueue_transcripts


def dummy_queue(settings: Any) -> Iterator[Callable[[], list[str]]]:
    """Switches tasks to the DummyBackend; yields a function giving the queued transcript ids.

    Ids queued in bulk through enqueue_transcripts count one by one, as a worker would fan out.
    """
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    from django.tasks import task_backends

    backend: Any = task_backends["default"]
    backend.results.clear()

    def ids() -> list[str]:
        found: list[str] = []
        for result in backend.results:
            if result.task.func is enqueue_transcripts.func:
                found.extend(str(i) for i in result.args[0])
            else:
                found.append(str(result.args[0]))
        return found

    yield ids
    backend.results.clear()
