"""Rows of the lorebooks and lorebook_links tables: books imported once, attached to personas and
conversations. Which books a principal may see is decided here, in SQL, by the access rule."""

from __future__ import annotations

from typing import Any

import aiosqlite

from core.access.policy import also, conversation_visible_sql, persona_readable_sql
from core.access.principal import Principal, acting
from core.store.port import Row, Store

__all__ = ["LorebookRepository", "lorebook_visible_sql"]


def lorebook_visible_sql(alias: str, who: Principal | None = None) -> tuple[str, list[Any]]:
    """A condition on lorebooks `alias` that holds for the books `who` may see: its own, and those
    attached to a persona it may read or a conversation it may see; ("", []) for an admin."""
    who = who or acting()
    if who.admin:
        return "", []
    readable, params = persona_readable_sql("l.persona_id", who)
    started, more = conversation_visible_sql("c", who)
    return (
        f"({alias}.owner = ? OR EXISTS (SELECT 1 FROM lorebook_links l WHERE l.lorebook_id = {alias}.id "
        f"AND l.persona_id IS NOT NULL AND {readable}) OR EXISTS (SELECT 1 FROM lorebook_links l "
        f"JOIN conversations c ON c.id = l.conversation_id WHERE l.lorebook_id = {alias}.id AND {started}))",
        [who.name, *params, *more],
    )


class LorebookRepository:
    """Reads of lorebooks as the acting principal sees them; writes inside a caller's transaction."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def get(self, lorebook_id: str) -> Row | None:
        """The book, if the acting principal may see it."""
        where, params = lorebook_visible_sql("b")
        return await self._db.fetch_one(
            f"SELECT * FROM lorebooks b WHERE b.id = ?{also(where)}", [lorebook_id, *params]
        )

    async def exists(self, lorebook_id: str) -> bool:
        return int(await self._db.scalar("SELECT count(*) FROM lorebooks WHERE id = ?", (lorebook_id,))) > 0

    async def same_content(self, owner: str, digest: str) -> Row | None:
        """A book of `owner` with exactly this content (a repeated import)."""
        return await self._db.fetch_one(
            "SELECT * FROM lorebooks WHERE owner = ? AND digest = ? ORDER BY created_at LIMIT 1",
            (owner, digest),
        )

    async def listed(self, persona_id: str | None, conversation_id: str | None) -> list[Row]:
        """Visible books, by name; only those attached to `persona_id` / `conversation_id` if given."""
        where, params = lorebook_visible_sql("b")
        conditions = [where] if where else []
        if persona_id is not None:
            conditions.append("b.id IN (SELECT lorebook_id FROM lorebook_links WHERE persona_id = ?)")
            params.append(persona_id)
        if conversation_id is not None:
            conditions.append("b.id IN (SELECT lorebook_id FROM lorebook_links WHERE conversation_id = ?)")
            params.append(conversation_id)
        clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return await self._db.fetch_all(
            f"SELECT b.id, b.name, b.format, b.entries, b.owner, b.created_at, b.updated_at, "
            f"json_extract(b.book, '$.description') AS description FROM lorebooks b {clause} "
            "ORDER BY lower(b.name), b.id",
            params,
        )

    async def links(self, lorebook_ids: list[str]) -> list[Row]:
        """Where these books are attached, among the personas and conversations the acting
        principal may see."""
        if not lorebook_ids:
            return []
        marks = ", ".join("?" for _ in lorebook_ids)
        readable, params = persona_readable_sql("l.persona_id")
        started, more = conversation_visible_sql("c")
        return await self._db.fetch_all(
            f"SELECT l.lorebook_id, l.persona_id, l.conversation_id FROM lorebook_links l "
            f"LEFT JOIN conversations c ON c.id = l.conversation_id WHERE l.lorebook_id IN ({marks}) "
            f"AND ((l.persona_id IS NOT NULL{also(readable)}) "
            f"OR (l.conversation_id IS NOT NULL{also(started)})) "
            "ORDER BY l.attached_at, l.rowid",
            [*lorebook_ids, *params, *more],
        )

    async def attached(self, persona_ids: list[str], conversation_id: str | None) -> list[Row]:
        """The books attached to these personas or this conversation, with where they are attached,
        in the order they were attached (whoever may chat with a persona gets its books)."""
        marks = ", ".join("?" for _ in persona_ids) or "NULL"
        where, params = f"l.persona_id IN ({marks})", list(persona_ids)
        if conversation_id is not None:
            where, params = f"{where} OR l.conversation_id = ?", [*params, conversation_id]
        return await self._db.fetch_all(
            "SELECT b.id, b.name, b.book, b.updated_at, l.persona_id, l.conversation_id "
            f"FROM lorebook_links l JOIN lorebooks b ON b.id = l.lorebook_id WHERE {where} "
            "ORDER BY l.attached_at, l.rowid",
            params,
        )

    async def conversation_visible(self, conversation_id: str) -> bool:
        started, params = conversation_visible_sql("c")
        sql = f"SELECT count(*) FROM conversations c WHERE c.id = ?{also(started)}"
        return int(await self._db.scalar(sql, [conversation_id, *params])) > 0

    @staticmethod
    async def insert(tx: aiosqlite.Connection, row: dict[str, Any]) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        await tx.execute(f"INSERT INTO lorebooks ({columns}) VALUES ({marks})", list(row.values()))

    @staticmethod
    async def replace(tx: aiosqlite.Connection, lorebook_id: str, row: dict[str, Any]) -> None:
        sets = ", ".join(f"{column} = ?" for column in row)
        await tx.execute(f"UPDATE lorebooks SET {sets} WHERE id = ?", [*row.values(), lorebook_id])

    @staticmethod
    async def delete(tx: aiosqlite.Connection, lorebook_id: str) -> int:
        """Remove the book; how many attachments went with it."""
        async with tx.execute(
            "SELECT count(*) FROM lorebook_links WHERE lorebook_id = ?", (lorebook_id,)
        ) as c:
            row = await c.fetchone()
        await tx.execute("DELETE FROM lorebooks WHERE id = ?", (lorebook_id,))
        return int(row[0]) if row else 0

    @staticmethod
    async def link(
        tx: aiosqlite.Connection,
        lorebook_id: str,
        persona_id: str | None,
        conversation_id: str | None,
        at: str,
    ) -> bool:
        """Attach; False when it already was."""
        cursor = await tx.execute(
            "INSERT OR IGNORE INTO lorebook_links (lorebook_id, persona_id, conversation_id, attached_at, "
            "attached_by) VALUES (?, ?, ?, ?, ?)",
            (lorebook_id, persona_id, conversation_id, at, acting().name),
        )
        return cursor.rowcount > 0

    @staticmethod
    async def unlink(
        tx: aiosqlite.Connection, lorebook_id: str, persona_id: str | None, conversation_id: str | None
    ) -> bool:
        """Detach; False when it was not attached."""
        cursor = await tx.execute(
            "DELETE FROM lorebook_links WHERE lorebook_id = ? AND persona_id IS ? AND conversation_id IS ?",
            (lorebook_id, persona_id, conversation_id),
        )
        return cursor.rowcount > 0
