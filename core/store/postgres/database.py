"""The PostgreSQL database: a connection pool, the schema's migrations, and the same calls as the
SQLite Database (fetch_one, fetch_all, scalar, transaction), so the repositories run on either.

Writes go through `transaction()`, which takes one transaction-scoped advisory lock before its
first statement: writes are serialised across every worker process as SQLite serialises them
across processes on one file, so each invariant the repositories keep by reading and writing in
one transaction (a memory stored twice at once is stored once, a version bumps by one) holds with
any number of workers. Reads run on other pooled connections, in parallel, in autocommit: each
statement sees what was committed before it began.

The repositories' SQL is SQLite's; `dialect.translate` gives PostgreSQL's text (cached).
Vectors travel as the same little-endian float32 bytes the SQLite tables hold (`VectorBlob`
written, bytes read back), so no repository decodes them differently per engine.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from core.store.database import DatabaseError
from core.store.port import Row as StoreRow
from core.store.postgres.dialect import translate
from core.store.postgres.migrate import MIGRATIONS_DIR, migrate
from core.store.vectors import VectorBlob

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

__all__ = ["LEAD_LOCK", "WRITE_LOCK", "PostgresDatabase", "Row", "redacted"]

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock's key for writing ("persona-w"); the migrations take another.
WRITE_LOCK = 0x7065_7273_6F6E_6177
# pg_try_advisory_lock's key for leading the background maintenance ("persona-l").
LEAD_LOCK = 0x7065_7273_6F6E_616C
_POOL_SIZE = 8


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


class Row(Sequence[Any]):
    """A result row read by position or by column name, as sqlite3.Row is."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, Row | tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({self._values!r})"

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: psycopg.AsyncCursor[Any]) -> Any:
    names = [column.name for column in cursor.description or ()]
    index = {name: i for i, name in reversed(list(enumerate(names)))}  # the first of a repeated name

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


def _params(order: tuple[int, ...] | None, params: Iterable[Any]) -> tuple[Any, ...] | Mapping[str, Any]:
    if isinstance(params, Mapping):
        return params
    given = tuple(params)
    return given if order is None else tuple(given[i] for i in order)


class Cursor:
    """What a statement returned: its rows (read to the end at once), rowcount and lastrowid
    (always None: PostgreSQL has no rowid; statements that need a new key say RETURNING)."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid: int | None = None

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class _Statement:
    """`await tx.execute(...)` or `async with tx.execute(...) as cursor`, as aiosqlite allows."""

    def __init__(self, running: Awaitable[Cursor]) -> None:
        self._running = running

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._running.__await__()

    async def __aenter__(self) -> Cursor:
        return await self._running

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _run(connection: psycopg.AsyncConnection[Any], sql: str, params: Iterable[Any]) -> Cursor:
    text, order = translate(sql)
    async with connection.cursor(row_factory=_rows) as cursor:
        await cursor.execute(text, _params(order, params), binary=True)
        rows = await cursor.fetchall() if cursor.description is not None else []
        return Cursor(rows, cursor.rowcount)


class Transaction:
    """The connection a write transaction runs on (what `Database.transaction()` yields)."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection
        self.in_transaction = True

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Statement:
        return _Statement(_run(self._connection, sql, params))

    async def stream(self, sql: str, params: Iterable[Any], size: int) -> AsyncIterator[list[Row]]:
        """The rows of a query in chunks of `size`, read through a server-side cursor (a whole
        table never sits in memory at once)."""
        text, order = translate(sql)
        async with self._connection.cursor(name="persona_mcp_stream", row_factory=_rows) as cursor:
            await cursor.execute(text, _params(order, params))
            while chunk := await cursor.fetchmany(size):
                yield chunk

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await (await _run(self._connection, sql, params)).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Cursor:
        text, order = translate(sql)
        async with self._connection.cursor() as cursor:
            await cursor.executemany(text, [_params(order, row) for row in rows])
            return Cursor([], cursor.rowcount)


class PostgresDatabase:
    """One PostgreSQL database. Use `PostgresDatabase.open(url)` and `await db.close()`."""

    engine = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[Any]) -> None:
        self.url = url
        self.path = redacted(url)  # what messages name, as they name the SQLite file
        self._pool = pool
        self._write_lock = anyio.Lock()
        self._leader: psycopg.AsyncConnection[Any] | None = None

    @classmethod
    async def open(
        cls, url: str, fts_config: str = "english", pool_size: int = _POOL_SIZE
    ) -> PostgresDatabase:
        """Connect, bring the schema up to date (safe with any number of processes starting at
        once), and open the pool."""
        try:
            import psycopg  # noqa: F401  (the postgres extra)
            from psycopg_pool import AsyncConnectionPool
        except ImportError:
            raise DatabaseError(
                "PERSONA_MCP_DATABASE_URL names PostgreSQL, which needs the postgres extra: "
                "pip install 'persona-mcp[postgres]'."
            ) from None
        try:
            await migrate(url, fts_config, MIGRATIONS_DIR)
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True},
                configure=_configure,
                open=False,
            )
            await pool.open(wait=True, timeout=30)
        except DatabaseError:
            raise
        except Exception as exc:  # psycopg.OperationalError and the pool's timeout
            raise DatabaseError(
                f"PostgreSQL at {redacted(url)} cannot be used ({exc}). Check that the server runs, "
                "the database exists and the role may create tables in it."
            ) from None
        return cls(url, pool)

    async def close(self) -> None:
        """Close the pool (and give up leading); safe to call twice."""
        if self._leader is not None:
            await self._leader.close()
            self._leader = None
        await self._pool.close()

    async def leads(self) -> bool:
        """Whether this worker runs the background maintenance (decay, pruning, reflection): one
        worker at a time does, the one holding a session advisory lock on a connection of its own.
        When that worker dies its connection, and with it the lock, is gone, and the next worker
        to ask takes over."""
        import psycopg

        if self._leader is not None:
            try:
                await self._leader.execute("SELECT 1")
                return True
            except psycopg.Error:  # the server restarted or dropped us: the lock went with it
                await self._leader.close()
                self._leader = None
        try:
            connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        except psycopg.Error:
            return False
        row = await (await connection.execute("SELECT pg_try_advisory_lock(%s)", (LEAD_LOCK,))).fetchone()
        if row is not None and row[0]:
            self._leader = connection
            logger.info("this worker leads background maintenance on %s", self.path)
            return True
        await connection.close()
        return False

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        return int(await self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction: everything inside commits together or not at all, after every
        other worker's write transaction (the advisory lock)."""
        async with self._write_lock, self._pool.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield Transaction(connection)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """A read-only transaction that sees one moment of the database throughout (REPEATABLE
        READ): what a backup or a copy reads, while writers go on."""
        async with self._pool.connection() as connection, connection.transaction():
            await connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Transaction(connection)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[StoreRow]:
        """Every row of a read-only query."""
        async with self._pool.connection() as connection:
            return list(await (await _run(connection, sql, params)).fetchall())

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> StoreRow | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
    """Each pooled connection writes VectorBlob into `vector` columns and reads them as bytes."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    info = await TypeInfo.fetch(connection, "vector")
    if info is None:  # the migrations create the extension; a server without pgvector fails there
        raise DatabaseError("The pgvector extension is missing: CREATE EXTENSION vector.")

    vector_oid = info.oid

    # pgvector's binary form: the dimension and a reserved word (uint16 each), then big-endian
    # float32s. Parsing the text form cost 80 ms per 600 vectors a search reads.
    class VectorDumper(Dumper):
        oid = vector_oid
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            values = np.frombuffer(obj, dtype="<f4")
            return struct.pack(">HH", len(values), 0) + values.astype(">f4").tobytes()

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> bytes:
            return np.frombuffer(bytes(data)[4:], dtype=">f4").astype("<f4").tobytes()

    class VectorTextLoader(Loader):
        def load(self, data: Any) -> bytes:
            text = bytes(data)[1:-1]
            return np.array(text.split(b","), dtype="<f4").tobytes() if text else b""

    connection.adapters.register_dumper(VectorBlob, VectorDumper)
    connection.adapters.register_loader(vector_oid, VectorLoader)
    connection.adapters.register_loader(vector_oid, VectorTextLoader)
