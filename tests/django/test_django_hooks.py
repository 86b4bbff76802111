"""Upload hooks: a site's FileField is transcribed when saved with a new file, and only then.

Uses the test app's Clip model and the dummy backend; the ImmediateBackend runs work at commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

import django_voxtral
from django_voxtral import hooks
from django_voxtral.models import Transcript
from django_voxtral.speech.backends.errors import InvalidOption
from tests.django_settings import TONES_ARE_SPEECH
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered() -> Iterator[hooks.Hook]:
    hook = django_voxtral.register(Clip, "file", language="en", owner=lambda clip: clip.uploaded_by)
    yield hook
    hooks.unregister(Clip)


def save_clip(path: Path, title: str = "clip", **fields: Any) -> Clip:
    clip = Clip(title=title, **fields)
    clip.file.save(path.name, ContentFile(path.read_bytes()), save=True)
    return clip


def test_saving_a_new_file_queues_one_transcript(
    registered: hooks.Hook,
    long_pause_audio: Path,
    django_user_model: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = django_user_model.objects.create_user("owner")
    with django_capture_on_commit_callbacks(execute=True):
        clip = save_clip(long_pause_audio, uploaded_by=user)
    transcripts = list(clip.transcripts)
    assert len(transcripts) == 1
    transcript = transcripts[0]
    assert transcript.owner == user
    assert transcript.language == "en"
    assert transcript.source == clip
    assert transcript.source_field == "file"
    assert transcript.status == Transcript.Status.DONE, transcript.error
    assert clip.latest_transcript == transcript
    assert list(hooks.transcripts_for(clip, "file")) == [transcript]


def test_saving_the_same_file_again_does_not_queue_twice(
    registered: hooks.Hook, long_pause_audio: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        clip = save_clip(long_pause_audio)
    clip.title = "renamed"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        clip.save()
    assert callbacks == []
    assert clip.transcripts.count() == 1


def test_a_changed_file_is_transcribed_again(
    registered: hooks.Hook, long_pause_audio: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        clip = save_clip(long_pause_audio)
        clip.file.save("other.wav", ContentFile(long_pause_audio.read_bytes()), save=True)
    names = list(clip.transcripts.values_list("media_name", flat=True))
    assert len(names) == 2
    assert len(set(names)) == 2, "each transcript is of its own file"


def test_no_file_no_transcript(registered: hooks.Hook) -> None:
    clip = Clip.objects.create(title="empty")
    assert clip.transcripts.count() == 0


def test_unregistered_models_are_left_alone(long_pause_audio: Path) -> None:
    clip = save_clip(long_pause_audio)
    assert clip.transcripts.count() == 0


def test_register_refuses_a_field_that_is_not_a_file() -> None:
    with pytest.raises(ImproperlyConfigured, match="not a FileField"):
        django_voxtral.register(Clip, "title")
    with pytest.raises(ImproperlyConfigured, match="no field"):
        django_voxtral.register(Clip, "nope")


def test_register_checks_options_at_once() -> None:
    with pytest.raises(InvalidOption, match="language"):
        django_voxtral.register(Clip, "file", language="klingon")
    assert not hooks.is_registered(Clip)


def test_declarative_setting_registers(settings: Any) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {"default": {"BACKEND": "dummy"}},
        "MODELS": {"testapp.Clip": {"field": "file", "task": "translate"}},
    }
    try:
        hooks.register_from_settings()
        (hook,) = hooks.hooks_for(Clip)
        assert hook.task == "translate"
    finally:
        hooks.unregister(Clip)


def test_bulk_creation_takes_few_queries(
    registered: hooks.Hook, django_assert_max_num_queries: Any
) -> None:
    clips = [Clip(title=f"c{i}") for i in range(300)]
    for clip in clips:
        clip.file.name = f"clips/c{clip.title}.wav"  # already stored files
    Clip.objects.bulk_create(clips)
    clips = list(Clip.objects.all())
    with django_assert_max_num_queries(6):
        created = hooks.create_for_instances(clips, "file", only_if_new=True)
    assert sum(1 for t in created if t is not None) == 300
    again = hooks.create_for_instances(clips, "file", only_if_new=True)
    assert all(t is None for t in again)
