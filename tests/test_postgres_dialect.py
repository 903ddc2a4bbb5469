"""The repositories' SQLite SQL as the PostgreSQL adapter runs it (core/store/postgres/dialect.py),
and what it refuses. Pure text: no server needed."""

from __future__ import annotations

import pytest

from core.store.postgres.database import redacted
from core.store.postgres.dialect import UnsupportedSQL, translate


@pytest.mark.parametrize(
    ("sqlite", "postgres", "order"),
    [
        ("SELECT id FROM memories WHERE id = ?", "SELECT id FROM memories WHERE id = %s", None),
        # Numbered placeholders may repeat and come in any order; the parameters follow them.
        (
            "UPDATE m SET a = ?2, b = ?1, c = ?2 WHERE id = ?3",
            "UPDATE m SET a = %s, b = %s, c = %s WHERE id = %s",
            (1, 0, 1, 2),
        ),
        # A ? after ?N takes the next number, as in SQLite.
        ("SELECT ?2, ?", "SELECT %s, %s", (1, 2)),
        (
            "VALUES (:a, :b) ON CONFLICT DO UPDATE SET b = :b",
            "VALUES (%(a)s, %(b)s) ON CONFLICT DO UPDATE SET b = %(b)s",
            None,
        ),
        # % is literal for psycopg only when doubled; quoted text keeps its ? and :
        (
            "SELECT 1 WHERE p LIKE 'user:%' AND q = '?x:y'",
            "SELECT 1 WHERE p LIKE 'user:%%' AND q = '?x:y'",
            None,
        ),
        (
            "INSERT OR IGNORE INTO w (a) VALUES (?)",
            "INSERT INTO w (a) VALUES (%s) ON CONFLICT DO NOTHING",
            None,
        ),
        ("SELECT seq FROM m ORDER BY m.rowid DESC", "SELECT seq FROM m ORDER BY m.seq DESC", None),
        ("SELECT group_concat(w.persona_id) FROM w", "SELECT string_agg(w.persona_id, ',') FROM w", None),
        ("SELECT group_concat(id, ';') FROM w", "SELECT string_agg(id, ';') FROM w", None),
        (
            "SELECT json_extract(b.book, '$.description') FROM b",
            "SELECT (b.book::jsonb ->> 'description') FROM b",
            None,
        ),
        ("WHERE a IS ? AND b IS NOT ?", "WHERE a IS NOT DISTINCT FROM %s AND b IS DISTINCT FROM %s", None),
        (
            "WHERE +m.archived_at IS NULL AND (+m.persona_id = ?)",
            "WHERE m.archived_at IS NULL AND (m.persona_id = %s)",
            None,
        ),
        ("SELECT 1 + m.x, a +1", "SELECT 1 + m.x, a +1", None),
        ("FROM memories o INDEXED BY memories_sitting WHERE", "FROM memories o WHERE", None),
        (
            "FROM conv CROSS JOIN memories m ON m.c = conv.c",
            "FROM conv JOIN memories m ON m.c = conv.c",
            None,
        ),
    ],
)
def test_sqlite_spellings_become_postgresql_ones(
    sqlite: str, postgres: str, order: tuple[int, ...] | None
) -> None:
    assert translate(sqlite) == (postgres, order)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("INSERT OR REPLACE INTO t (a) VALUES (?)", "INSERT OR REPLACE"),
        ("PRAGMA user_version", "PRAGMA"),
        ("SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?", "FTS5"),
    ],
)
def test_what_has_no_postgresql_spelling_is_refused_by_name(sql: str, named: str) -> None:
    with pytest.raises(UnsupportedSQL, match=named):
        translate(sql)


def test_urls_in_messages_never_carry_the_password() -> None:
    assert (
        redacted("postgresql://app:s3cret@db.example:5432/persona")
        == "postgresql://app:***@db.example:5432/persona"
    )
    assert redacted("postgresql://app@db/persona") == "postgresql://app@db/persona"
