"""The PostgreSQL schema (issue 27's adapter, first part), on a real PostgreSQL 16 with pgvector
run by the pgserver wheel: migrations applied once even when processes start together, the same
tables and columns as SQLite's newest schema, full-text search and cosine search working."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from core.errors import InvalidInput
from core.store import Database

psycopg = pytest.importorskip("psycopg")
pgserver = pytest.importorskip("pgserver")

from core.store.postgres.migrate import migrate, migrations  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Columns the PostgreSQL schema adds: `seq` stands in for SQLite's rowid, `search` for FTS5.
PG_ONLY = {"seq", "search"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL server for the module; each test makes its own database."""
    folder = tmp_path_factory.mktemp("pg")
    running = pgserver.get_server(str(folder), cleanup_mode="stop")
    try:
        yield running.get_uri()
    finally:
        running.cleanup()


_made = 0


def _database(server: str) -> str:
    global _made
    _made += 1
    name = f"t{_made}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return server.replace("/postgres?", f"/{name}?")


def _columns_pg(uri: str) -> dict[str, set[str]]:
    with psycopg.connect(uri) as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _columns_sqlite(path: Path) -> dict[str, set[str]]:
    anyio.run(_open_and_close, path)
    with sqlite3.connect(path) as con:
        names = [
            row[0]
            for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith(("sqlite_", "memories_fts"))
        ]
        return {name: {row[1] for row in con.execute(f"PRAGMA table_info({name})")} for name in names}


async def _open_and_close(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


def test_the_schema_has_every_table_and_column_sqlite_has(server: str, tmp_path: Path) -> None:
    uri = _database(server)
    assert anyio.run(migrate, uri) == [version for version, _ in migrations()]
    postgres = _columns_pg(uri)
    sqlite = _columns_sqlite(tmp_path / "persona.db")
    assert set(postgres) - {"schema_migrations", "store_config"} == set(sqlite)
    for table, columns in sqlite.items():
        assert postgres[table] - PG_ONLY == columns - PG_ONLY, table
    assert anyio.run(migrate, uri) == []  # a second run finds nothing to do


def test_processes_starting_together_migrate_once(server: str) -> None:
    uri = _database(server)
    code = (
        "import anyio, sys; from core.store.postgres.migrate import migrate; "
        "print(anyio.run(migrate, sys.argv[1]))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, uri], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = sorted(process.communicate(timeout=120)[0].strip() for process in starts)
    assert [process.returncode for process in starts] == [0, 0, 0]
    assert outputs == ["[1, 2]", "[]", "[]"]
    with psycopg.connect(uri) as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (2,)


def test_an_unknown_text_search_configuration_is_named(server: str) -> None:
    uri = _database(server)
    with pytest.raises(InvalidInput, match="klingon") as refused:
        anyio.run(migrate, uri, "klingon")
    assert "simple" in str(refused.value)
    assert "english" in str(refused.value)
    with psycopg.connect(uri) as con:  # nothing was made
        assert con.execute("SELECT to_regclass('memories')").fetchone() == (None,)


def test_words_and_vectors_are_searchable(server: str) -> None:
    uri = _database(server)
    anyio.run(migrate, uri, "simple")
    with psycopg.connect(uri) as con:
        con.execute(
            "INSERT INTO personas (id, name, spec, created_at, updated_at) "
            "VALUES ('aria', 'Aria', '{}', 'x', 'x')"
        )
        for number, (text, vector) in enumerate(
            [("Sam sails on the Tagus", "[1,0,0]"), ("Bubbles the sourdough starter", "[0,1,0]")]
        ):
            con.execute(
                "INSERT INTO memories (id, persona_id, content, subject, created_at, updated_at, "
                "content_hash) VALUES (%s, 'aria', %s, 'Sam', 'x', 'x', %s)",
                (f"m{number}", text, f"h{number}"),
            )
            con.execute(
                "INSERT INTO memory_vectors (memory_id, model_id, vector) VALUES (%s, 'model', %s)",
                (f"m{number}", vector),
            )
        found = con.execute(
            "SELECT id FROM memories WHERE search @@ plainto_tsquery('simple', 'tagus')"
        ).fetchall()
        assert found == [("m0",)]
        con.execute(
            "CREATE INDEX memory_vectors_model ON memory_vectors "
            "USING hnsw ((vector::vector(3)) vector_cosine_ops) WHERE model_id = 'model'"
        )
        nearest = con.execute(
            "SELECT memory_id FROM memory_vectors WHERE model_id = 'model' "
            "ORDER BY vector::vector(3) <=> '[0.1,0.9,0]' LIMIT 1"
        ).fetchone()
        assert nearest == ("m1",)
        # Pairs compare byte by byte, as on SQLite: 'Z' sorts before 'a'.
        con.execute(
            "INSERT INTO relationships (party_a, party_b, created_at, updated_at) "
            "VALUES ('Zed', 'aria', 'x', 'x')"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            con.execute(
                "INSERT INTO relationships (party_a, party_b, created_at, updated_at) "
                "VALUES ('aria', 'Zed', 'x', 'x')"
            )
