"""The admin's add form: upload a media file and pick the options of a new transcript.

The same checks as every upload path (upload_checks.py), said on the form; never create the
transcript here (TranscriptAdmin.save_model asks transcripts.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ffmpeg_bridge import MediaInfo

from .. import budgets
from ..conf import get_settings
from ..exceptions import ACTIONABLE
from ..models import Transcript
from ..speech.backends.errors import InvalidOption
from ..speech.backends.options import LANGUAGES, OPTION_FIELDS, TranscriptionOptions
from ..upload_checks import check_backend, probe_upload


def _language_label(code: str) -> str:
    from django.utils.translation import get_language_info

    try:
        return f"{code} ({get_language_info(code)['name']})"
    except KeyError:
        return code


class TranscriptAddForm(forms.ModelForm[Transcript]):
    """Upload a media file and pick the options of a new transcript."""

    #: The admin who fills the form in, whose daily budget the upload counts against (get_form).
    acting_user: Any = None
    #: What the probe found, and the options: set by a valid form, for transcripts.py.
    media_info: MediaInfo | None = None
    options: TranscriptionOptions | None = None

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
            # The checks of every upload path (not media, no audio, too long, over the daily
            # budget) said now, on the form, rather than later as a failed transcript.
            try:
                self.media_info = probe_upload(media)
                budgets.check(self.acting_user, self.media_info.duration)
            except ACTIONABLE as exc:
                raise forms.ValidationError(str(exc)) from None
        return media

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.options = TranscriptionOptions.from_form({f: data.get(f) for f in OPTION_FIELDS})
        except InvalidOption as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
            return data
        alias = data.get("backend")
        if alias:
            try:
                check_backend(alias, self.options)
            except ACTIONABLE as exc:
                self.add_error("backend", str(exc))
        return data
