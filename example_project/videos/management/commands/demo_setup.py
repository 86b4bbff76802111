"""`manage.py demo_setup`: the demo's admin user, its API token, and a sample video with speech.

Demo only and idempotent: running it again reuses the user, the token and the video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from videos.models import Video

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-voxtral"


class Command(BaseCommand):
    help = "Creates the demo admin user, its API token and a sample video (transcribed on save)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sample", type=Path, help="the sample video to add")

    def handle(self, *args: Any, sample: Path, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        video = Video.objects.filter(title="Sample video").first()
        if video is None:
            with sample.open("rb") as f:
                video = Video(title="Sample video")
                video.file.save(sample.name, File(f), save=True)  # the upload hook queues it
        self.stdout.write(f"user={DEMO_USER} password={DEMO_PASSWORD} token={token.key}")
