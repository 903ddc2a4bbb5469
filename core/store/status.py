"""Read-only queries that summarise one persona's state for persona_status."""

from __future__ import annotations

from typing import Any

from core.access.policy import (
    also,
    conversation_visible_sql,
    memory_visible_sql,
    persona_readable_sql,
    relationship_visible_sql,
)
from core.store.port import Store

__all__ = ["StatusRepository"]

_MAX_RELATIONSHIPS_SHOWN = 5


class StatusRepository:
    """Counts and latest rows across the memory, relationship, emotion and conversation tables."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def memory_counts(self, persona_id: str) -> dict[str, int]:
        """Live memories by kind, plus `total` and `archived` (those the acting principal may see)."""
        seen, params = memory_visible_sql("m")
        seen = also(seen)
        rows = await self._db.fetch_all(
            "SELECT kind, count(*) AS n FROM memories m WHERE persona_id = ? AND archived_at IS NULL"
            f"{seen} GROUP BY kind",
            (persona_id, *params),
        )
        counts = {row["kind"]: int(row["n"]) for row in rows}
        counts["total"] = sum(counts.values())
        counts["archived"] = int(
            await self._db.scalar(
                f"SELECT count(*) FROM memories m WHERE persona_id = ? AND archived_at IS NOT NULL{seen}",
                (persona_id, *params),
            )
        )
        return counts

    async def strongest_relationships(self, persona_id: str) -> list[dict[str, Any]]:
        """The persona's closest relationships the acting principal may see, strongest (affinity x
        familiarity) first."""
        seen, params = relationship_visible_sql()
        seen = also(seen)
        rows = await self._db.fetch_all(
            "SELECT CASE WHEN party_a = ? THEN party_b ELSE party_a END AS other, type, affinity,"
            " trust, familiarity, interaction_count, last_interaction_at FROM relationships"
            f" WHERE (party_a = ? OR party_b = ?){seen}"
            " ORDER BY abs(affinity) * familiarity DESC, interaction_count DESC LIMIT ?",
            (persona_id, persona_id, persona_id, *params, _MAX_RELATIONSHIPS_SHOWN),
        )
        return [dict(row) for row in rows]

    async def relationship(self, party: str, other: str) -> dict[str, Any] | None:
        """The relationship between two parties (persona ids, or `user:<id>`), if one exists."""
        row = await self._db.fetch_one(
            "SELECT * FROM relationships WHERE party_a = ? AND party_b = ?", tuple(sorted((party, other)))
        )
        return dict(row) if row else None

    async def open_conversation(self, persona_id: str) -> dict[str, Any] | None:
        """The persona's most recently active open conversation the acting principal may see, with
        its turn count."""
        seen, params = conversation_visible_sql("c")
        seen = also(seen)
        row = await self._db.fetch_one(
            "SELECT c.id, c.title, c.user_id, c.created_at, c.updated_at,"
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS turns"
            " FROM conversations c JOIN conversation_participants p ON p.conversation_id = c.id"
            f" WHERE p.persona_id = ? AND c.status = 'open'{seen} ORDER BY c.updated_at DESC LIMIT 1",
            (persona_id, *params),
        )
        return dict(row) if row else None

    async def visible_counts(self) -> dict[str, int]:
        """How many personas, memories, conversations and relationships the acting principal may see."""
        counts = {}
        rules: tuple[tuple[str, str, tuple[str, list[Any]]], ...] = (
            ("personas", "p", persona_readable_sql("p.id")),
            ("memories", "m", memory_visible_sql("m")),
            ("conversations", "c", conversation_visible_sql("c")),
            ("relationships", "r", relationship_visible_sql("r.")),
        )
        for table, alias, (seen, params) in rules:
            where = f" WHERE {seen}" if seen else ""
            counts[table] = int(await self._db.scalar(f"SELECT count(*) FROM {table} {alias}{where}", params))
        return counts
