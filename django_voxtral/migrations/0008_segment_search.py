"""The full-text index of segments (search.py): FTS5 on SQLite, tsvector on PostgreSQL.

Only DDL of the database in use, through search.install; other databases get nothing here.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from django_voxtral import search

    search.install(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    from django_voxtral import search

    search.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("django_voxtral", "0007_transcript_peaks"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
