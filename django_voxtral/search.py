"""Full-text search over segments, across the done transcripts a user may see: the one rule.

Never answer a hit the user may not see, let a query be a syntax error, or leave text unescaped.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from .models import Segment, Transcript
from .permissions import transcripts_for

#: The longest query taken (the API answers 400 beyond it).
MAX_QUERY_LENGTH = 200

#: ISO 639-1 codes (a transcript's detected_language, else its language) to PostgreSQL's text
#: search configurations; any other language, or a configuration the server lacks, is "simple".
POSTGRES_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

# Markers put around matches by the database, then turned into <mark> after escaping: characters
# of Unicode's private-use area, which no speech service writes.
_OPEN, _CLOSE = "\ue000", "\ue001"
_ELLIPSIS = "…"

# PostgreSQL's ts_headline drops what its parser takes for HTML tags and escapes nothing, so
# it is given the text escaped already (entities are single tokens: never cut in two).
_PG_ESCAPED = "replace(replace(replace({}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"

FTS_TABLE = "django_voxtral_segment_fts"
_PG_CONFIG_FUNCTION = "django_voxtral_search_config"
_PG_TRIGGER_FUNCTION = "django_voxtral_segment_search_vector"
_PG_TRIGGER = "django_voxtral_segment_search"
_PG_INDEX = "django_voxtral_segment_search_idx"


@dataclass(frozen=True)
class Hit:
    """One segment that matches: where it is, and a snippet as safe HTML (matches in <mark>)."""

    transcript_id: uuid.UUID
    index: int
    start: float
    end: float
    snippet: str
    rank: float
    media_name: str


def backend(connection: BaseDatabaseWrapper | None = None) -> str:
    """ "postgresql", "sqlite" (FTS5 installed) or "fallback" (icontains, unranked)."""
    connection = connection or default_connection
    if connection.vendor == "postgresql":
        return "postgresql"
    if connection.vendor == "sqlite" and _fts_table_exists(connection):
        return "sqlite"
    return "fallback"


def terms(query: str) -> list[str]:
    """The query's words: split on whitespace, NUL removed, those without a letter or digit left
    out (they would match nothing)."""
    return [t for t in query.replace("\x00", " ").split() if any(c.isalnum() for c in t)]


def fts5_query(query: str) -> str:
    """A MATCH expression that is never a syntax error: each term a quoted FTS5 string, ANDed."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms(query))


def search(user: Any, query: str, *, limit: int = 50, offset: int = 0) -> list[Hit]:
    """The segments matching ``query`` in the done transcripts ``user`` may see, best first."""
    words = terms(query[:MAX_QUERY_LENGTH])
    if not words or limit <= 0:
        return []
    visible = transcripts_for(user, "view").filter(status=Transcript.Status.DONE)
    connection = default_connection
    how = backend(connection)
    if how == "fallback":
        return _search_fallback(visible, words, limit, offset)
    try:
        compiler = visible.values("pk").query.get_compiler(connection=connection)
        scope_sql, scope_params = compiler.as_sql()
    except EmptyResultSet:  # no one (an anonymous or inactive user)
        return []
    if how == "postgresql":
        return _search_postgresql(
            connection, " ".join(words), scope_sql, scope_params, limit, offset
        )
    return _search_sqlite(connection, words, scope_sql, scope_params, limit, offset)


def _names() -> dict[str, str]:
    q = default_connection.ops.quote_name
    return {
        "seg": q(Segment._meta.db_table),
        "tr": q(Transcript._meta.db_table),
        "index": q("index"),
        "end": q("end"),
    }


def _search_sqlite(
    connection: BaseDatabaseWrapper,
    words: list[str],
    scope_sql: str,
    scope_params: tuple[Any, ...],
    limit: int,
    offset: int,
) -> list[Hit]:
    n = _names()
    sql = f"""
        SELECT s.transcript_id, s.{n["index"]}, s.start, s.{n["end"]}, s.text, t.media_name,
               snippet({FTS_TABLE}, 0, %s, %s, %s, 12), bm25({FTS_TABLE})
        FROM {FTS_TABLE} f
        JOIN {n["seg"]} s ON s.id = f.rowid
        JOIN {n["tr"]} t ON t.id = s.transcript_id
        WHERE {FTS_TABLE} MATCH %s AND s.transcript_id IN ({scope_sql})
        ORDER BY bm25({FTS_TABLE}), t.created DESC, s.{n["index"]}
        LIMIT %s OFFSET %s
    """
    params = (_OPEN, _CLOSE, _ELLIPSIS, fts5_query(" ".join(words)), *scope_params, limit, offset)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # bm25 is better when lower (negative): the rank is its opposite, higher is better.
    return [_hit(row[:6], row[6], -float(row[7])) for row in rows]


def _search_postgresql(
    connection: BaseDatabaseWrapper,
    query: str,
    scope_sql: str,
    scope_params: tuple[Any, ...],
    limit: int,
    offset: int,
) -> list[Hit]:
    # Each segment's vector was made with its transcript's configuration, so each is matched
    # with the query parsed by that same configuration (stems and stop words agree). The OR of
    # the query in every configuration is a constant the GIN index can use; the row's own
    # configuration then decides.
    n = _names()
    configs = _pg_configs(connection)
    any_config = " || ".join("websearch_to_tsquery(%s::regconfig, %s)" for _ in configs)
    any_params: list[Any] = []
    for config in configs:
        any_params += [config, query]
    language = _pg_language_sql("t")
    sql = f"""
        SELECT transcript_id, idx, start, stop, text, media_name,
               ts_headline(config, text, q, %s), ts_rank(search_vector, q) AS rank
        FROM (
            SELECT s.transcript_id, s.{n["index"]} AS idx, s.start, s.{n["end"]} AS stop,
                   {_PG_ESCAPED.format("translate(s.text, %s, '')")} AS text,
                   t.media_name, t.created, s.search_vector,
                   {_PG_CONFIG_FUNCTION}({language}) AS config,
                   websearch_to_tsquery({_PG_CONFIG_FUNCTION}({language}), %s) AS q
            FROM {n["seg"]} s JOIN {n["tr"]} t ON t.id = s.transcript_id
            WHERE s.search_vector @@ ({any_config}) AND s.transcript_id IN ({scope_sql})
        ) AS candidates
        WHERE search_vector @@ q
        ORDER BY rank DESC, created DESC, idx
        LIMIT %s OFFSET %s
    """
    options = f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=24, MinWords=12, ShortWord=0"
    params = (options, _OPEN + _CLOSE, query, *any_params, *scope_params, limit, offset)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_hit(row[:6], row[6], float(row[7]), escaped=True) for row in rows]


def _search_fallback(visible: Any, words: list[str], limit: int, offset: int) -> list[Hit]:
    """Other databases (and SQLite without FTS5): every word in the text, any case; unranked."""
    segments = Segment.objects.filter(transcript__in=visible.values("pk"))
    for word in words:
        segments = segments.filter(text__icontains=word)
    rows = segments.order_by("-transcript__created", "transcript_id", "index").values_list(
        "transcript_id", "index", "start", "end", "text", "transcript__media_name"
    )[offset : offset + limit]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [
        _hit(row, pattern.sub(lambda m: _OPEN + m.group(0) + _CLOSE, row[4]), 0.0) for row in rows
    ]


def _hit(row: tuple[Any, ...], marked: str, rank: float, *, escaped: bool = False) -> Hit:
    """A row as a Hit; ``marked`` is the snippet with the markers, escaped already or not."""
    transcript_id, index, start, end, text, media_name = row
    if _OPEN in text or _CLOSE in text:
        # The text holds our markers itself: no highlight rather than a wrong one.
        marked = marked.replace(_OPEN, "").replace(_CLOSE, "")
    snippet = marked if escaped else html.escape(marked)
    snippet = snippet.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    if not isinstance(transcript_id, uuid.UUID):
        transcript_id = uuid.UUID(str(transcript_id))  # SQLite keeps it as 32 hex digits
    return Hit(
        transcript_id=transcript_id,
        index=int(index),
        start=float(start),
        end=float(end),
        snippet=snippet,
        rank=rank,
        media_name=str(media_name or ""),
    )


def _fts_table_exists(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (FTS_TABLE,)
        )
        return cursor.fetchone() is not None


def _pg_configs(connection: BaseDatabaseWrapper) -> list[str]:
    """The configurations of POSTGRES_CONFIGS this server has, and "simple"."""
    wanted = sorted(set(POSTGRES_CONFIGS.values()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config WHERE cfgname = ANY(%s)", (wanted,))
        have = sorted(str(row[0]) for row in cursor.fetchall())
    return ["simple", *have]


def _pg_language_sql(alias: str) -> str:
    """The SQL for a transcript's language: English when translated, else detected, else asked."""
    return (
        f"CASE WHEN {alias}.task = 'translate' THEN 'en' "
        f"ELSE coalesce(nullif({alias}.detected_language, ''), {alias}.language) END"
    )


def reindex(transcript: Transcript) -> None:
    """Brings the index of this transcript's segments up to date.

    Triggers keep the index in step with every insert, change and delete of a segment, so this
    is needed only when the transcript's language changed (PostgreSQL's vectors follow it);
    SQLite's FTS5 index does not depend on the language and needs nothing.
    """
    connection = default_connection
    if backend(connection) != "postgresql":
        return
    n = _names()
    with connection.cursor() as cursor:
        # Setting the text fires the trigger, which makes the vector with the current language.
        cursor.execute(
            f"UPDATE {n['seg']} SET text = text WHERE transcript_id = %s", (transcript.pk,)
        )


def rebuild(connection: BaseDatabaseWrapper | None = None) -> None:
    """Rebuilds the whole index from the segments (after restoring a dump without triggers)."""
    connection = connection or default_connection
    how = backend(connection)
    with connection.cursor() as cursor:
        if how == "sqlite":
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif how == "postgresql":
            cursor.execute(f"UPDATE {_names()['seg']} SET text = text")


# The index itself, created by migration 0008 (and by any later migration that remakes the
# segment table on SQLite, which drops its triggers): idempotent.


def install(connection: BaseDatabaseWrapper) -> None:
    """Creates the index, its triggers and functions for this database, and fills it."""
    segment = connection.ops.quote_name(Segment._meta.db_table)
    transcript = connection.ops.quote_name(Transcript._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            _install_sqlite(cursor, segment)
        elif connection.vendor == "postgresql":
            _install_postgresql(cursor, segment, transcript)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    segment = connection.ops.quote_name(Segment._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for suffix in ("ai", "ad", "au"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {_PG_TRIGGER} ON {segment}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {_PG_TRIGGER_FUNCTION}()")
            cursor.execute(f"DROP FUNCTION IF EXISTS {_PG_CONFIG_FUNCTION}(text)")
            cursor.execute(f"DROP INDEX IF EXISTS {_PG_INDEX}")
            cursor.execute(f"ALTER TABLE {segment} DROP COLUMN IF EXISTS search_vector")


def _install_sqlite(cursor: Any, segment: str) -> None:
    try:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, "
            f"content='{Segment._meta.db_table}', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
    except Exception as exc:  # SQLite built without FTS5: search falls back to icontains.
        if "fts5" in str(exc).lower():
            return
        raise
    delete = (
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);"
    )
    insert = f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);"
    cursor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {segment} BEGIN {insert} END"
    )
    cursor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {segment} BEGIN {delete} END"
    )
    cursor.execute(
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF text ON {segment} "
        f"BEGIN {delete} {insert} END"
    )
    cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def _install_postgresql(cursor: Any, segment: str, transcript: str) -> None:
    cursor.execute(
        "SELECT cfgname FROM pg_ts_config WHERE cfgname = ANY(%s)",
        (sorted(set(POSTGRES_CONFIGS.values())),),
    )
    have = {str(row[0]) for row in cursor.fetchall()}
    cases = " ".join(
        f"WHEN '{code}' THEN '{config}'::regconfig"
        for code, config in sorted(POSTGRES_CONFIGS.items())
        if config in have
    )
    cursor.execute(
        f"CREATE OR REPLACE FUNCTION {_PG_CONFIG_FUNCTION}(code text) RETURNS regconfig "
        f"LANGUAGE sql IMMUTABLE AS $$ SELECT CASE lower(code) {cases} "
        "ELSE 'simple'::regconfig END $$"
    )
    cursor.execute(f"ALTER TABLE {segment} ADD COLUMN IF NOT EXISTS search_vector tsvector")
    cursor.execute(
        f"CREATE OR REPLACE FUNCTION {_PG_TRIGGER_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.search_vector := to_tsvector(coalesce((SELECT "
        f"{_PG_CONFIG_FUNCTION}({_pg_language_sql('t')}) FROM {transcript} t "
        "WHERE t.id = NEW.transcript_id), 'simple'::regconfig), coalesce(NEW.text, '')); "
        "RETURN NEW; END $$"
    )
    cursor.execute(f"DROP TRIGGER IF EXISTS {_PG_TRIGGER} ON {segment}")
    cursor.execute(
        f"CREATE TRIGGER {_PG_TRIGGER} BEFORE INSERT OR UPDATE OF text, transcript_id "
        f"ON {segment} FOR EACH ROW EXECUTE FUNCTION {_PG_TRIGGER_FUNCTION}()"
    )
    cursor.execute(f"CREATE INDEX IF NOT EXISTS {_PG_INDEX} ON {segment} USING gin (search_vector)")
    cursor.execute(f"UPDATE {segment} SET text = text")


__all__ = [
    "MAX_QUERY_LENGTH",
    "POSTGRES_CONFIGS",
    "Hit",
    "backend",
    "fts5_query",
    "install",
    "rebuild",
    "reindex",
    "search",
    "terms",
]
