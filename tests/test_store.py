"""The SQLite store: pragmas, migrations on new and existing databases, transactions."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import anyio
import pytest

from core.store.database import MIGRATIONS_DIR, Database, DatabaseError, split_statements

pytestmark = pytest.mark.anyio

LATEST = len(list(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")))
NEXT = f"{LATEST + 1:04d}"


def _migrations_with(tmp_path: Path, extra: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    for name, sql in extra.items():
        (folder / name).write_text(sql)
    return folder


async def test_new_database_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "persona.db")
    try:
        assert await db.schema_version() == LATEST
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        tables = {row[0] for row in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {
            "personas",
            "memories",
            "memories_fts",
            "memory_vectors",
            "relationships",
            "conversations",
            "messages",
        } <= tables
    finally:
        await db.close()


async def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    db = await Database.open(path)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 'now')")
    await db.close()
    db = await Database.open(path)
    try:
        assert await db.schema_version() == LATEST
        assert await db.scalar("SELECT value FROM settings WHERE key = 'k'") == "v"
    finally:
        await db.close()


async def test_an_existing_database_is_migrated_forward_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    db = await Database.open(path)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO personas (id, name, spec, created_at, updated_at)"
            " VALUES ('old', 'Old', '{}', 't', 't')"
        )
    await db.close()
    folder = _migrations_with(
        tmp_path,
        {f"{NEXT}_add_mood.sql": "ALTER TABLE personas ADD COLUMN mood TEXT NOT NULL DEFAULT 'ok';\n"},
    )
    db = await Database.open(path, folder)
    try:
        assert await db.schema_version() == LATEST + 1
        row = await db.fetch_one("SELECT name, mood FROM personas WHERE id = 'old'")
        assert row is not None
        assert tuple(row) == ("Old", "ok")
    finally:
        await db.close()


async def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    await (await Database.open(path)).close()
    folder = _migrations_with(
        tmp_path,
        {
            f"{NEXT}_broken.sql": "CREATE TABLE half_done (x INTEGER);\n"
            "INSERT INTO no_such_table VALUES (1);\n"
        },
    )
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path, folder)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


async def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    await (await Database.open(path)).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(DatabaseError, match="schema is version 99, newer than this persona-mcp supports"):
        await Database.open(path)


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="is not a usable SQLite database"):
        await Database.open(path)


async def test_two_opens_of_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "persona.db"
    opened: list[Database] = []

    async def open_one() -> None:
        opened.append(await Database.open(path))

    async with anyio.create_task_group() as group:
        group.start_soon(open_one)
        group.start_soon(open_one)
    try:
        assert [await db.schema_version() for db in opened] == [LATEST, LATEST]
    finally:
        for db in opened:
            await db.close()


async def test_a_failed_transaction_commits_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "persona.db")
    try:

        async def insert_then_fail() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 't')")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        assert await db.scalar("SELECT count(*) FROM settings") == 0
    finally:
        await db.close()


def test_split_statements_keeps_triggers_whole() -> None:
    script = (
        "-- comment\nCREATE TABLE t (x);\n\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO t VALUES (1);\n  INSERT INTO t VALUES (2);\nEND;\n"
    )
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")
