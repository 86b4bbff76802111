"""The videos app: registers Video.file for transcription on upload.

Registration happens in ready(), once the models are loaded; never at import time.
"""

from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import django_voxtral

        from .models import Video

        django_voxtral.register(Video, "file", task="transcribe")
