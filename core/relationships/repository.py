"""SQL for the relationships and interactions tables. A pair is one row, (party_a, party_b) with
party_a < party_b; reads take the acting principal's view (policy.py) where they list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiosqlite

from core.access import acting
from core.access.policy import also, relationship_visible_sql
from core.store import Store
from core.store.port import Row

__all__ = ["RelationshipRepository", "pair_key"]


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The stored order of a pair."""
    low, high = sorted((a, b))
    return low, high


def _seen() -> tuple[str, list[Any]]:
    """`AND` the condition that both parties of a row are ones the acting principal may see, or
    nothing for an admin."""
    seen, params = relationship_visible_sql()
    return also(seen), params


class RelationshipRepository:
    """Reads of relationships and interactions; writes inside a caller's transaction."""

    def __init__(self, db: Store) -> None:
        self._db = db

    @staticmethod
    async def row_in(tx: aiosqlite.Connection, a: str, b: str) -> Row | None:
        """The pair's row as a write transaction sees it."""
        async with tx.execute(
            "SELECT * FROM relationships WHERE party_a = ? AND party_b = ?", pair_key(a, b)
        ) as cursor:
            return await cursor.fetchone()

    @staticmethod
    async def upsert(tx: aiosqlite.Connection, values: Mapping[str, Any]) -> None:
        """Write a pair's values after an interaction (a, b, type, locked, affinity, trust,
        familiarity, count, now), by the acting principal."""
        await tx.execute(
            "INSERT INTO relationships (party_a, party_b, type, type_locked, affinity, trust,"
            " familiarity, interaction_count, last_interaction_at, created_at, updated_at, updated_by)"
            " VALUES (:a, :b, :type,"
            " :locked, :affinity, :trust, :familiarity, :count, :now, :now, :now, :by)"
            " ON CONFLICT (party_a, party_b) DO UPDATE SET type = :type, type_locked = :locked,"
            " affinity = :affinity, trust = :trust, familiarity = :familiarity,"
            " interaction_count = :count, last_interaction_at = :now, updated_at = :now,"
            " updated_by = :by",
            {**values, "by": acting().name},
        )

    @staticmethod
    async def add_interaction(tx: aiosqlite.Connection, values: tuple[Any, ...]) -> None:
        """One interactions row: (party_a, party_b, kind, quality, summary, created_at, type_after,
        affinity_after, trust_after, familiarity_after), by the acting principal."""
        await tx.execute(
            "INSERT INTO interactions (party_a, party_b, kind, quality, summary, created_at, type_after,"
            " affinity_after, trust_after, familiarity_after, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, acting().name),
        )

    @staticmethod
    async def replace(tx: aiosqlite.Connection, values: tuple[Any, ...]) -> None:
        """Write a pair brought from elsewhere: (party_a, party_b, type, type_locked, affinity,
        trust, familiarity, interaction_count, last_interaction_at, now)."""
        await tx.execute(
            "INSERT INTO relationships (party_a, party_b, type, type_locked, affinity, trust,"
            " familiarity, interaction_count, last_interaction_at, created_at, updated_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
            " ON CONFLICT (party_a, party_b) DO UPDATE SET type = ?3, type_locked = ?4,"
            " affinity = ?5, trust = ?6, familiarity = ?7, interaction_count = ?8,"
            " last_interaction_at = ?9, updated_at = ?10",
            values,
        )

    async def of_party(self, party: str, limit: int | None = None) -> tuple[list[Row], int]:
        """A party's visible relationships (strongest first when limited, else by pair) and how
        many there are."""
        seen, params = _seen()
        where = f"WHERE (party_a = ? OR party_b = ?){seen}"
        if limit is None:
            rows = await self._db.fetch_all(
                f"SELECT * FROM relationships {where} ORDER BY party_a, party_b", (party, party, *params)
            )
            return rows, len(rows)
        rows = await self._db.fetch_all(
            f"SELECT * FROM relationships {where} "
            "ORDER BY abs(affinity) * familiarity DESC, interaction_count DESC, party_a, party_b LIMIT ?",
            (party, party, *params, limit),
        )
        total = await self._db.scalar(f"SELECT count(*) FROM relationships {where}", (party, party, *params))
        return rows, int(total)

    async def interactions(self, a: str, b: str, limit: int) -> tuple[list[Row], int]:
        """The pair's interactions, newest first, and how many there are."""
        key = pair_key(a, b)
        rows = await self._db.fetch_all(
            "SELECT * FROM interactions WHERE party_a = ? AND party_b = ? ORDER BY id DESC LIMIT ?",
            (*key, limit),
        )
        total = await self._db.scalar(
            "SELECT count(*) FROM interactions WHERE party_a = ? AND party_b = ?", key
        )
        return rows, int(total)

    async def last_summary(self, a: str, b: str) -> str | None:
        value = await self._db.scalar(
            "SELECT summary FROM interactions WHERE party_a = ? AND party_b = ? AND summary IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            pair_key(a, b),
        )
        return str(value) if value is not None else None

    async def counts(self) -> tuple[dict[str, int], int, int]:
        """Visible relationships by type, those with a user, and visible interactions."""
        seen, params = _seen()
        by_type = {
            row["type"]: int(row["n"])
            for row in await self._db.fetch_all(
                f"SELECT type, count(*) AS n FROM relationships WHERE TRUE{seen} GROUP BY type "
                "ORDER BY n DESC, type",
                params,
            )
        }
        with_users = await self._db.scalar(
            "SELECT count(*) FROM relationships WHERE (party_a LIKE 'user:%' OR party_b LIKE 'user:%')"
            f"{seen}",
            params,
        )
        interactions = await self._db.scalar(f"SELECT count(*) FROM interactions WHERE TRUE{seen}", params)
        return by_type, int(with_users), int(interactions)

    async def visible(self) -> list[Row]:
        """Every relationship the acting principal may see."""
        seen, params = _seen()
        return await self._db.fetch_all(f"SELECT * FROM relationships WHERE TRUE{seen}", params)
