"""The Transcript admin: list, filters, search, the change page with segments and downloads, and
the add form's upload.

Shows and asks transcripts.py to change things; never run the pipeline or call a service from a
view (the worker does that). A site that does not want it: ``admin.site.unregister(Transcript)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import editing, transcripts
from ..exceptions import ACTIONABLE, EditRejected, NotInTranscript
from ..exports import export_response
from ..models import Transcript
from ..speech.backends.options import OPTION_FIELDS
from ..speech.formats import FORMATS
from .actions import TRANSCRIPT_ACTIONS
from .display import format_duration, format_money
from .forms import TranscriptAddForm
from .search_page import search_view
from .segments import SegmentInline
from .workspace import live_progress_url, workspace_view

if TYPE_CHECKING:
    TranscriptAdminBase = admin.ModelAdmin[Transcript]
else:
    TranscriptAdminBase = admin.ModelAdmin

EXPORT_LABELS = {"srt": "SRT", "vtt": "WebVTT", "txt": "TXT", "json": "JSON"}


class _AddRefused(Exception):
    """transcripts.py refused the add form's upload after the form was valid (e.g. storage)."""


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
        "workspace_column",
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
    change_list_template = "django_voxtral/admin/transcript_change_list.html"

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
                # The text once, in the segments below (the workspace reads it best).
                "fields": (
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
        js = ("django_voxtral/live_progress.js",)

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
        poll = live_progress_url(obj)
        return format_html(
            '<span class="voxtral-progress"{}><progress max="100" value="{}"></progress> '
            '<span class="voxtral-progress-text">{}%</span></span>',
            format_html(' data-voxtral-poll="{}"', poll) if poll else "",
            percent,
            percent,
        )

    @admin.display(description=gettext_lazy("workspace"))
    def workspace_column(self, obj: Transcript) -> SafeString:
        return format_html(
            '<a href="{}" class="voxtral-open">{}</a>', self.workspace_url(obj), _("Open")
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
        upload = form.cleaned_data.get("media")
        try:
            transcripts.create_from_upload(
                upload,
                options=form.options,
                backend=form.cleaned_data["backend"],
                owner=obj.owner if obj.owner_id is not None else request.user,
                charged_to=request.user,
                info=form.media_info,
                file_field="media",
                instance=obj,
            )
        except ACTIONABLE as exc:
            raise _AddRefused(str(exc)) from None

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except _AddRefused as exc:
            # The add view's transaction is rolled back: no row, and the message says why.
            self.message_user(
                request, _("Nothing was created. %(reason)s") % {"reason": exc}, messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())

    # --- downloads ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            # Before the <path:object_id>/ patterns, which would take "search" for an id.
            path(
                "search/",
                self.admin_site.admin_view(self.search_view),
                name="{}_{}_search".format(*info),
            ),
            path(
                "<path:object_id>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            path(
                "<path:object_id>/workspace/",
                self.admin_site.admin_view(self.workspace_view),
                name="{}_{}_workspace".format(*info),
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
        try:
            # ?original=1: the machine's transcript as it was; ?revision=<n>: that revision's.
            return export_response([obj], fmt, revision=editing.revision_asked(request.GET))
        except (EditRejected, NotInTranscript) as exc:
            raise Http404(str(exc)) from None

    def workspace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return workspace_view(self, request, object_id)

    def search_view(self, request: HttpRequest) -> HttpResponse:
        return search_view(self, request)

    def workspace_url(self, obj: Transcript) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_workspace"
        return reverse(name, args=[obj.pk], current_app=self.admin_site.name)

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
        context["workspace_url"] = self.workspace_url(obj) if obj is not None else None
        return super().render_change_form(request, context, add, change, form_url, obj)
