"""Rows of the personas table, and what a purge removes with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite
import orjson

from core.access.principal import acting
from core.clock import iso, parse_iso
from core.models import Persona, PersonaSpec
from core.store.port import Row, Store

__all__ = ["PersonaRepository", "PurgeCounts"]

# Tables whose rows belong to one persona and go with it on purge (foreign keys cascade the rest).
PurgeCounts = dict[str, int]


def _to_persona(row: Row) -> Persona:
    spec = orjson.loads(row["spec"])
    return Persona.model_validate(
        {
            **spec,
            "id": row["id"],
            "version": row["version"],
            "created_at": parse_iso(row["created_at"]),
            "updated_at": parse_iso(row["updated_at"]),
            "archived_at": parse_iso(row["archived_at"]) if row["archived_at"] else None,
            "owner": row["owner"],
        }
    )


def _spec_json(persona: PersonaSpec) -> str:
    return orjson.dumps(persona.model_dump(mode="json", include=set(PersonaSpec.model_fields))).decode()


def _row(persona: Persona) -> tuple[object, ...]:
    """Column values in the order both insert and replace bind them, id last."""
    return (
        persona.name,
        persona.description,
        _spec_json(persona),
        persona.version,
        iso(persona.created_at),
        iso(persona.updated_at),
        iso(persona.archived_at) if persona.archived_at else None,
        persona.id,
    )


class PersonaRepository:
    """Reads and writes personas; callers own the transaction for writes."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def get(self, persona_id: str) -> Persona | None:
        """The persona with this id, archived or not."""
        row = await self._db.fetch_one("SELECT * FROM personas WHERE id = ?", (persona_id,))
        return _to_persona(row) if row else None

    async def all(self, include_archived: bool = False) -> list[Persona]:
        """Every persona, ordered by name."""
        where = "" if include_archived else "WHERE archived_at IS NULL"
        rows = await self._db.fetch_all(f"SELECT * FROM personas {where} ORDER BY lower(name), id")
        return [_to_persona(row) for row in rows]

    async def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever a persona is created, changed, archived, restored or purged."""
        row = await self._db.fetch_one(
            "SELECT count(*), coalesce(sum(version), 0), max(updated_at), max(archived_at), "
            "count(*) - count(archived_at) FROM personas"
        )
        return tuple(row) if row is not None else ()

    async def ids(self, include_archived: bool = False) -> list[str]:
        """Ids of every persona, for error messages that list what exists."""
        where = "" if include_archived else "WHERE archived_at IS NULL"
        rows = await self._db.fetch_all(f"SELECT id FROM personas {where} ORDER BY id")
        return [row["id"] for row in rows]

    @staticmethod
    async def get_in_tx(tx: aiosqlite.Connection, persona_id: str) -> Persona | None:
        """`get`, read inside a write transaction."""
        async with tx.execute("SELECT * FROM personas WHERE id = ?", (persona_id,)) as cursor:
            row = await cursor.fetchone()
        return _to_persona(row) if row else None

    @staticmethod
    async def named_in_tx(tx: aiosqlite.Connection, name: str, other_than: str | None) -> list[Persona]:
        """Live personas with this name (ignoring case), but `other_than`, read inside a write
        transaction."""
        async with tx.execute(
            "SELECT * FROM personas WHERE lower(name) = lower(?) AND archived_at IS NULL AND id IS NOT ?",
            (name, other_than),
        ) as cursor:
            return [_to_persona(row) for row in await cursor.fetchall()]

    @staticmethod
    async def insert(tx: aiosqlite.Connection, persona: Persona) -> None:
        """Add a new row, owned by `persona.owner` and written by the acting principal."""
        await tx.execute(
            "INSERT INTO personas (name, description, spec, version, created_at, updated_at, archived_at, id,"
            " owner, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*_row(persona), persona.owner, acting().name),
        )

    @staticmethod
    async def replace(tx: aiosqlite.Connection, persona: Persona) -> None:
        """Overwrite the row of an existing persona with these values (its owner stays)."""
        await tx.execute(
            "UPDATE personas SET name = ?, description = ?, spec = ?, version = ?, created_at = ?,"
            " updated_at = ?, archived_at = ?, updated_by = ? WHERE id = ?",
            (*_row(persona)[:-1], acting().name, persona.id),
        )

    @staticmethod
    async def owned_counts(tx: aiosqlite.Connection, persona_id: str) -> PurgeCounts:
        """How many rows of each kind belong to this persona (what a purge would remove)."""
        queries: Sequence[tuple[str, str]] = (
            ("memories", "SELECT count(*) FROM memories WHERE persona_id = ?"),
            ("relationships", "SELECT count(*) FROM relationships WHERE party_a = ?1 OR party_b = ?1"),
            ("emotional_history", "SELECT count(*) FROM emotional_history WHERE persona_id = ?"),
            ("conversations", "SELECT count(*) FROM conversation_participants WHERE persona_id = ?"),
            ("messages", "SELECT count(*) FROM messages WHERE persona_id = ?"),
        )
        counts: PurgeCounts = {}
        for name, sql in queries:
            async with tx.execute(sql, (persona_id,)) as cursor:
                row = await cursor.fetchone()
            counts[name] = int(row[0]) if row else 0
        return counts

    @staticmethod
    async def purge(tx: aiosqlite.Connection, persona_id: str) -> None:
        """Remove the persona and everything that is its own. Relationships and messages name a
        persona without a foreign key (a party may be a user), so they are removed explicitly."""
        await tx.execute("DELETE FROM interactions WHERE party_a = ?1 OR party_b = ?1", (persona_id,))
        await tx.execute("DELETE FROM relationships WHERE party_a = ?1 OR party_b = ?1", (persona_id,))
        await tx.execute("DELETE FROM messages WHERE persona_id = ?", (persona_id,))
        await tx.execute("DELETE FROM personas WHERE id = ?", (persona_id,))

    async def setting(self, key: str) -> str | None:
        """A value of the settings table."""
        value = await self._db.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def put_setting(self, key: str, value: str, now: str) -> None:
        """Set a value of the settings table."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, now),
            )

    @staticmethod
    async def setting_in_tx(tx: aiosqlite.Connection, key: str) -> str | None:
        """A value of the settings table, read inside a write transaction."""
        async with tx.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    @staticmethod
    async def put_setting_in_tx(tx: aiosqlite.Connection, key: str, value: str, now: str) -> None:
        await tx.execute("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)", (key, value, now))
