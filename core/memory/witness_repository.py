"""Who besides its owner may recall a memory: the personas present when it was made (in a group
conversation), and those told about it since. Owners always recall their own memories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite
import numpy as np

from core.memory.filters import MemoryFilter
from core.memory.repository import ids_and_matrix
from core.store import Store

__all__ = ["add_witnesses", "tell", "witnessed_vectors"]


async def add_witnesses(tx: aiosqlite.Connection, rows: Sequence[dict[str, Any]], at: str) -> None:
    """Record who else saw these memories made: each row's `witnesses` (persona ids), or when that
    is None, the personas present in its conversation (rows: id, persona_id, conversation_id,
    witnesses)."""
    named = [
        (persona_id, row["id"], at)
        for row in rows
        if row["witnesses"] is not None
        for persona_id in row["witnesses"]
        if persona_id != row["persona_id"]
    ]
    await tx.executemany(
        "INSERT OR IGNORE INTO memory_witnesses (persona_id, memory_id, how, at) VALUES (?, ?, 'present', ?)",
        named,
    )
    await tx.executemany(
        "INSERT OR IGNORE INTO memory_witnesses (persona_id, memory_id, how, at) "
        "SELECT p.persona_id, ?1, 'present', ?4 FROM conversation_participants p "
        "WHERE p.conversation_id = ?2 AND p.left_at IS NULL AND p.persona_id != ?3",
        [
            (row["id"], row["conversation_id"], row["persona_id"], at)
            for row in rows
            if row["witnesses"] is None and row["conversation_id"]
        ],
    )


async def tell(tx: aiosqlite.Connection, memory_id: str, persona_ids: Sequence[str], at: str) -> None:
    """These personas were told about the memory: they may recall it from now on (its owner
    always could, and is not recorded)."""
    await tx.executemany(
        "INSERT OR IGNORE INTO memory_witnesses (persona_id, memory_id, how, at) "
        "SELECT ?1, id, 'told', ?3 FROM memories WHERE id = ?2 AND persona_id != ?1",
        [(persona_id, memory_id, at) for persona_id in persona_ids],
    )


async def witnessed_vectors(
    db: Store, where: MemoryFilter, model_id: str
) -> tuple[list[str], np.ndarray | None]:
    """Vectors of other personas' memories that `where`'s persona witnessed or was told about
    (they live in their owners' index collections, so they are ranked from SQLite's copies)."""
    clause, params = where.sql(probe=True)
    rows = await db.fetch_all(
        "SELECT m.id, v.vector FROM memory_witnesses w JOIN memories m ON m.id = w.memory_id "
        "JOIN memory_vectors v ON v.memory_id = m.id AND v.model_id = ? "
        f"WHERE w.persona_id = ? AND m.persona_id != w.persona_id AND {clause}",
        (model_id, where.persona_id, *params),
    )
    return ids_and_matrix(rows)
