"""Same media, same options as a done transcript: its machine result is reused, nothing sent.

Copies only what the service answered (stored chunks), never segments a person may have edited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.db.models import Count, F

from ffmpeg_bridge import MediaError, speech_detector

from .conf import get_settings
from .db_retry import retry_locked
from .models import Transcript, TranscriptChunk
from .speech.backends import backend_class

#: Raised when what the key covers changes, so keys made before never match keys made after.
KEY_VERSION = 1


def _detector(name: str) -> str:
    """The detector that will run ("auto" names silero or level, depending on the machine)."""
    try:
        return speech_detector(name)
    except (MediaError, ValueError):
        return name  # the split fails with the reason; the key only has to differ


def settings_key(transcript: Transcript, model: str) -> str:
    """One hash of everything besides the media that shapes the machine result."""
    conf = get_settings()
    entry = conf.backend_settings(transcript.backend)
    shape = {
        "version": KEY_VERSION,
        "options": asdict(transcript.options()),
        "backend": transcript.backend,
        "backend_class": entry.backend,
        "backend_options": backend_class(entry.backend).answer_options(entry.options),
        "model": model,
        "max_chunk_seconds": conf.max_chunk_seconds,
        "chunk_format": conf.chunk_format,
        "speech_detector": _detector(conf.speech_detector),
    }
    encoded = json.dumps(shape, sort_keys=True, default=repr).encode()
    return hashlib.sha256(encoded).hexdigest()


def done_twin(transcript: Transcript, key: str) -> Transcript | None:
    """The newest done transcript of the same media with the same key and all its chunks stored.

    Only the same owner's (or, for transcripts without an owner, another ownerless one): a
    result reused from someone else would tell a user that another had the same file.
    """
    if not transcript.sha256:
        return None
    return (
        Transcript.objects.filter(
            status=Transcript.Status.DONE,
            sha256=transcript.sha256,
            settings_key=key,
            backend=transcript.backend,
            owner_id=transcript.owner_id,
            chunks_total__gt=0,
        )
        .exclude(pk=transcript.pk)
        .annotate(stored=Count("chunks"))
        .filter(stored=F("chunks_total"))
        .order_by("-finished")
        .first()
    )


def _unpaid(result: dict[str, Any]) -> dict[str, Any]:
    """A stored chunk result as this transcript got it: the same answer, nothing paid or run."""
    status = dict(result.get("inference_status") or {})
    status.update(cost=0.0, runtime_ms=0)
    return {**result, "inference_status": status}


def reuse_machine_result(transcript: Transcript, model: str) -> Transcript | None:
    """Stores the transcript's settings key and, for a transcript with no stored chunks of its
    own, copies a done twin's chunk results into it (the pipeline then sends none of them),
    and its waveform's peaks when this one has none yet.

    Returns the twin reused, or None (no twin, VOXTRAL["REUSE_RESULTS"] off, or a resumed run,
    whose stored chunks are kept as they are). Call it once the media's sha256 is known.
    """
    key = settings_key(transcript, model)
    fields: dict[str, Any] = {"settings_key": key}
    twin: Transcript | None = None
    resumed = transcript.chunks.exists()
    if not resumed:
        twin = done_twin(transcript, key) if get_settings().reuse_results else None
        fields["reused_from"] = twin
        if twin is not None and twin.peaks and not transcript.peaks:
            # The same media's waveform, shown before this run's own split redraws it.
            fields["peaks"] = twin.peaks
    copies = (
        [
            TranscriptChunk(
                transcript=transcript,
                index=chunk.index,
                start=chunk.start,
                end=chunk.end,
                result=_unpaid(chunk.result),
            )
            for chunk in twin.chunks.all()
        ]
        if twin is not None
        else []
    )

    def write() -> None:
        # One short write transaction, read beforehand: SQLite holds its lock for less.
        with transaction.atomic():
            if copies:
                TranscriptChunk.objects.bulk_create(copies)
            Transcript.objects.filter(pk=transcript.pk).update(**fields)

    retry_locked(write, "copying a reused result")
    for name, value in fields.items():
        setattr(transcript, name, value)
    return twin
