"""The vector index on PostgreSQL: pgvector over the memory_vectors table itself.

It answers what the Chroma index answers (core/vector_index.py: the nearest memories of a persona,
or of the shared and public ones, per query vector), so the semantic layer uses either the same way.
There is nothing to write or keep caught up: the table is the index, so `upsert` and `delete` have
nothing to do, and every worker queries it at once (no lock, no owner).

Each model gets an HNSW index (cosine) over its vectors cast to their dimension, made
(CONCURRENTLY, on a thread of its own: writers go on, and no request waits for it) when the
catch-up first hands the index vectors of that model; until it exists, searches are exact. An
HNSW scan yields at most `hnsw.ef_search` rows before the persona and archive filters apply, so a
query that comes back short while the scope holds more (a small persona in a large store) is
answered again exactly, without the index.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import numpy as np

from core.vector_index import COMMONS, IndexEntry

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PgVectorIndex"]

logger = logging.getLogger(__name__)

# HNSW candidates per scan, at most (pgvector's default 40 starves filtered queries); a query
# asks for twice the results it wants, at least 40.
_EF_SEARCH = 400
_POOL_SIZE = 4


def _text(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class PgVectorIndex:
    """The pgvector search of one embedding model."""

    complete = True  # it queries the stored vectors themselves: nothing is ever pending for it

    # (database, model, dimension) whose HNSW index exists or is being made, for the whole
    # process: an index reopened after a failure does not start a second build.
    _ready: ClassVar[set[tuple[str, str, int]]] = set()
    _building: ClassVar[set[tuple[str, str, int]]] = set()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, pool: ConnectionPool[Any], model_id: str, url: str) -> None:
        self._pool = pool
        self._url = url
        self.model_id = model_id

    @classmethod
    def open(cls, url: str, model_id: str) -> PgVectorIndex:
        """Connect (a small pool of its own: the index is called from worker threads)."""
        from psycopg_pool import ConnectionPool

        pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=_POOL_SIZE, kwargs={"autocommit": True}, open=False
        )
        pool.open(wait=True, timeout=30)
        index = cls(pool, model_id, url)
        with pool.connection() as connection:
            row = connection.execute(
                "SELECT vector_dims(vector) FROM memory_vectors WHERE model_id = %s LIMIT 1", (model_id,)
            ).fetchone()
        if row is not None:  # vectors of the model are stored: its index exists, or is made now
            index._start_hnsw(int(row[0]))
        return index

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.close)

    def close(self) -> None:
        self._pool.close()

    def collection_name(self, scope: str) -> str:
        return f"pgvector:{scope}"

    def scopes(self) -> list[str]:
        """Personas with vectors of this model, and COMMONS."""
        with self._pool.connection() as connection:
            rows = connection.execute(
                "SELECT DISTINCT m.persona_id FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
                "WHERE v.model_id = %s",
                (self.model_id,),
            ).fetchall()
        return [str(row[0]) for row in rows] + [COMMONS]

    def upsert(self, entries: Sequence[IndexEntry]) -> None:
        """Nothing to write: the vectors are already in memory_vectors. The first entries of a
        model start its HNSW index."""
        if entries:
            self._start_hnsw(len(entries[0].vector))

    def delete(self, scope: str, ids: Iterable[str]) -> None:
        """Nothing to remove: an archived or deleted memory is filtered out, or gone with its row."""

    def ids(self, scope: str) -> set[str]:
        return {str(row[0]) for row in self._in_scope("v.memory_id", scope)}

    def count(self, scope: str) -> int:
        return int(self._in_scope("count(*)", scope)[0][0])

    def _in_scope(self, what: str, scope: str) -> list[tuple[Any, ...]]:
        """`what` over the scope's live memories with a vector of this model."""
        clause, params = self._scope(scope)
        with self._pool.connection() as connection:
            rows: list[tuple[Any, ...]] = connection.execute(
                f"SELECT {what} FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
                f"WHERE v.model_id = %s AND m.archived_at IS NULL AND {clause}",
                (self.model_id, *params),
            ).fetchall()
        return rows

    def query(self, scope: str, vectors: np.ndarray, n: int) -> list[list[tuple[str, float]]]:
        """For each row of `vectors`, the `n` nearest live memories of the scope as (memory id,
        cosine similarity), nearest first."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not len(vectors):
            return []
        dim = int(vectors.shape[1])
        if (self._url, self.model_id, dim) not in self._ready:
            return self._nearest(scope, vectors, n, None)
        found = self._nearest(scope, vectors, n, dim)
        short = [i for i, row in enumerate(found) if len(row) < n]
        if short and self.count(scope) > min(len(found[i]) for i in short):
            exact = self._nearest(scope, vectors[short], n, None)
            for i, row in zip(short, exact, strict=True):
                found[i] = row
        return found

    def _nearest(
        self, scope: str, vectors: np.ndarray, n: int, dim: int | None
    ) -> list[list[tuple[str, float]]]:
        """With `dim`, through the HNSW index (its expression: the vectors cast to vector(dim));
        without, exactly (no index matches an uncast vector)."""
        kind, cast = (f"vector({dim})", f"::vector({dim})") if dim is not None else ("vector", "")
        clause, params = self._scope(scope)
        # The query vectors are cast once, in the unnest: written inside the lateral query, the
        # cast would parse each one again for every stored vector an exact search reads.
        ef = max(40, min(_EF_SEARCH, 2 * n))  # candidates per HNSW scan: more only for more results
        with self._pool.connection() as connection, connection.transaction():
            connection.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            rows = connection.execute(
                "SELECT q.i, x.memory_id, x.similarity "
                f"FROM unnest(%s::text[]::{kind}[]) WITH ORDINALITY AS q(vector, i) "
                "CROSS JOIN LATERAL ("
                f"  SELECT v.memory_id, 1 - (v.vector{cast} <=> q.vector) AS similarity "
                "  FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
                f"  WHERE v.model_id = {self._literal()} AND m.archived_at IS NULL AND {clause} "
                f"  ORDER BY v.vector{cast} <=> q.vector LIMIT %s) AS x "
                "ORDER BY q.i, x.similarity DESC",
                ([_text(vector) for vector in vectors], *params, n),
            ).fetchall()
        found: list[list[tuple[str, float]]] = [[] for _ in range(len(vectors))]
        for i, memory_id, similarity in rows:
            found[int(i) - 1].append((str(memory_id), float(similarity)))
        return found

    def _scope(self, scope: str) -> tuple[str, list[Any]]:
        if scope == COMMONS:
            return "m.visibility <> 'private'", []
        return "m.persona_id = %s", [scope]

    def _literal(self) -> str:
        """The model id as an SQL literal: written into the query, so the planner can match the
        HNSW index's `WHERE model_id = ...` (a bound parameter could not be proved to)."""
        return "'" + self.model_id.replace("'", "''") + "'"

    def _start_hnsw(self, dim: int) -> None:
        key = (self._url, self.model_id, dim)
        with self._lock:
            if key in self._ready or key in self._building:
                return
            self._building.add(key)
        threading.Thread(target=self._build_hnsw, args=(dim,), name="pgvector-hnsw", daemon=True).start()

    def _build_hnsw(self, dim: int) -> None:
        """The model's HNSW index at this dimension (by whichever worker gets there first; the
        others find it made). A build that fails leaves searches exact and is tried again later."""
        import psycopg

        key = (self._url, self.model_id, dim)
        digest = hashlib.sha256(f"{self.model_id}/{dim}".encode()).hexdigest()[:12]
        name = f"memory_vectors_hnsw_{digest}"
        try:
            # A connection of its own: a build outlives the pool of an index closed meanwhile.
            with psycopg.connect(self._url, autocommit=True) as connection:
                connection.execute("SELECT pg_advisory_lock(hashtext('persona-mcp-hnsw'))")
                try:
                    valid = connection.execute(
                        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE c.relname = %s",
                        (name,),
                    ).fetchone()
                    if valid is not None and not valid[0]:  # a build that died half way
                        connection.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    connection.execute(
                        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON memory_vectors "
                        f"USING hnsw ((vector::vector({dim})) vector_cosine_ops) "
                        f"WHERE model_id = {self._literal()}"
                    )
                finally:
                    connection.execute("SELECT pg_advisory_unlock(hashtext('persona-mcp-hnsw'))")
            with self._lock:
                self._ready.add(key)
        except Exception:  # the pool closed, the server went away: exact searches meanwhile
            logger.warning(
                "pgvector: the HNSW index of %s could not be made yet", self.model_id, exc_info=True
            )
        finally:
            with self._lock:
                self._building.discard(key)
