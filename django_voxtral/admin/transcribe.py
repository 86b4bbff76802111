"""The `transcribe` admin action for a site's own models registered with the upload hooks.

Like delete_selected it confirms first (files, known length, estimated cost), then queues in bulk;
never read or probe the files here: a confirmation page for a thousand rows must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR, ActionLocation
from django.contrib.admin.utils import model_ngettext
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import budgets, transcripts
from ..conf import get_backend
from ..exceptions import ACTIONABLE, BudgetExceeded
from ..hooks import Hook, hooks_for
from ..models import Transcript
from ..names import media_name as column_media_name
from .display import format_duration, format_money

if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
else:
    ModelAdminBase = admin.ModelAdmin

ActionFunc = Callable[[Any, HttpRequest, QuerySet[Any]], TemplateResponse | None]

CONFIRMATION_TEMPLATE = "django_voxtral/admin/transcribe_confirmation.html"
#: How many of the selected objects the confirmation page names (the counts cover all).
NAMES_SHOWN = 20


@dataclass
class Estimate:
    """What transcribing a group of files will take, from what is already known."""

    files: int = 0
    known_files: int = 0
    known_seconds: float = 0.0

    @property
    def unknown_files(self) -> int:
        return self.files - self.known_files

    def add(self, seconds: float | None) -> None:
        self.files += 1
        if seconds is not None:
            self.known_files += 1
            self.known_seconds += seconds

    def cost(self, price_per_minute: float | None) -> Decimal | None:
        """Cost of the files of known length; None when the price is unknown."""
        if price_per_minute is None:
            return None
        return Decimal(str(price_per_minute)) * Decimal(str(self.known_seconds)) / 60

    def extrapolated_cost(self, price_per_minute: float | None) -> Decimal | None:
        """The whole group's cost if the unknown files are as long as the known ones on average."""
        cost = self.cost(price_per_minute)
        if cost is None or not self.known_files or not self.unknown_files:
            return None
        return cost * self.files / self.known_files


@dataclass
class TranscribePlan:
    """The selected objects sorted by what the transcribe action will do with each."""

    hook: Hook
    total: int = 0
    without_file: int = 0
    in_progress: int = 0
    new: list[models.Model] = field(default_factory=list)
    done: list[models.Model] = field(default_factory=list)
    new_estimate: Estimate = field(default_factory=Estimate)
    done_estimate: Estimate = field(default_factory=Estimate)

    def to_queue(self, again: bool) -> list[models.Model]:
        return self.new + self.done if again else list(self.new)

    def known_seconds(self, again: bool) -> float:
        """The known length of what would be queued (files of unknown length count 0)."""
        return self.new_estimate.known_seconds + (self.done_estimate.known_seconds if again else 0)


def resolve_hook(model: type[models.Model], field_name: str | None) -> Hook:
    """The hook of ``model`` for ``field_name`` (or its only hook); ValueError saying what to do."""
    hooks = {hook.field: hook for hook in hooks_for(model)}
    name = model._meta.verbose_name
    if field_name is None:
        if len(hooks) == 1:
            return next(iter(hooks.values()))
        if not hooks:
            raise ValueError(
                _(
                    "%(model)s is not registered for transcription: call "
                    "django_voxtral.register(%(cls)s, 'field') or pass field= to the action."
                )
                % {"model": name, "cls": model.__name__}
            )
        raise ValueError(
            _("%(model)s has several transcribed fields (%(fields)s); pass field= to the action.")
            % {"model": name, "fields": ", ".join(sorted(hooks))}
        )
    if field_name in hooks:
        return hooks[field_name]
    try:
        model_field = model._meta.get_field(field_name)
    except Exception:
        model_field = None
    if not isinstance(model_field, models.FileField):
        raise ValueError(
            _("%(model)s has no file field %(field)r to transcribe.")
            % {"model": name, "field": field_name}
        )
    return Hook(model, field_name)


def plan_transcription(
    objects: Sequence[models.Model],
    hook: Hook,
    *,
    task: str,
    durations: Callable[[models.Model], float | None] | None = None,
) -> TranscribePlan:
    """Sorts objects into new / already done / in progress / no file, in one query.

    A file's length is known from ``durations`` (the site's own field, if it has one) or from a
    done transcript of that very file; files are never opened here.
    """
    plan = TranscribePlan(hook=hook, total=len(objects))
    files: dict[str, str] = {}
    for obj in objects:
        value = getattr(obj, hook.field, None)
        if isinstance(value, FieldFile) and value.name:
            # As transcripts.create_for_instances stores it: a name longer than the column is cut.
            files[str(obj.pk)] = column_media_name(value.name)
    plan.without_file = plan.total - len(files)
    statuses: dict[str, set[str]] = {}
    known: dict[str, float] = {}
    if files:
        rows = (
            Transcript.objects.filter(
                content_type=ContentType.objects.get_for_model(hook.model),
                object_id__in=list(files),
                source_field=hook.field,
                task=task,
                status__in=(
                    Transcript.Status.QUEUED,
                    Transcript.Status.RUNNING,
                    Transcript.Status.DONE,
                ),
            )
            .values_list("object_id", "media_name", "status", "duration")
            .order_by()
        )
        for object_id, media_name, status, duration in rows:
            if files.get(object_id) != media_name:
                continue  # a transcript of an earlier file of this object
            statuses.setdefault(object_id, set()).add(status)
            if status == Transcript.Status.DONE and duration is not None:
                known[object_id] = duration
    for obj in objects:
        key = str(obj.pk)
        if key not in files:
            continue
        seen = statuses.get(key, set())
        seconds = durations(obj) if durations is not None else None
        if seconds is None:
            seconds = known.get(key)
        if seen & {Transcript.Status.QUEUED, Transcript.Status.RUNNING}:
            plan.in_progress += 1
        elif Transcript.Status.DONE in seen:
            plan.done.append(obj)
            plan.done_estimate.add(seconds)
        else:
            plan.new.append(obj)
            plan.new_estimate.add(seconds)
    return plan


#: A backend that cannot be made: a person's settings (a missing package, a wrong option).
BACKEND_ERRORS: tuple[type[Exception], ...] = (*ACTIONABLE, ImportError, TypeError, ValueError)


def _price_per_minute(alias: str) -> tuple[float | None, str, str]:
    """(price, model, problem) of a backend alias; problem is empty when it loads."""
    try:
        with get_backend(alias) as backend:
            return backend.price_per_minute, backend.model, ""
    except BACKEND_ERRORS as exc:
        return None, "", str(exc)


def _run_transcribe(
    modeladmin: ModelAdminBase,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action_name: str,
    field_name: str | None,
    task: str | None,
    language: str | None,
    backend: str | None,
) -> TemplateResponse | None:
    model = modeladmin.model
    field_name = field_name or getattr(modeladmin, "transcribe_field", None)
    try:
        hook = resolve_hook(model, field_name)
    except ValueError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return None
    options = hook.transcription_options()
    task = task or getattr(modeladmin, "transcribe_task", None) or options.task
    if language is None:
        language = getattr(modeladmin, "transcribe_language", None)
    language = language if language is not None else options.language
    backend = backend or getattr(modeladmin, "transcribe_backend", None) or hook.backend
    durations = getattr(modeladmin, "get_transcribe_duration", None)

    objects = list(queryset)
    plan = plan_transcription(objects, hook, task=task, durations=durations)

    if request.POST.get("post") == "yes":
        again = request.POST.get("again") == "yes"
        chosen = plan.to_queue(again)
        try:
            # The admin who asks spends from their own budget, whoever owns the transcripts.
            budgets.check(request.user, plan.known_seconds(again))
        except BudgetExceeded as exc:
            modeladmin.message_user(
                request, _("Nothing was queued. %(reason)s") % {"reason": exc}, messages.ERROR
            )
            return None
        # The hook's owner getter (e.g. the uploader) wins; else the admin who asked owns them.
        owner = None if hook.owner is not None else request.user
        with transaction.atomic():
            created = transcripts.create_for_instances(
                chosen,
                hook.field,
                options=hook.transcription_options(task=task, language=language or ""),
                backend=backend,
                owner=owner,
                owner_of=hook.owner,
            )
        count = sum(1 for item in created if item is not None)
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d transcript queued.",
                "%(count)d transcripts queued.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
        left = plan.total - count
        if left:
            modeladmin.message_user(
                request,
                _(
                    "%(left)d of the %(total)d selected were skipped (no file: %(nofile)d, "
                    "already transcribing: %(busy)d, already transcribed: %(done)d)."
                )
                % {
                    "left": left,
                    "total": plan.total,
                    "nofile": plan.without_file,
                    "busy": plan.in_progress,
                    "done": 0 if again else len(plan.done),
                },
                messages.WARNING,
            )
        return None

    price, model_name, problem = _price_per_minute(backend)
    opts = model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Transcribe %(count)d %(items)s")
        % {"count": plan.total, "items": model_ngettext(opts, plan.total)},
        "subtitle": None,
        "opts": opts,
        "media": modeladmin.media,
        "plan": plan,
        "names": [str(obj) for obj in plan.new[:NAMES_SHOWN]],
        "more_names": max(0, len(plan.new) - NAMES_SHOWN),
        "task": task,
        "language": language or "",
        "backend_alias": backend,
        "backend_model": model_name,
        "backend_problem": problem,
        "price_per_minute": price,
        "price_per_hour": format_money(None if price is None else Decimal(str(price)) * 60),
        "new_duration": format_duration(plan.new_estimate.known_seconds),
        "new_cost": format_money(plan.new_estimate.cost(price)),
        "new_extrapolated": format_money(plan.new_estimate.extrapolated_cost(price)),
        "done_duration": format_duration(plan.done_estimate.known_seconds),
        "done_cost": format_money(plan.done_estimate.cost(price)),
        "budget": budgets.budget_for(request.user, plan.known_seconds(False)),
        "budget_again": budgets.budget_for(request.user, plan.known_seconds(True)),
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        # Posted back exactly as they came, as delete_selected does; select_across keeps
        # "all N across pages" as one flag instead of N ids (Django caps a form's fields).
        "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        getattr(modeladmin, "transcribe_confirmation_template", None) or CONFIRMATION_TEMPLATE,
        context,
    )


def make_transcribe_action(
    field: str | None = None,
    *,
    name: str = "transcribe",
    description: str | None = None,
    task: str | None = None,
    language: str | None = None,
    backend: str | None = None,
) -> ActionFunc:
    """A `transcribe` admin action for a model registered with ``django_voxtral.register``.

    ``field`` is the FileField to transcribe (default: the model's only registered one);
    ``task``, ``language`` and ``backend`` override the hook's. Put the result in a
    ModelAdmin's ``actions``; it confirms first, then queues in bulk.
    """

    def action(
        modeladmin: ModelAdminBase, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        return _run_transcribe(
            modeladmin,
            request,
            queryset,
            action_name=name,
            field_name=field,
            task=task,
            language=language,
            backend=backend,
        )

    action.__name__ = name
    action.__qualname__ = name
    return admin.action(
        permissions=["change"],
        description=description or gettext_lazy("Transcribe the selected %(verbose_name_plural)s"),
    )(action)


#: The action with the hook's settings, for ``actions = [transcribe_action]``.
transcribe_action = make_transcribe_action()


class TranscribeAdminMixin(ModelAdminBase):
    """Adds the `transcribe` action to a ModelAdmin of a model registered with the upload hooks.

    Set ``transcribe_field`` when the model has several transcribed fields, and optionally
    ``transcribe_task`` / ``transcribe_language`` / ``transcribe_backend``. Override
    ``get_transcribe_duration(obj)`` to return a length in seconds the site already knows
    (e.g. a duration field), so the confirmation page can estimate the cost of new files.
    """

    transcribe_field: str | None = None
    transcribe_task: str | None = None
    transcribe_language: str | None = None
    transcribe_backend: str | None = None
    transcribe_confirmation_template: str | None = None

    def get_transcribe_duration(self, obj: models.Model) -> float | None:
        """A known length of ``obj``'s media in seconds, or None (the default: unknown)."""
        return None

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request, action_location=action_location)
        if (
            action_location == ActionLocation.CHANGE_LIST
            and "transcribe" not in actions
            and self.actions is not None
            and IS_POPUP_VAR not in request.GET
            and self.has_change_permission(request)
        ):
            found = self.get_action(transcribe_action, action_location)
            if found is not None:
                actions[found.name] = found
        return actions
