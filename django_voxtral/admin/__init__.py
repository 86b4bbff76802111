"""The admin of django_voxtral: the Transcript admin, and the transcribe action for a site's own
models. One job per module: transcript_admin (pages), forms (the add form), segments (the
inline), actions (bulk changes), transcribe (a site's models), display (lengths and money).

Nothing here changes a transcript by itself: every change goes through transcripts.py.
"""

from __future__ import annotations

from .forms import TranscriptAddForm
from .segments import SegmentInline
from .transcribe import TranscribeAdminMixin, make_transcribe_action, transcribe_action
from .transcript_admin import TranscriptAdmin

__all__ = [
    "SegmentInline",
    "TranscribeAdminMixin",
    "TranscriptAddForm",
    "TranscriptAdmin",
    "make_transcribe_action",
    "transcribe_action",
]
