"""Upload hooks: a site's own FileField is transcribed when an instance is saved with a new file.

Never read the file here (that is the worker's job, and it may be on S3): compare stored names only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import post_save

from .speech.backends.options import TranscriptionOptions

OwnerGetter = Callable[[models.Model], Any]


@dataclass(frozen=True)
class Hook:
    """How one model's FileField is transcribed."""

    model: type[models.Model]
    field: str
    task: str = "transcribe"
    language: str | None = None
    backend: str = "default"
    initial_prompt: str | None = None
    owner: OwnerGetter | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def transcription_options(
        self, *, task: str | None = None, language: str | None = None
    ) -> TranscriptionOptions:
        """The hook's options; ``task`` and ``language`` ("" to detect) override its own."""
        return TranscriptionOptions(
            task=(task or self.task),  # type: ignore[arg-type]
            language=self.language if language is None else (language or None),
            initial_prompt=self.initial_prompt,
            **self.options,
        )


_hooks: dict[type[models.Model], dict[str, Hook]] = {}


def register(
    model: type[models.Model],
    field: str,
    *,
    task: str = "transcribe",
    language: str | None = None,
    backend: str = "default",
    initial_prompt: str | None = None,
    owner: OwnerGetter | None = None,
    **options: Any,
) -> Hook:
    """Transcribes ``model.field`` whenever an instance is saved with a new or changed file.

    ``owner`` is an optional callable that returns the user who owns the transcript (e.g.
    ``lambda video: video.uploaded_by``). Options are checked now, not at the first upload.
    """
    try:
        file_field = model._meta.get_field(field)
    except Exception as exc:
        raise ImproperlyConfigured(f"{model.__name__} has no field {field!r}.") from exc
    if not isinstance(file_field, models.FileField):
        raise ImproperlyConfigured(
            f"{model.__name__}.{field} is a {type(file_field).__name__}, not a FileField."
        )
    hook = Hook(model, field, task, language, backend, initial_prompt, owner, dict(options))
    hook.transcription_options()  # raises InvalidOption naming the field
    _hooks.setdefault(model, {})[field] = hook
    post_save.connect(
        _on_save, sender=model, dispatch_uid=f"django_voxtral.hooks.{model._meta.label}"
    )
    return hook


def unregister(model: type[models.Model], field: str | None = None) -> None:
    fields = _hooks.get(model, {})
    for name in [field] if field else list(fields):
        fields.pop(name, None)
    if not fields:
        _hooks.pop(model, None)
        post_save.disconnect(sender=model, dispatch_uid=f"django_voxtral.hooks.{model._meta.label}")


def hooks_for(model: type[models.Model]) -> Sequence[Hook]:
    return tuple(_hooks.get(model, {}).values())


def all_hooks() -> Sequence[Hook]:
    """Every registered hook, for the system checks."""
    return tuple(hook for fields in _hooks.values() for hook in fields.values())


def is_registered(model: type[models.Model]) -> bool:
    return model in _hooks


def register_from_settings() -> None:
    """Registers the hooks declared in VOXTRAL["MODELS"] ({"app.Model": {"field": ...}})."""
    from .conf import get_settings

    for label, spec in get_settings().models.items():
        spec = dict(spec)
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfigured(f"VOXTRAL['MODELS'] names {label!r}: {exc}") from exc
        try:
            field_name = spec.pop("field")
        except KeyError:
            raise ImproperlyConfigured(
                f"VOXTRAL['MODELS'][{label!r}] needs 'field': the name of its FileField."
            ) from None
        register(model, field_name, **spec)


def _on_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loading fixtures
    for hook in hooks_for(sender):
        transcribe_instance(instance, hook.field, only_if_new=True)


def transcribe_instance(
    instance: models.Model,
    field: str,
    *,
    only_if_new: bool = False,
    task: str | None = None,
    language: str | None = None,
    backend: str | None = None,
) -> Any:
    """Creates and queues a transcript of ``instance.field``; returns it, or None.

    With ``only_if_new``, nothing is created when a transcript of this very file (same stored
    name, same task) already exists: saving an instance again does not queue it twice.
    """
    if instance.pk is None:
        return None
    created = create_for_instances(
        [instance], field, only_if_new=only_if_new, task=task, language=language, backend=backend
    )
    return created[0]


def create_for_instances(
    instances: Iterable[models.Model],
    field: str,
    *,
    only_if_new: bool = False,
    task: str | None = None,
    language: str | None = None,
    backend: str | None = None,
    owner: Any = None,
) -> list[Any]:
    """Creates transcripts of ``field`` for many instances in a few queries, and queues them,
    with the field's hook options (``task``, ``language``, ``backend`` override them).

    Returns one item per instance: its new Transcript, or None (no file, or already done).
    """
    from . import transcripts

    items = list(instances)
    if not items:
        return []
    model = type(items[0])
    hook = _hooks.get(model, {}).get(field) or Hook(model, field)
    return transcripts.create_for_instances(
        items,
        field,
        options=hook.transcription_options(task=task, language=language),
        backend=backend or hook.backend,
        owner=owner,
        owner_of=hook.owner,
        only_if_new=only_if_new,
    )


def transcripts_for(instance: models.Model, field: str | None = None) -> Any:
    """The transcripts of a model instance (newest first): ``transcripts_for(video)``."""
    from .models import Transcript

    return Transcript.objects.for_instance(instance, field)


class TranscribedMixin(models.Model):
    """Gives a model ``.transcripts`` (newest first) and ``.latest_transcript``."""

    class Meta:
        abstract = True

    @property
    def transcripts(self) -> Any:
        return transcripts_for(self)

    @property
    def latest_transcript(self) -> Any:
        return transcripts_for(self).first()
