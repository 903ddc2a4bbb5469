"""Copying the whole store between PostgreSQL and an SQLite file, both ways: what `persona-mcp
migrate` does, and how state archives (which hold an SQLite database) are saved from and loaded
into PostgreSQL.

Every table of the SQLite schema is copied, parents first, with the columns both schemas have
(PostgreSQL's `seq` and `search` are its own, made as rows arrive). Memories are copied in store
order (SQLite's rowid, PostgreSQL's seq), so memories stored one after another stay neighbours.
Vectors keep their bytes. Integer ids (messages, interactions...) are kept, and PostgreSQL's
identity sequences are moved past them.

`digest` fingerprints a table's rows the same way on either engine (sorted, floats to 12
significant digits, bytes as hex), so a copy is checked by counts and checksums.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio

from core.store.database import Database
from core.store.postgres.database import Transaction
from core.store.snapshot import TABLES, table_columns
from core.store.vectors import VectorBlob

__all__ = ["ALL_TABLES", "digest", "export_to_sqlite", "import_from_sqlite", "pg_digests", "sqlite_digests"]

ALL_TABLES = (*TABLES, "audit_log")  # parents before children
_PG_ONLY = {"seq", "search"}
_ORDER = {"memories": "seq", "conversation_participants": "seq", "lorebook_links": "seq"}
_CHUNK = 2_000


async def _pg_columns(tx: Transaction) -> dict[str, list[str]]:
    rows = await tx.execute_fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return found


async def _text_columns(tx: Transaction) -> set[tuple[str, str]]:
    """(table, column) of PostgreSQL's text columns: SQLite may hold a BLOB in one (JSON written
    as bytes by earlier versions), which goes over as the text it is."""
    rows = await tx.execute_fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND data_type = 'text'"
    )
    return {(str(table), str(column)) for table, column in rows}


async def export_to_sqlite(tx: Transaction, target: Path) -> dict[str, int]:
    """Write every row PostgreSQL holds (as `tx`'s transaction sees them) into a new SQLite
    database at `target` (made with the newest schema); rows per table. Its vector index starts
    empty, so every memory is pending for it."""
    await (await Database.open(target)).close()
    pg = await _pg_columns(tx)
    copied: dict[str, int] = {}
    with closing(sqlite3.connect(target, check_same_thread=False, isolation_level=None)) as con:
        con.execute("PRAGMA foreign_keys = OFF")  # parents come first; checked whole below
        con.execute("BEGIN")
        for table in ALL_TABLES:
            columns = [c for c in table_columns(con, table) if c in pg.get(table, ())]
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            order = f" ORDER BY {_ORDER[table]}" if table in _ORDER else ""
            count = 0
            async for chunk in tx.stream(f"SELECT {', '.join(columns)} FROM {table}{order}", (), _CHUNK):
                rows = [tuple(row) for row in chunk]
                await anyio.to_thread.run_sync(con.executemany, insert, rows)
                count += len(rows)
            copied[table] = count
        con.execute("UPDATE memories SET indexed_at = NULL")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            con.execute("ROLLBACK")
            raise ValueError(f"the copy has {len(broken)} broken references, first: {broken[0]}")
        con.execute("COMMIT")
    return copied


async def import_from_sqlite(tx: Transaction, source: Path) -> dict[str, int]:
    """Make PostgreSQL hold exactly what the SQLite database at `source` holds, in `tx` (a write
    transaction: readers see the old rows until it commits); rows per table."""
    pg = await _pg_columns(tx)
    text = await _text_columns(tx)
    await tx.execute(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE")
    copied: dict[str, int] = {}
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, check_same_thread=False)) as con:
        for table in ALL_TABLES:
            columns = [c for c in table_columns(con, table) if c in pg.get(table, ()) and c not in _PG_ONLY]
            kinds = [_kind(table, column, text) for column in columns]
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            order = " ORDER BY rowid" if _has_rowid(con, table) else ""
            count = 0
            for chunk in _chunks(con.execute(f"SELECT {', '.join(columns)} FROM {table}{order}")):
                rows = [_row(row, kinds) for row in chunk]
                await tx.executemany(insert, rows)
                count += len(rows)
            copied[table] = count
    identities = await tx.execute_fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES' AND identity_generation = 'BY DEFAULT'"
    )
    for table, column in identities:
        await tx.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
        )
    return copied


def _has_rowid(con: sqlite3.Connection, table: str) -> bool:
    try:
        con.execute(f"SELECT rowid FROM {table} LIMIT 0")
    except sqlite3.OperationalError:  # WITHOUT ROWID
        return False
    return True


def _chunks(cursor: sqlite3.Cursor) -> Iterable[list[Any]]:
    while chunk := cursor.fetchmany(_CHUNK):
        yield chunk


def _kind(table: str, column: str, text: set[tuple[str, str]]) -> str:
    if table == "memory_vectors" and column == "vector":
        return "vector"
    return "text" if (table, column) in text else ""


def _row(row: Sequence[Any], kinds: Sequence[str]) -> tuple[Any, ...]:
    return tuple(_value(value, kind) for value, kind in zip(row, kinds, strict=True))


def _value(value: Any, kind: str) -> Any:
    if kind == "vector":
        return VectorBlob(value)
    if kind == "text" and isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def digest(rows: Iterable[Sequence[Any]]) -> str:
    """A fingerprint of a table's rows that does not depend on the engine or the order."""
    lines = sorted("\x1f".join(_canonical(value) for value in row) for row in rows)
    hasher = hashlib.sha256()
    for line in lines:
        hasher.update(line.encode())
        hasher.update(b"\x1e")
    return hasher.hexdigest()


def _canonical(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


async def pg_digests(
    tx: Transaction,
) -> tuple[dict[str, tuple[int, str]], dict[str, list[str]], set[tuple[str, str]]]:
    """(rows, checksum) of every table as PostgreSQL holds them, and the columns compared (those
    both engines have, but `indexed_at`: a copy's vector index starts afresh)."""
    pg = await _pg_columns(tx)
    compared = {
        table: [c for c in pg.get(table, ()) if c not in _PG_ONLY and c != "indexed_at"]
        for table in ALL_TABLES
    }
    found = {}
    for table in ALL_TABLES:
        rows: list[Any] = []  # PostgreSQL's text columns hold text: SQLite's BLOB JSON compares as such
        async for chunk in tx.stream(f"SELECT {', '.join(compared[table])} FROM {table}", (), _CHUNK):
            rows.extend(tuple(row) for row in chunk)
        found[table] = (len(rows), digest(rows))
    return found, compared, await _text_columns(tx)


def sqlite_digests(
    path: Path, compared: dict[str, list[str]], text: set[tuple[str, str]]
) -> dict[str, tuple[int, str]]:
    """(rows, checksum) of every table of the SQLite database at `path`, over the same columns
    (a BLOB in what PostgreSQL keeps as text read as the text it is)."""
    found = {}
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        for table in ALL_TABLES:
            kinds = ["text" if (table, column) in text else "" for column in compared[table]]
            rows = [
                _row(row, kinds) for row in con.execute(f"SELECT {', '.join(compared[table])} FROM {table}")
            ]
            found[table] = (len(rows), digest(rows))
    return found
