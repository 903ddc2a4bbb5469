"""Reading and writing a test's store directly, whichever engine the `settings` fixture chose
(--backend): what a test checks in the tables, or puts there before the tools can, in SQLite's SQL
(translated for PostgreSQL as the server translates it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from typing import Any

from core.config import Settings
from core.store.postgres.dialect import translate


def _postgres(settings: Settings, sql: str, params: Iterable[Any], write: bool) -> list[tuple[Any, ...]]:
    import psycopg

    assert settings.database_url is not None
    text, order = translate(sql)
    given = tuple(params)
    values = given if order is None else tuple(given[i] for i in order)
    with psycopg.connect(settings.database_url.get_secret_value(), autocommit=not write) as connection:
        cursor = connection.execute(text.encode(), values)
        rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        if write:
            connection.commit()
    return rows


def rows(settings: Settings, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of a query, as tuples."""
    if settings.database_url is not None:
        return _postgres(settings, sql, params, write=False)
    with closing(sqlite3.connect(settings.database_path)) as db:
        return [tuple(row) for row in db.execute(sql, tuple(params)).fetchall()]


def value(settings: Settings, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row."""
    found = rows(settings, sql, params)
    return found[0][0] if found else None


def run(settings: Settings, sql: str, params: Iterable[Any] = (), many: bool = False) -> None:
    """A write, committed (with `many`, `params` is a list of rows)."""
    batches = list(params) if many else [params]
    if settings.database_url is not None:
        for batch in batches:
            _postgres(settings, sql, batch, write=True)
        return
    with closing(sqlite3.connect(settings.database_path)) as db, db:
        db.execute("PRAGMA foreign_keys = ON")
        for batch in batches:
            db.execute(sql, tuple(batch))
