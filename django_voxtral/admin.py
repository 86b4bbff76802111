"""The Transcript admin: list, filters, search, read-only segments, downloads, and uploads.

Shows and queues; never run the pipeline or call a service from a view (the worker does that).
A site that does not want it: ``admin.site.unregister(Transcript)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ffmpeg_bridge import MediaError

from . import budgets
from .admin_actions import TRANSCRIPT_ACTIONS
from .admin_mixins import (
    TranscribeAdminMixin,
    format_duration,
    format_money,
    make_transcribe_action,
    transcribe_action,
)
from .api.uploads import probe_upload
from .conf import UnknownBackend, get_backend, get_settings
from .exports import export_response
from .models import Segment, Transcript
from .names import stored_name, upload_display_name
from .speech.backends.errors import InvalidOption, SpeechError
from .speech.backends.options import LANGUAGES, OPTION_FIELDS, TranscriptionOptions
from .speech.formats import FORMATS, format_timestamp
from .tasks import enqueue

if TYPE_CHECKING:
    TranscriptAdminBase = admin.ModelAdmin[Transcript]
    SegmentInlineBase = admin.TabularInline[Segment, Transcript]
    SegmentFormSetBase = BaseInlineFormSet[Segment, Transcript, Any]
else:
    TranscriptAdminBase = admin.ModelAdmin
    SegmentInlineBase = admin.TabularInline
    SegmentFormSetBase = BaseInlineFormSet

__all__ = [
    "SegmentInline",
    "TranscribeAdminMixin",
    "TranscriptAddForm",
    "TranscriptAdmin",
    "make_transcribe_action",
    "transcribe_action",
]

#: The change page lists this many segments; the downloads hold them all.
SEGMENTS_SHOWN = 500
EXPORT_LABELS = {"srt": "SRT", "vtt": "WebVTT", "txt": "TXT", "json": "JSON"}


def _language_label(code: str) -> str:
    from django.utils.translation import get_language_info

    try:
        return f"{code} ({get_language_info(code)['name']})"
    except KeyError:
        return code


class FirstSegmentsFormSet(SegmentFormSetBase):
    """Only the first SEGMENTS_SHOWN segments: a three-hour file has thousands."""

    def get_queryset(self) -> QuerySet[Segment]:
        if not hasattr(self, "_queryset"):
            self._queryset: QuerySet[Segment] = super().get_queryset()[:SEGMENTS_SHOWN]
        return self._queryset


class SegmentInline(SegmentInlineBase):
    """The transcript's segments in order with their times; read-only."""

    model = Segment
    formset = FirstSegmentsFormSet
    fields = ("index", "start_time", "end_time", "speaker", "text")
    readonly_fields = ("index", "start_time", "end_time", "speaker", "text")
    ordering = ("index",)
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("segments (the first 500; the downloads hold them all)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("start"))
    def start_time(self, segment: Segment) -> str:
        return format_timestamp(segment.start, decimal_marker=".")

    @admin.display(description=gettext_lazy("end"))
    def end_time(self, segment: Segment) -> str:
        return format_timestamp(segment.end, decimal_marker=".")


class TranscriptAddForm(forms.ModelForm[Transcript]):
    """Upload a media file and pick the options of a new transcript."""

    #: The admin who fills the form in, whose daily budget the upload counts against (get_form).
    acting_user: Any = None

    backend = forms.ChoiceField(label=gettext_lazy("backend"), choices=())
    language = forms.ChoiceField(
        label=gettext_lazy("language spoken"),
        required=False,
        help_text=gettext_lazy("Empty: the service detects it."),
    )

    class Meta:
        model = Transcript
        fields = ("media", "backend", *OPTION_FIELDS, "owner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["media"].required = True
        self.fields["media"].help_text = _("An audio or video file.")
        backend, language = self.fields["backend"], self.fields["language"]
        assert isinstance(backend, forms.ChoiceField) and isinstance(language, forms.ChoiceField)
        backend.choices = [(alias, alias) for alias in get_settings().backends]
        backend.initial = "default"
        language.choices = [
            ("", _("detect")),
            *((c, _language_label(c)) for c in sorted(LANGUAGES)),
        ]

    def clean_media(self) -> Any:
        media = self.cleaned_data.get("media")
        limit = get_settings().max_upload_size
        size = getattr(media, "size", None)
        if size is not None and size > limit:
            raise forms.ValidationError(
                _("This file is %(size)s; the largest upload allowed is %(limit)s.")
                % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
            )
        if media is not None:
            # The same checks as an API upload: not media, no audio, too long - said now, on
            # the form, rather than later as a failed transcript.
            try:
                info = probe_upload(media)
            except MediaError as exc:
                raise forms.ValidationError(str(exc)) from None
            try:
                budgets.check(self.acting_user, info.duration)
            except budgets.BudgetExceeded as exc:
                raise forms.ValidationError(str(exc)) from None
            # Known now, as for an API upload: it counts against the budget before the worker runs.
            self.instance.duration = info.duration
            # The name a person gave is kept for media_name; the storage gets one it can hold.
            self.uploaded_name = upload_display_name(media.name)
            media.name = stored_name(media.name)
        return media

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            options = TranscriptionOptions.from_form({f: data.get(f) for f in OPTION_FIELDS})
        except InvalidOption as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
            return data
        alias = data.get("backend")
        if alias:
            try:
                with get_backend(alias) as backend:
                    backend.check_options(options)
            except (UnknownBackend, SpeechError) as exc:
                self.add_error("backend", str(exc))
        return data


class UploadNotStored(Exception):
    """The storage refused the add form's file (disk full, a name the filesystem refuses)."""

    def __init__(self, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        super().__init__(
            _(
                "Could not store the upload (%(reason)s); nothing was created. Try again with "
                "a shorter file name, or tell the site's administrator if the storage is full."
            )
            % {"reason": reason}
        )


@admin.register(Transcript)
class TranscriptAdmin(TranscriptAdminBase):
    list_display = (
        "name_column",
        "status_badge",
        "progress_column",
        "duration_column",
        "language_column",
        "cost_column",
        "owner",
        "created",
    )
    list_display_links = ("name_column",)
    list_filter = (
        "status",
        "detected_language",
        "backend",
        "task",
        ("created", admin.DateFieldListFilter),
    )
    date_hierarchy = "created"
    search_fields = ("media_name", "text", "=request_id")
    search_help_text = gettext_lazy("Searches the media name and the transcript's text.")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    inlines = (SegmentInline,)
    actions = TRANSCRIPT_ACTIONS
    change_form_template = "django_voxtral/admin/transcript_change_form.html"

    readonly_fields = (
        "media_link",
        "source_link",
        "media_name",
        "sha256",
        *OPTION_FIELDS,
        "backend",
        "model",
        "status_badge",
        "progress_column",
        "detected_language",
        "duration_column",
        "chunks_done",
        "chunks_total",
        "cost_column",
        "runtime_ms",
        "reused_from",
        "error",
        "text",
        "request_id",
        "webhook",
        "created",
        "started",
        "finished",
    )
    change_fieldsets = (
        (None, {"fields": ("media_link", "source_link", "media_name", "owner")}),
        (
            gettext_lazy("Status"),
            {
                "fields": (
                    "status_badge",
                    "progress_column",
                    ("chunks_done", "chunks_total"),
                    "error",
                )
            },
        ),
        (
            gettext_lazy("Result"),
            {
                "fields": (
                    "text",
                    "detected_language",
                    "duration_column",
                    "cost_column",
                    "runtime_ms",
                    "reused_from",
                )
            },
        ),
        (
            gettext_lazy("Options"),
            {
                "classes": ("collapse",),
                "fields": (*OPTION_FIELDS, "backend", "model"),
            },
        ),
        (
            gettext_lazy("Service"),
            {
                "classes": ("collapse",),
                "fields": (
                    "request_id",
                    "webhook",
                    "sha256",
                    ("created", "started", "finished"),
                ),
            },
        ),
    )
    add_fieldsets = (
        (None, {"fields": ("media", "owner")}),
        (
            gettext_lazy("Options"),
            {"fields": ("backend", *OPTION_FIELDS)},
        ),
    )

    class Media:
        css = {"all": ("django_voxtral/admin.css",)}

    # --- list columns -------------------------------------------------------------------

    @admin.display(description=gettext_lazy("media"), ordering="media_name")
    def name_column(self, obj: Transcript) -> str:
        return obj.display_name

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: Transcript) -> SafeString:
        return format_html(
            '<span class="voxtral-badge voxtral-{}" title="{}">{}</span>',
            obj.status,
            obj.error[:300],
            obj.get_status_display(),
        )

    @admin.display(description=gettext_lazy("progress"))
    def progress_column(self, obj: Transcript) -> SafeString:
        percent = obj.progress
        return format_html(
            '<span class="voxtral-progress"><progress max="100" value="{}"></progress> {}%</span>',
            percent,
            percent,
        )

    @admin.display(description=gettext_lazy("duration"), ordering="duration")
    def duration_column(self, obj: Transcript) -> str:
        return format_duration(obj.duration)

    @admin.display(description=gettext_lazy("language"), ordering="detected_language")
    def language_column(self, obj: Transcript) -> str:
        if obj.detected_language:
            return obj.detected_language
        if obj.language:
            return _("%(code)s (asked)") % {"code": obj.language}
        return ""

    @admin.display(description=gettext_lazy("cost"), ordering="cost")
    def cost_column(self, obj: Transcript) -> str:
        return format_money(obj.cost)

    # --- change page fields -------------------------------------------------------------

    @admin.display(description=gettext_lazy("media file"))
    def media_link(self, obj: Transcript) -> str | SafeString:
        if not obj.media:
            return ""
        try:
            url = obj.media.url
        except (NotImplementedError, ValueError):
            return obj.media.name or ""
        return format_html('<a href="{}">{}</a>', url, obj.media.name)

    @admin.display(description=gettext_lazy("from"))
    def source_link(self, obj: Transcript) -> str | SafeString:
        if not obj.content_type_id:
            return ""
        content_type = ContentType.objects.get_for_id(obj.content_type_id)
        label = f"{content_type.name} {obj.object_id} · {obj.source_field}"
        try:
            url = reverse(
                f"admin:{content_type.app_label}_{content_type.model}_change",
                args=[obj.object_id],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    # --- forms --------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Transcript | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Transcript | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Transcript | None) -> Any:
        return self.inlines if obj is not None else ()

    def get_form(
        self,
        request: HttpRequest,
        obj: Transcript | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        if obj is None:
            kwargs["form"] = TranscriptAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, TranscriptAddForm):
            form.acting_user = request.user  # a class made for this request by modelform_factory
        return form

    def save_model(self, request: HttpRequest, obj: Transcript, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        if obj.owner_id is None and request.user.is_authenticated:
            obj.owner = request.user
        upload = form.cleaned_data.get("media")
        if upload is not None and not obj.media_name:
            obj.media_name = getattr(form, "uploaded_name", "") or upload_display_name(
                str(getattr(upload, "name", ""))
            )
        obj.status = Transcript.Status.QUEUED
        try:
            super().save_model(request, obj, form, change)
        except OSError as exc:
            raise UploadNotStored(exc) from None
        enqueue(obj)  # on commit: the admin's change view runs in a transaction

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except UploadNotStored as exc:
            # The add view's transaction is rolled back: no row, and the message says why.
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # --- downloads ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponseBase:
        if fmt not in FORMATS:
            raise Http404(_("Unknown export format %(fmt)r.") % {"fmt": fmt})
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404(_("No transcript with this id."))
        if obj.status != Transcript.Status.DONE:
            raise Http404(_("This transcript is not done; there is nothing to download yet."))
        return export_response([obj], fmt)

    def export_links(self, obj: Transcript) -> list[dict[str, str]]:
        if obj.status != Transcript.Status.DONE:
            return []
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_export"
        return [
            {
                "label": EXPORT_LABELS.get(fmt, fmt),
                "url": reverse(name, args=[obj.pk, fmt], current_app=self.admin_site.name),
            }
            for fmt in FORMATS
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Transcript | None = None,
    ) -> HttpResponse:
        context["export_links"] = self.export_links(obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)
