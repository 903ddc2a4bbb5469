"""The queries only a search makes: word matches (FTS5), and what ranking reads of the
candidates (their ranking columns, vectors and word pieces)."""

from __future__ import annotations

from collections.abc import Sequence

from core.memory.filters import MemoryFilter
from core.memory.repository import chunks, marks
from core.store import Store
from core.store.port import Row, Terms
from core.store.postgres import words as pg_words

__all__ = ["SearchRepository"]


class SearchRepository:
    """Reads for MemoryService.search over memories, memory_vectors, memory_tokens and
    memories_fts."""

    def __init__(self, db: Store) -> None:
        self._db = db
        self._fts_config: str | None = None

    async def ranking_fields(
        self, ids: Sequence[str], where: MemoryFilter, model_id: str | None = None
    ) -> list[Row]:
        """(id, importance x strength, created_at, emotion_valence, vector, word pieces, subject) of these
        memories that pass `where`: what ranking reads, without the columns only a result shows (a
        search ranks a few hundred candidates and shows ten). The vector and the word-piece signs
        are `model_id`'s (NULL without it, or when the memory has none), read in the same query."""
        clause, params = where.sql(probe=True)
        found: list[Row] = []
        for chunk in chunks(list(ids)):
            found += await self._db.fetch_all(
                "SELECT m.id, m.importance * m.strength, m.created_at, m.emotion_valence, v.vector, "
                "t.pieces, m.subject FROM memories m "
                "LEFT JOIN memory_vectors v ON v.memory_id = m.id AND v.model_id = ?1 "
                "LEFT JOIN memory_tokens t ON t.memory_id = m.id AND t.model_id = ?1 "
                f"WHERE m.id IN ({marks(len(chunk))}) AND {clause}",
                (model_id, *chunk, *params),
            )
        return found

    async def lexical(
        self, terms: Terms, where: MemoryFilter, limit: int, newest: int | None = None
    ) -> list[tuple[str, float]]:
        """Best BM25 matches of any of the words that pass `where`, as (id, score >= 0, higher is
        better). With `newest`, only the most recently written `newest` matching rows are scored."""
        if self._db.engine == "postgresql":
            config = await self._config()
            return await pg_words.lexical(self._db, config, terms, where.sql(), limit, newest)
        match = " OR ".join(f'"{word}"' for word in terms.words)
        clause, params = where.sql(probe=True)
        floor = 0
        if newest is not None:
            row = await self._db.fetch_one(
                "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? "
                "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (match, newest),
            )
            floor = int(row[0]) if row else 0
        rows = await self._db.fetch_all(
            f"SELECT m.id, -bm25(memories_fts, 1.0, 0.5) AS score FROM memories_fts "
            f"JOIN memories m ON m.rowid = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND memories_fts.rowid > ? AND {clause} "
            f"ORDER BY score DESC LIMIT ?",
            (match, floor, *params, limit),
        )
        return [(row[0], float(row[1])) for row in rows]

    async def facts_about(self, where: MemoryFilter, subject: str, model_id: str | None) -> list[Row]:
        """(id, content, vector) of the semantic and reflective memories about `subject` (ignoring
        case) that pass `where`: what a new fact about it may contradict."""
        clause, params = where.sql()
        return await self._db.fetch_all(
            "SELECT m.id, m.content, v.vector FROM memories m "
            "LEFT JOIN memory_vectors v ON v.memory_id = m.id AND v.model_id = ? "
            f"WHERE lower(m.subject) = lower(?) AND m.kind IN ('semantic', 'reflective') AND {clause} "
            "ORDER BY m.created_at DESC LIMIT 200",
            (model_id, subject, *params),
        )

    async def entity_rows(
        self, where: MemoryFilter, now: str, limit: int
    ) -> list[tuple[str, str, str | None, str, str, bool]]:
        """(id, content, subject, kind, created_at, true now?) of the newest `limit` memories that
        pass `where`: what memory_entities reads."""
        clause, params = where.sql()
        rows = await self._db.fetch_all(
            "SELECT m.id, m.content, m.subject, m.kind, m.created_at, "
            f"(m.valid_to IS NULL OR m.valid_to > ?) FROM memories m WHERE {clause} "
            "ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?",
            (now, *params, limit),
        )
        return [(row[0], row[1], row[2], row[3], row[4], bool(row[5])) for row in rows]

    async def episodes(self, where: MemoryFilter, limit: int) -> list[tuple[str, str, str | None, str, bool]]:
        """(id, content, subject, created_at, said by the persona?) of the newest `limit` memories
        that pass `where`, oldest first: what reflection reads."""
        clause, params = where.sql()
        rows = await self._db.fetch_all(
            "SELECT m.id, m.content, m.subject, m.created_at, m.source = 'persona' FROM memories m "
            f"WHERE {clause} ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?",
            (*params, limit),
        )
        return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in reversed(rows)]

    async def replaced(self, ids: Sequence[str], where: MemoryFilter) -> dict[str, str]:
        """For each of `ids` that replaced another memory passing `where`, the replaced one's
        content (the latest, when several): what was true before."""
        clause, params = where.sql()
        found: dict[str, str] = {}
        for chunk in chunks(list(ids)):
            rows = await self._db.fetch_all(
                f"SELECT m.superseded_by, m.content FROM memories m WHERE m.superseded_by IN "
                f"({marks(len(chunk))}) AND {clause} ORDER BY m.valid_to",
                (*chunk, *params),
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    async def term_counts(self, words: Sequence[str]) -> Terms:
        """How many memories (of anyone, archived too) contain each word; FTS5 answers from its
        index without reading rows."""
        if self._db.engine == "postgresql":
            return await pg_words.term_counts(self._db, await self._config(), words)
        if not words:
            return Terms([], [], [], 0)
        sql = " UNION ALL ".join(
            f"SELECT {i}, count(*) FROM memories_fts WHERE memories_fts MATCH ?{i + 1}"
            for i in range(len(words))
        )
        rows = await self._db.fetch_all(sql, [f'"{word}"' for word in words])
        counts = dict((row[0], row[1]) for row in rows)
        return Terms(
            list(words), [[word] for word in words], [int(counts.get(i, 0)) for i in range(len(words))], 0
        )

    async def _config(self) -> str:
        """PostgreSQL's text search configuration, read once."""
        if self._fts_config is None:
            self._fts_config = await pg_words.fts_config(self._db)
        return self._fts_config
