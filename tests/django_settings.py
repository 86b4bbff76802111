"""Django settings for the test suite: SQLite by default, PostgreSQL when DATABASE_URL says so.

Never used in production; the example project has its own settings.
"""

from __future__ import annotations

import os
import tempfile

import dj_database_url

SECRET_KEY = "tests-only-not-secret"
# Fast hashing: the tests create many users; never do this outside tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.django_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/schema/swagger-ui/
    "django_tasks_db",
    "django_rq",
    "django_tasks_rq",
    "django_voxtral",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get(
            "DATABASE_URL",
            "sqlite:///" + os.path.join(tempfile.gettempdir(), "voxtral-tests.sqlite3"),
        )
    )
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = "/static/"
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), "voxtral-test-media")

# RQ on Redis, for the test that runs transcripts with an RQ worker (database 3: tests only).
RQ_QUEUES = {"voxtral-test": {"HOST": "127.0.0.1", "PORT": 6379, "DB": 3}}

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

#: The app's tests upload small tones, which stand for speech there: the loudness detector
#: hears them, while the Silero detector (the default) rightly hears no speech in a tone. Tests
#: that set VOXTRAL start from this; tests/django/test_django_detector.py runs the default detector.
TONES_ARE_SPEECH = {"SPEECH_DETECTOR": "level"}

VOXTRAL = {
    "BACKENDS": {
        "default": {"BACKEND": "dummy", "OPTIONS": {}},
        "local": {"BACKEND": "local", "OPTIONS": {}},
        "english_only": {"BACKEND": "tests.testapp.backends.EnglishOnlyBackend", "OPTIONS": {}},
    },
    **TONES_ARE_SPEECH,
}

REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
