"""The storage port: what services and repositories ask of a database, whichever engine holds
it. Two adapters: `Database` (SQLite, the default: one file in the data folder) and
`PostgresDatabase` (PERSONA_MCP_DATABASE_URL; many workers on one store).

Rows read by position or by column name; a transaction yields a connection whose `execute(sql,
params)` is awaited (or used with `async with`, giving a cursor with fetchone, fetchall and
rowcount) and whose `executemany(sql, rows)` writes many rows. The SQL is SQLite's; the PostgreSQL
adapter translates it (postgres/dialect.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Row", "Store", "Terms"]


@dataclass(frozen=True)
class Terms:
    """A word search's words, what each is in the index (FTS5 matches the word itself; PostgreSQL
    its lexemes), how many memories hold each, and how many memories there are (0: not counted)."""

    words: list[str]
    lexemes: list[list[str]]
    counts: list[int]
    total: int

    def subset(self, indices: Sequence[int]) -> Terms:
        """The same for the words at `indices` only."""
        return Terms(
            [self.words[i] for i in indices],
            [self.lexemes[i] for i in indices],
            [self.counts[i] for i in indices],
            self.total,
        )


class Row(Protocol):
    """A result row: row[0], row["column"], len(row), row.keys()."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> list[str]: ...


class Store(Protocol):
    """A database the repositories read and write."""

    engine: str  # "sqlite" or "postgresql"

    @property
    def path(self) -> Any:
        """What messages name: the SQLite file, or the PostgreSQL URL without its password."""

    async def close(self) -> None: ...

    async def schema_version(self) -> int: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any: ...
