"""The SQLite database: WAL mode, foreign keys, one writer connection, numbered migrations.

Writes go through `Database.transaction()`, which serialises writers inside this process with a
lock and across processes with `BEGIN IMMEDIATE` (plus a busy timeout), so several server
processes may share one data directory. Reads use two more connections, in turn, and never block on writers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from core.errors import PersonaMCPError
from core.files import PRIVATE_FILE, private_folder
from core.store.port import Row

__all__ = [
    "DAMAGE_TEXT",
    "MIGRATIONS_DIR",
    "Database",
    "DatabaseError",
    "StorageFull",
    "damaged_message",
    "split_statements",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Long enough to wait out another process's write transaction, short enough to fail visibly.
_BUSY_TIMEOUT_MS = 10_000
_READERS = 2
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(PersonaMCPError):
    """The database file cannot be used (newer schema, corrupt, not a database)."""


class StorageFull(PersonaMCPError):
    """A write failed for want of disk space (or another write error); it was rolled back."""


def _storage_error(path: Path, exc: BaseException) -> StorageFull | None:
    """The clear error for a write SQLite could not make, or None for any other failure."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
        why = "the disk holding it is full"
    elif code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        why = f"the disk refused a write ({exc})"
    else:
        return None
    logger.error("a write to %s failed and was rolled back: %s", path, exc)
    return StorageFull(
        f"Nothing from this call was saved: {why} ({path.parent}). Everything saved before is intact; "
        "free some space there and call again."
    )


_DAMAGED_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
# How SQLite words those two codes, also when another library (Chroma) passes them on as text.
DAMAGE_TEXT = re.compile(r"not a database|malformed|database disk image|\(code: (?:11|26)\)", re.IGNORECASE)


def _damage_error(path: Path, exc: BaseException) -> DatabaseError | None:
    """The clear error for a database file that is damaged or not a database, or None."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    if (code is None or code & 0xFF not in _DAMAGED_CODES) and not DAMAGE_TEXT.search(text):
        return None
    logger.error("the database %s is damaged: %s", path, exc)
    return DatabaseError(damaged_message(path, text))


def damaged_message(path: Path, cause: str) -> str:
    """What to tell someone whose database file is damaged: the cause and the two ways out."""
    return (
        f"The database {path} is damaged ({cause}). Restore a backup (persona-mcp restore FILE, or "
        f"state_load), or move the file aside (mv {path} {path}.damaged) to start afresh; "
        "`persona-mcp doctor` checks it."
    )


def _prepare(path: Path) -> None:
    """Before opening: a private folder, and no folder or empty file where the database should be."""
    private_folder(path.parent)
    if path.is_dir():
        raise DatabaseError(
            f"{path} is a folder, not a database file: move it aside (mv {path} {path}.folder) and "
            "start again, or set PERSONA_MCP_DATA_DIR to another folder."
        )
    if path.exists() and path.stat().st_size == 0:
        logger.warning(
            "%s is empty (0 bytes): a new database is created in it. If it held your data, stop now "
            "and restore a backup (persona-mcp restore FILE).",
            path,
        )


def _private_files(path: Path) -> None:
    """The database and its WAL and shared-memory files, readable by their owner only."""
    if os.name != "posix":
        return
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # absent, or not ours to change
            info = file.stat()
            if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_FILE:
                os.chmod(file, PRIVATE_FILE)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers with BEGIN ... END stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement at end of script: {buffer.strip()[:60]!r}")
    return statements


def newest_version(migrations_dir: Path = MIGRATIONS_DIR) -> int:
    """The schema version this persona-mcp's SQLite migrations reach (what a state archive's
    database is, whichever engine made it)."""
    migrations = _migrations(migrations_dir)
    return migrations[-1][0] if migrations else 0


def _migrations(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations in {directory} must be numbered 0001, 0002, ... without gaps")
    return found


class Database:
    """An open SQLite file. Use `Database.open(path)` and `await db.close()`."""

    engine = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self._writer = writer
        self._readers = readers
        self._next_reader = 0
        self._write_lock = anyio.Lock()

    @property
    def _reader(self) -> aiosqlite.Connection:
        # Each connection runs its queries one at a time on its own thread; taking turns lets two
        # reads of one request (words and vectors) run side by side.
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    @classmethod
    async def open(cls, path: Path, migrations_dir: Path = MIGRATIONS_DIR) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date. The
        folder is made private (0700) and the database files 0600."""
        await anyio.to_thread.run_sync(_prepare, path)
        writer = await cls._connect(path)
        try:
            await _migrate(writer, migrations_dir)
            readers = [await cls._connect(path) for _ in range(_READERS)]
        except BaseException as exc:
            await writer.close()
            if (damaged := _damage_error(path, exc)) is not None:
                raise damaged from None
            raise
        await anyio.to_thread.run_sync(_private_files, path)
        return cls(path, writer, readers)

    @staticmethod
    async def _connect(path: Path) -> aiosqlite.Connection:
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"{path} cannot be opened ({exc}): check that its folder is writable, or set "
                "PERSONA_MCP_DATA_DIR to another folder."
            ) from None
        connection.row_factory = aiosqlite.Row
        try:
            await connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await _set_wal(connection)
            await connection.execute("PRAGMA foreign_keys = ON")
            await connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            await connection.close()
            raise DatabaseError(f"{path} is not a usable SQLite database: {exc}.") from None
        return connection

    async def close(self) -> None:
        """Close every connection; safe to call twice."""
        for reader in self._readers:
            await reader.close()
        await self._writer.close()

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        async with self._write_lock:
            # Shielded: a cancelled await would not stop aiosqlite's thread from running the
            # BEGIN later, leaving a transaction open that no one ends (every later write would
            # then fail with "cannot start a transaction within a transaction").
            with anyio.CancelScope(shield=True):
                await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                with anyio.CancelScope(shield=True):
                    await self._writer.execute("COMMIT")
            except BaseException as exc:
                # Also after a failed COMMIT, which SQLite may leave open: unended, every later
                # write would fail with "cannot start a transaction within a transaction".
                with anyio.CancelScope(shield=True):
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                if (full := _storage_error(self.path, exc)) is not None:
                    raise full from None
                if (damaged := _damage_error(self.path, exc)) is not None:
                    raise damaged from None
                raise

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a read-only query (the queries asking for one return one), or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Every row of a read-only query, run and read to the end in one step on the reader's
        thread, so the statement, and with it the read transaction, is over before another query
        uses the connection. (With a cursor left open between awaits, concurrent requests kept a
        reader's read transaction open under load: a search could then read a snapshot older than
        a write it had already been told about.)"""
        try:
            return list(await self._reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.DatabaseError as exc:
            if (damaged := _damage_error(self.path, exc)) is not None:
                raise damaged from None
            raise

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first column of the first row of a read-only query (None when no row)."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


async def _set_wal(connection: aiosqlite.Connection) -> None:
    """Switch to WAL. Changing the journal mode does not wait on SQLite's busy handler, so while
    another connection holds the lock (a new database being created and migrated by another
    process) it is retried for up to the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await anyio.sleep(0.05)


async def _migrate(connection: aiosqlite.Connection, migrations_dir: Path) -> None:
    """Apply pending migrations, each in its own transaction together with its version bump.

    BEGIN IMMEDIATE takes the write lock before the version is read, so two processes opening a
    new database at once apply each migration exactly once."""
    migrations = _migrations(migrations_dir)
    latest = migrations[-1][0] if migrations else 0
    for number, path in migrations:
        await connection.execute("BEGIN IMMEDIATE")
        try:
            async with connection.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            if current > latest:
                raise DatabaseError(
                    f"The database schema is version {current}, newer than this persona-mcp supports "
                    f"({latest}). Upgrade persona-mcp, or point PERSONA_MCP_DATA_DIR at another folder."
                )
            if current < number:
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {number}")
                logger.info("applied migration %s", path.name)
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
