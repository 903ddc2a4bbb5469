"""`persona-mcp migrate`: the whole store from a data folder's SQLite into PostgreSQL, or from
PostgreSQL into a new data folder, checked table by table (rows and checksums, copy.py) before it
is reported done.

The source is read at one moment (SQLite: an online backup first; PostgreSQL: one REPEATABLE READ
transaction), so a server may keep running on it; what it writes after that moment is not copied.
The target must hold nothing yet: nothing is merged or overwritten.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from core.errors import InvalidInput
from core.store.database import Database, DatabaseError
from core.store.postgres.copy import (
    ALL_TABLES,
    export_to_sqlite,
    import_from_sqlite,
    pg_digests,
    sqlite_digests,
)
from core.store.postgres.database import PostgresDatabase, Transaction, redacted
from core.store.snapshot import take_snapshot

__all__ = ["MigrationReport", "postgres_to_sqlite", "sqlite_to_postgres"]


@dataclass
class MigrationReport:
    """What was copied where, and that every table matched afterwards."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


async def _rows_in(tx: Transaction) -> int:
    total = 0
    for table in ALL_TABLES:
        row = await tx.execute_fetchall(f"SELECT count(*) FROM {table}")
        total += int(row[0][0])
    return total


async def _verified(
    tx: Transaction, sqlite_path: Path, report: MigrationReport, copied: dict[str, int]
) -> MigrationReport:
    pg, compared, text = await pg_digests(tx)
    lite = await anyio.to_thread.run_sync(sqlite_digests, sqlite_path, compared, text)
    differ = [table for table in ALL_TABLES if pg[table] != lite[table]]
    if differ:
        detail = ", ".join(f"{t} ({lite[t][0]} rows in SQLite, {pg[t][0]} in PostgreSQL)" for t in differ)
        raise DatabaseError(f"The copy does not match its source in {detail}. The target is left as it is.")
    report.rows = {table: copied[table] for table in ALL_TABLES}
    report.checksums = {table: pg[table][1][:16] for table in ALL_TABLES}
    return report


async def sqlite_to_postgres(database: Path, url: str, fts_config: str = "english") -> MigrationReport:
    """Copy the SQLite database at `database` into the (empty) PostgreSQL database at `url`."""
    if not await anyio.Path(database).exists():
        raise InvalidInput("--data-dir", str(database.parent), "It holds no persona.db to migrate.")
    await (await Database.open(database)).close()  # its schema up to date first
    target = await PostgresDatabase.open(url, fts_config)
    try:
        with tempfile.TemporaryDirectory(prefix="persona-mcp-migrate-") as scratch:
            snapshot = Path(scratch) / "persona.db"
            await anyio.to_thread.run_sync(take_snapshot, database, snapshot)
            report = MigrationReport(str(database), redacted(url))
            async with target.transaction() as tx:
                if await _rows_in(tx):
                    raise InvalidInput(
                        "--to", redacted(url), "That database already holds data: migrate into an empty one."
                    )
                copied = await import_from_sqlite(tx, snapshot)
            async with target.reading() as tx:
                return await _verified(tx, snapshot, report, copied)
    finally:
        await target.close()


async def postgres_to_sqlite(url: str, folder: Path) -> MigrationReport:
    """Copy the PostgreSQL database at `url` into a new data folder's persona.db."""
    database = folder / "persona.db"
    if await anyio.Path(database).exists():
        raise InvalidInput("--to", str(folder), "It already holds a persona.db: give a new or empty folder.")
    source = await PostgresDatabase.open(url)
    try:
        await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
        partial = folder / ".persona.db.migrating"
        await anyio.Path(partial).unlink(missing_ok=True)
        report = MigrationReport(redacted(url), str(database))
        async with source.reading() as tx:
            copied = await export_to_sqlite(tx, partial)
            report = await _verified(tx, partial, report, copied)
        await anyio.Path(partial).rename(database)
        return report
    finally:
        await source.close()
