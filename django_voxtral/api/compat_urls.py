"""URLs of the compatible endpoints, to mount at ``v1/``: /v1/inference/<model>, /v1/audio/...

Clients build these paths themselves, so keep them exactly as the services name them.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from .compat_deepinfra import DeepInfraInferenceView
from .compat_openai import OpenAITranscriptionView, OpenAITranslationView

app_name = "django_voxtral_v1"

urlpatterns: list[URLPattern] = [
    path("inference/<path:model>", DeepInfraInferenceView.as_view(), name="v1-inference"),
    path("audio/transcriptions", OpenAITranscriptionView.as_view(), name="v1-audio-transcriptions"),
    path("audio/translations", OpenAITranslationView.as_view(), name="v1-audio-translations"),
]
