"""Settings of the example site: SQLite and an embedded db_worker by default, all from env vars.

Demo only: DEBUG and a fixed secret key unless DJANGO_SECRET_KEY and DJANGO_DEBUG say otherwise.
Served for real (docs/deploy.md, tests/deploy/): DATABASE_URL, VOXTRAL_TASKS=rq with REDIS_URL,
CACHE_URL, AWS_STORAGE_BUCKET_NAME, DJANGO_STATIC_ROOT; each changes nothing unless it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

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
    "django_voxtral",
    "videos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the workers share the file. A transaction takes the write lock when it
    # begins (IMMEDIATE) and waits up to 20 s for it; with WAL, readers never block writers.
    # Without these, "database is locked" fails transcripts (check django_voxtral.W004).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )

# The admin's login page: where a logged-out visitor of a media link is sent.
LOGIN_URL = "/admin/login/"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# collectstatic copies the admin's and the API pages' files here, for the web server in front.
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
# Uploads are never served as static files: /media/ is a view that checks the user (urls.py).
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads over 2.5 MB go to a temporary file, never whole into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

QUEUE_NAME = os.environ.get("VOXTRAL_QUEUE", "default")
REDIS_URL = os.environ.get("REDIS_URL", "")

# Transcripts run by workers: db_worker on the database (the default), or RQ on Redis.
_tasks = os.environ.get("VOXTRAL_TASKS", "db")
# The app's tasks are declared on the queue "default" and sent to VOXTRAL["QUEUE_NAME"]: a backend
# lists both.
_queues = list(dict.fromkeys(["default", QUEUE_NAME]))
if _tasks == "db":
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": _queues,
        }
    }
elif _tasks == "rq":
    _at = INSTALLED_APPS.index("django_tasks_db")
    INSTALLED_APPS[_at : _at + 1] = ["django_rq", "django_tasks_rq"]
    # No RQ time limit on a job: a transcript of hours of media may take a while, and a worker
    # that dies is noticed by the transcript's lease (docs/django.md, "Dead and stopped workers").
    RQ_QUEUES = {
        name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": -1}
        for name in _queues
    }
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_rq.RQBackend",
            "QUEUES": _queues,
        }
    }
else:
    raise ImproperlyConfigured(f"VOXTRAL_TASKS is {_tasks!r}: say db (the default) or rq.")

# One cache for every web process, so the API's upload throttle counts across them; without
# CACHE_URL or REDIS_URL, Django's LocMemCache (each process counts on its own).
_cache_url = os.environ.get("CACHE_URL") or REDIS_URL
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }

# Uploads on S3 (or any S3-compatible store) through django-storages; keys from the environment
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the machine's role, as boto3 finds them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "file_overwrite": False,  # two uploads of one name must not replace each other
            "querystring_auth": True,  # storage.url() is signed, for SIGNED_MEDIA_URLS
        },
    }

if os.environ.get("DEEPINFRA_TOKEN"):
    _default_backend = {
        "BACKEND": "django_voxtral.speech.backends.deepinfra.DeepInfraBackend",
        "OPTIONS": {"model": "mistralai/Voxtral-Small-24B-2507"},  # token from DEEPINFRA_TOKEN
    }
else:
    _default_backend = {
        "BACKEND": "django_voxtral.speech.backends.local.LocalBackend",
        "OPTIONS": {},
    }

VOXTRAL = {
    "BACKENDS": {"default": _default_backend},
    "MAX_CHUNK_SECONDS": 30,
    "CONCURRENCY": 8 if os.environ.get("DEEPINFRA_TOKEN") else 2,
    "MAX_MEDIA_SECONDS": 4 * 3600,
    "QUEUE_NAME": QUEUE_NAME,
    "SYNC_TIMEOUT": float(os.environ.get("VOXTRAL_SYNC_TIMEOUT", 300)),
    "SIGNED_MEDIA_URLS": os.environ.get("VOXTRAL_SIGNED_MEDIA_URLS", "0") == "1",
    "WEBHOOK_SECRET": os.environ.get("VOXTRAL_WEBHOOK_SECRET", ""),  # whsec_<base64>
    # A Video's media and captions are public (its page /videos/<pk>/ is); API uploads are not.
    "MEDIA_ACCESS": "videos.access.public_videos",
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "django-voxtral example site",
    "DESCRIPTION": "Transcripts of audio and video files.",
    "VERSION": "0.1.0",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_voxtral": {"handlers": ["console"], "level": "INFO"}},
}
