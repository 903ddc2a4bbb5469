"""A conversation had elsewhere (a SillyTavern chat), written as it was: its own id, times and
turns, in one transaction, so an import either has the whole conversation or none of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.access import acting
from core.chat.tokens import TokenCounter
from core.clock import iso
from core.conversations.models import Role
from core.conversations.service import _WITNESS
from core.store import Database

__all__ = ["ImportedTurn", "insert_conversation"]

# (role, persona_id of the persona that spoke or None, content, when)
ImportedTurn = tuple[Role, str | None, str, datetime]


async def insert_conversation(
    db: Database,
    tokens: TokenCounter,
    conversation_id: str,
    title: str | None,
    user_id: str | None,
    participants: Sequence[str],
    started: datetime,
    turns: Sequence[ImportedTurn],
) -> None:
    """Write an open conversation of these personas with these turns (they witnessed them all)."""
    last = iso(turns[-1][3]) if turns else iso(started)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO conversations (id, title, user_id, status, created_at, updated_at, created_by) "
            "VALUES (?, ?, ?, 'open', ?, ?, ?)",
            (conversation_id, title, user_id, iso(started), last, acting().name),
        )
        await tx.executemany(
            "INSERT INTO conversation_participants (conversation_id, persona_id, joined_at) VALUES (?, ?, ?)",
            [(conversation_id, persona_id, iso(started)) for persona_id in participants],
        )
        for role, speaker, content, at in turns:
            cursor = await tx.execute(
                "INSERT INTO messages (conversation_id, role, persona_id, content, tokens, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, role, speaker, content, tokens.message(content), iso(at)),
            )
            await tx.execute(_WITNESS, (cursor.lastrowid, conversation_id))
