"""SQL for conversations, their participants, messages and who witnessed each message. Reads that
list or look up conversations take the acting principal's view (policy.py); writes run inside a
transaction of their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from core.access import acting
from core.access.policy import also, conversation_visible_sql
from core.store import Store
from core.store.port import Row

__all__ = ["ConversationRepository", "NewTurn"]

_SELECT = (
    "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS turns, "
    "(SELECT coalesce(sum(tokens), 0) FROM messages m WHERE m.conversation_id = c.id) AS tokens, "
    "(SELECT group_concat(persona_id, ',') FROM (SELECT persona_id FROM conversation_participants p "
    "WHERE p.conversation_id = c.id ORDER BY p.joined_at, p.rowid)) AS participants, "
    "(SELECT group_concat(persona_id, ',') FROM (SELECT persona_id FROM conversation_participants p "
    "WHERE p.conversation_id = c.id AND p.left_at IS NULL ORDER BY p.joined_at, p.rowid)) AS present "
    "FROM conversations c"
)
# Everyone present in the room when a message is said witnesses it.
_WITNESS = (
    "INSERT OR IGNORE INTO message_witnesses (persona_id, message_id) SELECT persona_id, ? "
    "FROM conversation_participants WHERE conversation_id = ? AND left_at IS NULL"
)
_TURN = "m.id, m.role, m.persona_id, m.content, m.tokens"
_LAST_ID = 2**63 - 1

# (role, persona_id or None, content, tokens, created_at)
NewTurn = tuple[str, str | None, str, int, str]


class ConversationRepository:
    """Rows of conversations, conversation_participants, messages and message_witnesses."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def create(
        self,
        conversation_id: str,
        title: str | None,
        user_id: str | None,
        participants: Sequence[str],
        at: str,
        turns: Sequence[NewTurn] = (),
        updated_at: str | None = None,
    ) -> None:
        """A new open conversation of these personas, created by the acting principal, with any
        turns it already had (written whole, or not at all)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO conversations (id, title, user_id, status, created_at, updated_at, created_by) "
                "VALUES (?, ?, ?, 'open', ?, ?, ?)",
                (conversation_id, title, user_id, at, updated_at or at, acting().name),
            )
            await tx.executemany(
                "INSERT INTO conversation_participants (conversation_id, persona_id, joined_at) "
                "VALUES (?, ?, ?)",
                [(conversation_id, pid, at) for pid in participants],
            )
            for turn in turns:
                await self._insert_turn(tx, conversation_id, turn)

    @staticmethod
    async def _insert_turn(tx: aiosqlite.Connection, conversation_id: str, turn: NewTurn) -> int:
        role, persona_id, content, tokens, at = turn
        async with tx.execute(
            "INSERT INTO messages (conversation_id, role, persona_id, content, tokens, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (conversation_id, role, persona_id, content, tokens, at),
        ) as cursor:
            row = await cursor.fetchone()
        message_id = int(row[0]) if row else 0
        await tx.execute(_WITNESS, (message_id, conversation_id))
        return message_id

    async def add_turns(self, conversation_id: str, turns: Sequence[NewTurn], now: str) -> int:
        """Insert turns in one transaction, each witnessed by those present; the last one's id."""
        last = 0
        async with self._db.transaction() as tx:
            for turn in turns:
                last = await self._insert_turn(tx, conversation_id, turn)
            await tx.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return last

    async def get(self, conversation_id: str) -> Row | None:
        """The conversation, if the acting principal may see it."""
        seen, params = conversation_visible_sql("c")
        return await self._db.fetch_one(f"{_SELECT} WHERE c.id = ?{also(seen)}", (conversation_id, *params))

    async def exists(self, conversation_id: str) -> bool:
        """Whether any conversation has this id (whoever may see it)."""
        return (
            await self._db.fetch_one("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,))
            is not None
        )

    async def latest_open(self, persona_id: str) -> Row | None:
        """The persona's most recently active open conversation the acting principal may see."""
        seen, params = conversation_visible_sql("c")
        return await self._db.fetch_one(
            f"{_SELECT} WHERE c.status = 'open' AND c.id IN "
            "(SELECT conversation_id FROM conversation_participants WHERE persona_id = ?)"
            f"{also(seen)} ORDER BY c.updated_at DESC LIMIT 1",
            (persona_id, *params),
        )

    async def listed(self, persona_id: str | None, status: str | None, limit: int) -> tuple[list[Row], int]:
        """Visible conversations (of one persona, in one status), newest activity first, and how
        many there are."""
        seen, params = conversation_visible_sql("c")
        clauses = [seen or "TRUE"]
        if persona_id is not None:
            clauses.append(
                "c.id IN (SELECT conversation_id FROM conversation_participants WHERE persona_id = ?)"
            )
            params.append(persona_id)
        if status is not None:
            clauses.append("c.status = ?")
            params.append(status)
        where = " AND ".join(clauses)
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE {where} ORDER BY c.updated_at DESC, c.id LIMIT ?", (*params, limit)
        )
        total = await self._db.scalar(f"SELECT count(*) FROM conversations c WHERE {where}", params)
        return rows, int(total)

    async def message(self, message_id: int) -> Row | None:
        return await self._db.fetch_one("SELECT * FROM messages WHERE id = ?", (message_id,))

    async def messages(
        self, conversation_id: str, limit: int | None = None, before: int | None = None
    ) -> list[Row]:
        """Messages oldest first: all of them, or up to `limit` (+1, to tell whether there are
        more) before message `before`, newest first."""
        if limit is None:
            return await self._db.fetch_all(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            )
        return await self._db.fetch_all(
            "SELECT * FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (conversation_id, before if before is not None else _LAST_ID, limit + 1),
        )

    async def witnesses(
        self, conversation_id: str, first: int = 0, last: int = _LAST_ID
    ) -> list[tuple[str, int]]:
        """(persona, message) for each persona in the room when a message of the conversation
        (with an id from `first` to `last`) was said, personas in order."""
        rows = await self._db.fetch_all(
            "SELECT w.persona_id, w.message_id FROM message_witnesses w "
            "JOIN messages m ON m.id = w.message_id "
            "WHERE m.conversation_id = ? AND m.id BETWEEN ? AND ? ORDER BY w.persona_id",
            (conversation_id, first, last),
        )
        return [(row[0], row[1]) for row in rows]

    async def turns(self, conversation_id: str, witness: str | None) -> list[Any]:
        """(id, role, persona_id, content, tokens) of every message (that `witness` was present
        for, when given), oldest first."""
        if witness is None:
            return await self._db.fetch_all(
                f"SELECT {_TURN} FROM messages m WHERE m.conversation_id = ? ORDER BY m.id",
                (conversation_id,),
            )
        return await self._db.fetch_all(
            f"SELECT {_TURN} FROM message_witnesses w JOIN messages m ON m.id = w.message_id "
            "WHERE w.persona_id = ? AND m.conversation_id = ? ORDER BY m.id",
            (witness, conversation_id),
        )

    async def last_turn(self, conversation_id: str, witness: str) -> Row | None:
        """The newest message `witness` was present for and did not say itself."""
        return await self._db.fetch_one(
            f"SELECT {_TURN} FROM message_witnesses w JOIN messages m ON m.id = w.message_id "
            "WHERE w.persona_id = ?1 AND m.conversation_id = ?2 AND m.persona_id IS NOT ?1 "
            "ORDER BY m.id DESC LIMIT 1",
            (witness, conversation_id),
        )

    async def turns_of(self, conversation_id: str, persona_id: str) -> int:
        return int(
            await self._db.scalar(
                "SELECT count(*) FROM messages WHERE conversation_id = ? AND persona_id = ?",
                (conversation_id, persona_id),
            )
        )

    async def recent_speakers(self, conversation_id: str, limit: int) -> list[Row]:
        """(role, persona_id, content) of the newest messages, newest first."""
        return await self._db.fetch_all(
            "SELECT role, persona_id, content FROM messages WHERE conversation_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        )

    async def close(self, conversation_id: str, summary: str | None, now: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE conversations SET status = 'closed', summary = ?, closed_at = ?, updated_at = ? "
                "WHERE id = ?",
                (summary, now, now, conversation_id),
            )

    async def join(self, conversation_id: str, persona_id: str, now: str) -> None:
        """Into the room (back, if it left)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO conversation_participants (conversation_id, persona_id, joined_at) "
                "VALUES (?, ?, ?) "
                "ON CONFLICT (conversation_id, persona_id) DO UPDATE SET left_at = NULL",
                (conversation_id, persona_id, now),
            )
            await tx.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    async def leave(self, conversation_id: str, persona_id: str, now: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE conversation_participants SET left_at = ? "
                "WHERE conversation_id = ? AND persona_id = ?",
                (now, conversation_id, persona_id),
            )
            await tx.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
