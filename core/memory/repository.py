"""SQL for memories and their vectors. Reads use the reader connection; writes take the open
transaction (`tx`) of the caller, so a service method commits everything it changes at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite
import numpy as np
import orjson

from core.access.policy import also, memory_visible_sql
from core.access.principal import acting
from core.clock import iso, parse_iso
from core.memory.decay import DECAY_COLUMNS, DecayPolicy, reinforced, strength_at
from core.memory.filters import MemoryFilter, persona_clause
from core.memory.models import EmotionStamp, Memory
from core.store import Store
from core.store.port import Row
from core.store.vectors import decode_vector, encode_vector

__all__ = [
    "MemoryRepository",
    "PendingRow",
    "chunks",
    "decode_vector",
    "encode_vector",
    "ids_and_matrix",
    "marks",
    "to_memory",
]

_COLUMNS = (
    "id, persona_id, content, kind, visibility, importance, strength, pinned, access_count, "
    "last_accessed_at, created_at, updated_at, archived_at, source, subject, conversation_id, metadata, "
    "content_hash, embedding_model, indexed_at, emotion_valence, emotion_arousal, emotion_label, "
    "emotional_intensity, created_by, updated_by, valid_from, valid_to, superseded_by, "
    "(SELECT group_concat(w.persona_id) FROM memory_witnesses w WHERE w.memory_id = id) AS witnesses"
)
_SQL_VARIABLES = 500  # ids per IN (...) list, well under SQLite's limit


def _time(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def to_memory(row: Row) -> Memory:
    """A memories row as the Memory model."""
    return Memory(
        id=row["id"],
        persona_id=row["persona_id"],
        content=row["content"],
        kind=row["kind"],
        visibility=row["visibility"],
        importance=row["importance"],
        strength=row["strength"],
        pinned=bool(row["pinned"]),
        access_count=row["access_count"],
        last_accessed_at=_time(row["last_accessed_at"]),
        created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
        archived_at=_time(row["archived_at"]),
        subject=row["subject"],
        source=row["source"],
        conversation_id=row["conversation_id"],
        metadata=orjson.loads(row["metadata"]),
        emotion=None
        if row["emotion_label"] is None
        else EmotionStamp(
            valence=row["emotion_valence"],
            arousal=row["emotion_arousal"],
            label=row["emotion_label"],
            intensity=row["emotional_intensity"],
        ),
        embedding_model=row["embedding_model"],
        indexed=row["indexed_at"] is not None,
        witnesses=sorted(row["witnesses"].split(",")) if row["witnesses"] else [],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        valid_from=parse_iso(row["valid_from"] or row["created_at"]),
        valid_to=_time(row["valid_to"]),
        superseded_by=row["superseded_by"],
    )


@dataclass
class PendingRow:
    """A live memory the index has not caught up with, with its vector when it has one."""

    memory_id: str
    persona_id: str
    visibility: str
    kind: str
    vector: np.ndarray | None = field(default=None, repr=False)


async def _by_hash(
    fetch_all: Callable[[str, Sequence[Any]], Awaitable[Iterable[Row]]],
    persona_id: str,
    hashes: Sequence[str],
) -> dict[str, str]:
    """hash -> id of a persona's live memories with these content hashes (the oldest of equals),
    read through `fetch_all` (a reader's, or a write transaction's)."""
    found: dict[str, str] = {}
    who = acting()  # one that is no admin reinforces only what it wrote itself
    mine, by = ("", []) if who.admin else (" AND created_by = ?", [who.name])
    for chunk in chunks(list(hashes)):
        rows = await fetch_all(
            "SELECT content_hash, id FROM memories INDEXED BY memories_hash WHERE persona_id = ? "
            f"AND content_hash IN ({marks(len(chunk))}) AND archived_at IS NULL AND valid_to IS NULL{mine} "
            "ORDER BY created_at",
            (persona_id, *chunk, *by),
        )
        for row in rows:
            found.setdefault(row[0], row[1])
    return found


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    """`items` in runs that fit in one statement's variables."""
    for start in range(0, len(items), _SQL_VARIABLES):
        yield items[start : start + _SQL_VARIABLES]


def marks(count: int) -> str:
    """`count` comma-separated placeholders."""
    return ", ".join("?" * count)


def ids_and_matrix(rows: Sequence[Row]) -> tuple[list[str], np.ndarray | None]:
    """(id, vector blob) rows as ids and one matrix (None when there are no rows)."""
    if not rows:
        return [], None
    return [row[0] for row in rows], np.stack([decode_vector(row[1]) for row in rows])


class MemoryRepository:
    """Queries over memories, memory_vectors and memories_fts."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def get(self, memory_id: str) -> Memory | None:
        """The memory, or None when it does not exist or the acting principal may not see it."""
        seen, params = memory_visible_sql("m")
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM memories m WHERE id = ?{also(seen)}",
            (memory_id, *params),
        )
        return to_memory(row) if row else None

    async def exists(self, memory_id: str) -> bool:
        """Whether a memory with this id exists, whoever may see it (for the denied-access log)."""
        return await self._db.fetch_one("SELECT 1 FROM memories WHERE id = ?", (memory_id,)) is not None

    async def get_many(self, ids: Sequence[str], where: MemoryFilter | None = None) -> dict[str, Memory]:
        """The memories with these ids (that pass `where`, when given)."""
        return {memory_id: to_memory(row) for memory_id, row in (await self.rows(ids, where)).items()}

    async def rows(self, ids: Sequence[str], where: MemoryFilter | None = None) -> dict[str, Row]:
        """Raw rows of these memories (that pass `where`, when given, else that the acting principal
        may see); `to_memory` reads them."""
        found: dict[str, Row] = {}
        clause, params = where.sql(probe=True) if where else memory_visible_sql("+m")
        clause = clause or "TRUE"
        for chunk in chunks(list(ids)):
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM memories m WHERE m.id IN ({marks(len(chunk))}) AND {clause}",
                (*chunk, *params),
            )
            found.update((row["id"], row) for row in rows)
        return found

    async def top(self, persona_id: str, order: str, limit: int) -> list[Memory]:
        """The persona's live memories, strongest (importance x strength) or newest first."""
        by = (
            "importance * strength DESC, created_at DESC"
            if order == "strongest"
            else "created_at DESC, rowid DESC"
        )
        seen, params = memory_visible_sql("m")
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM memories m WHERE persona_id = ? AND archived_at IS NULL{also(seen)} "
            f"ORDER BY {by} LIMIT ?",
            (persona_id, *params, limit),
        )
        return [to_memory(row) for row in rows]

    async def scan(self, where: MemoryFilter, model_id: str) -> tuple[list[str], np.ndarray | None]:
        """Every vector that passes `where`, as ids and a matrix (the no-index fallback)."""
        clause, params = where.sql()
        rows = await self._db.fetch_all(
            f"SELECT m.id, v.vector FROM memories m JOIN memory_vectors v ON v.memory_id = m.id "
            f"AND v.model_id = ? WHERE {clause}",
            (model_id, *params),
        )
        return ids_and_matrix(rows)

    async def pending_vectors(
        self, where: MemoryFilter, model_id: str
    ) -> tuple[list[str], np.ndarray | None]:
        """Vectors of rows that pass `where` but are not in the index yet (usually none)."""
        clause, params = where.sql(probe=True)
        rows = await self._db.fetch_all(
            f"SELECT m.id, v.vector FROM memories m INDEXED BY memories_pending "
            f"JOIN memory_vectors v ON v.memory_id = m.id AND v.model_id = ? "
            f"WHERE m.indexed_at IS NULL AND m.archived_at IS NULL AND {clause}",
            (model_id, *params),
        )
        return ids_and_matrix(rows)

    async def by_hash(self, persona_id: str, hashes: Sequence[str]) -> dict[str, str]:
        """Live memories of a persona with these content hashes: hash -> id."""
        return await _by_hash(self._db.fetch_all, persona_id, hashes)

    @staticmethod
    async def by_hash_in_tx(
        tx: aiosqlite.Connection, persona_id: str, hashes: Sequence[str]
    ) -> dict[str, str]:
        """Like by_hash, read inside a write transaction (so it sees what other processes
        committed before it began)."""
        return await _by_hash(tx.execute_fetchall, persona_id, hashes)

    async def pending(self, model_id: str, limit: int, persona_id: str | None = None) -> list[PendingRow]:
        """Live memories the index lacks, with their vector for `model_id` (None: needs embedding)."""
        extra, params = persona_clause(persona_id, "m.persona_id")
        rows = await self._db.fetch_all(
            f"SELECT m.id, m.persona_id, m.visibility, m.kind, v.vector FROM memories m "
            f"LEFT JOIN memory_vectors v ON v.memory_id = m.id AND v.model_id = ? "
            f"WHERE m.indexed_at IS NULL AND m.archived_at IS NULL {extra} ORDER BY m.rowid LIMIT ?",
            (model_id, *params, limit),
        )
        return [
            PendingRow(row[0], row[1], row[2], row[3], decode_vector(row[4]) if row[4] is not None else None)
            for row in rows
        ]

    async def live_ids(self, persona_id: str | None = None, shared_only: bool = False) -> set[str]:
        """Ids of live memories (of one persona; or shared/public ones of anyone)."""
        if shared_only:
            rows = await self._db.fetch_all(
                "SELECT id FROM memories WHERE archived_at IS NULL AND visibility != 'private'"
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT id FROM memories WHERE archived_at IS NULL AND persona_id = ?", (persona_id,)
            )
        return {row[0] for row in rows}

    async def persona_ids_with_memories(self) -> list[str]:
        rows = await self._db.fetch_all("SELECT DISTINCT persona_id FROM memories WHERE archived_at IS NULL")
        return [row[0] for row in rows]

    # ---- writes (inside the caller's transaction) ----

    @staticmethod
    async def insert(
        tx: aiosqlite.Connection,
        rows: Sequence[dict[str, Any]],
        model_id: str | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
        pieces: Mapping[str, bytes] | None = None,
    ) -> None:
        """New memories, with `model_id`'s vectors and word pieces of those that have them (rows
        carry `embedding_model` and `token_model` to match): nothing of theirs exists yet to
        replace, so they are plain inserts (put_vectors and put_pieces replace)."""
        await tx.executemany(
            "INSERT INTO memories (id, persona_id, content, kind, visibility, importance, strength, pinned, "
            "access_count, created_at, updated_at, source, subject, conversation_id, metadata, content_hash, "
            "embedding_model, token_model, anchor_at, anchor_strength, decayed_at, emotion_valence, "
            "emotion_arousal, emotion_label, emotional_intensity, created_by, valid_from) VALUES (:id, "
            ":persona_id, :content, :kind, :visibility, :importance, 1.0, 0, 0, "
            ":created_at, :updated_at, :source, :subject, :conversation_id, :metadata, :content_hash, "
            ":embedding_model, :token_model, :updated_at, 1.0, :updated_at, :emotion_valence, "
            ":emotion_arousal, :emotion_label, :emotional_intensity, :created_by, :valid_from)",
            [{"valid_from": None, **row, "created_by": acting().name} for row in rows],
        )
        if model_id is None:
            return
        await tx.executemany(
            "INSERT INTO memory_vectors (memory_id, model_id, vector) VALUES (?, ?, ?)",
            [(memory_id, model_id, encode_vector(vector)) for memory_id, vector in (vectors or {}).items()],
        )
        await tx.executemany(
            "INSERT INTO memory_tokens (memory_id, model_id, pieces) VALUES (?, ?, ?)",
            [(memory_id, model_id, blob) for memory_id, blob in (pieces or {}).items()],
        )

    @staticmethod
    async def put_vectors(tx: aiosqlite.Connection, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        """Store (or replace) vectors, drop vectors of other models, and record the model on their
        memories (which makes them pending for the index)."""
        await tx.executemany(
            "DELETE FROM memory_vectors WHERE memory_id = ? AND model_id != ?",
            [(memory_id, model_id) for memory_id in vectors],
        )
        await tx.executemany(
            "INSERT INTO memory_vectors (memory_id, model_id, vector) VALUES (?, ?, ?) "
            "ON CONFLICT (memory_id, model_id) DO UPDATE SET vector = excluded.vector",
            [(memory_id, model_id, encode_vector(vector)) for memory_id, vector in vectors.items()],
        )
        # Word pieces of another model go with its vectors (put_pieces adds this model's).
        await tx.executemany(
            "DELETE FROM memory_tokens WHERE memory_id = ? AND model_id != ?",
            [(memory_id, model_id) for memory_id in vectors],
        )
        await tx.executemany(
            "UPDATE memories SET embedding_model = ?1, indexed_at = NULL, "
            "token_model = CASE WHEN token_model = ?1 THEN token_model END WHERE id = ?2",
            [(model_id, memory_id) for memory_id in vectors],
        )

    @staticmethod
    async def put_pieces(tx: aiosqlite.Connection, model_id: str, pieces: dict[str, bytes]) -> None:
        """Store (or replace) word-piece signs (put_vectors dropped those of other models)."""
        await tx.executemany(
            "INSERT INTO memory_tokens (memory_id, model_id, pieces) VALUES (?, ?, ?) "
            "ON CONFLICT (memory_id, model_id) DO UPDATE SET pieces = excluded.pieces",
            [(memory_id, model_id, blob) for memory_id, blob in pieces.items()],
        )
        await tx.executemany(
            "UPDATE memories SET token_model = ? WHERE id = ?",
            [(model_id, memory_id) for memory_id in pieces],
        )

    @staticmethod
    async def reinforce(
        tx: aiosqlite.Connection,
        memory_ids: Sequence[str],
        policy: DecayPolicy,
        at: datetime,
        importance: float | None = None,
    ) -> None:
        """An access (a repeat, a recall): count it, and restore strength from what it has decayed
        to by `at`; that becomes the new decay anchor. Keeps the higher importance. Memories
        archived or deleted meanwhile are left alone."""
        stamp = iso(at)
        updates = []
        for chunk in chunks(list(dict.fromkeys(memory_ids))):
            async with tx.execute(
                f"SELECT id, {DECAY_COLUMNS} FROM memories WHERE id IN ({marks(len(chunk))}) "
                "AND archived_at IS NULL",
                tuple(chunk),
            ) as cursor:
                rows = await cursor.fetchall()
            updates += [
                (stamp, reinforced(strength_at(policy, row, at)), importance, row["id"]) for row in rows
            ]
        await tx.executemany(
            "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?1, strength = ?2, "
            "anchor_strength = ?2, anchor_at = ?1, decayed_at = ?1, "
            "importance = CASE WHEN ?3 > importance THEN ?3 ELSE importance END WHERE id = ?4",
            updates,
        )

    @staticmethod
    async def supersede(
        tx: aiosqlite.Connection, old_ids: Sequence[str], new_id: str, at: str, now: str, by: str
    ) -> None:
        """These memories stopped being true at `at`: `new_id` replaced them (the row stays)."""
        await tx.executemany(
            "UPDATE memories SET valid_to = ?, superseded_by = ?, updated_at = ?, updated_by = ? "
            "WHERE id = ?",
            [(at, new_id, now, by, old_id) for old_id in old_ids if old_id != new_id],
        )

    @staticmethod
    async def mark_indexed(tx: aiosqlite.Connection, ids: Sequence[str], model_id: str, now: str) -> None:
        """Record that the index holds these memories' current vectors (unless they changed since)."""
        await tx.executemany(
            "UPDATE memories SET indexed_at = ? WHERE id = ? AND embedding_model = ?",
            [(now, memory_id, model_id) for memory_id in ids],
        )

    @staticmethod
    async def get_many_in_tx(tx: aiosqlite.Connection, ids: Sequence[str]) -> dict[str, Memory]:
        """Like get_many, read inside a write transaction (so it sees that transaction's writes)."""
        found: dict[str, Memory] = {}
        for chunk in chunks(sorted(set(ids))):
            async with tx.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks(len(chunk))})", tuple(chunk)
            ) as cursor:
                found.update((row["id"], to_memory(row)) for row in await cursor.fetchall())
        return found
