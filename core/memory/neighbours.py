"""Which memories sit next to a memory: the turns around it in its conversation, or, for memories
stored without a conversation (a host that calls memory_store per message), the memories stored
just before and after it in the same sitting.

A turn that answers a question is often the reply to the turn that matches it, and a turn rarely
makes sense alone: search gives a memory part of its neighbours' relevance (ranking.py, context).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.clock import parse_iso
from core.store import Database

__all__ = ["SITTING_GAP_SECONDS", "neighbours"]

# Memories stored without a conversation are neighbours only when stored within this of each
# other: messages of one sitting come minutes apart, a note added days later is another matter.
SITTING_GAP_SECONDS = 3600.0
_CHUNK = 400  # ids per query (each appears twice in the conversation query)


async def neighbours(db: Database, ids: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """For each memory, the live memories of the same persona up to two places before and after
    it, with their distance: in its conversation (by created_at), else in store order within the
    sitting."""
    links: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        links.update(await _in_conversations(db, chunk))
        links.update(await _in_store_order(db, chunk))
    return links


async def _in_conversations(db: Database, chunk: list[str]) -> dict[str, list[tuple[str, int]]]:
    marks = ", ".join("?" * len(chunk))
    # CROSS JOIN keeps SQLite from scanning the persona's memories: conversations first, then
    # their rows through memories_conversation.
    found = await db.fetch_all(
        f"""
        WITH conv AS MATERIALIZED (
            SELECT DISTINCT conversation_id, persona_id FROM memories
            WHERE id IN ({marks}) AND conversation_id IS NOT NULL),
        ordered AS (
            SELECT m.id, LAG(m.id) OVER turn, LEAD(m.id) OVER turn,
                LAG(m.id, 2) OVER turn, LEAD(m.id, 2) OVER turn
            FROM conv CROSS JOIN memories m
                ON m.conversation_id = conv.conversation_id AND m.persona_id = conv.persona_id
            WHERE m.archived_at IS NULL
            WINDOW turn AS (
                PARTITION BY m.conversation_id, m.persona_id ORDER BY m.created_at, m.rowid))
        SELECT * FROM ordered WHERE id IN ({marks})
        """,
        (*chunk, *chunk),
    )
    return {row[0]: _linked(row[1:]) for row in found}


# The nearest memories before and after, of the same persona and also without a conversation,
# each an index seek on memories_persona (persona_id, archived_at, created_at).
_STORE_ORDER = """
    SELECT me.id, me.created_at,
        (SELECT o.id || ' ' || o.created_at FROM memories o WHERE {same} AND {before}
            ORDER BY o.created_at DESC, o.rowid DESC LIMIT 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o WHERE {same} AND {after}
            ORDER BY o.created_at, o.rowid LIMIT 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o WHERE {same} AND {before}
            ORDER BY o.created_at DESC, o.rowid DESC LIMIT 1 OFFSET 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o WHERE {same} AND {after}
            ORDER BY o.created_at, o.rowid LIMIT 1 OFFSET 1)
    FROM memories me WHERE me.id IN ({marks}) AND me.conversation_id IS NULL
""".format(
    same="o.persona_id = me.persona_id AND o.archived_at IS NULL AND o.conversation_id IS NULL",
    before="(o.created_at, o.rowid) < (me.created_at, me.rowid)",
    after="(o.created_at, o.rowid) > (me.created_at, me.rowid)",
    marks="{marks}",
)


async def _in_store_order(db: Database, chunk: list[str]) -> dict[str, list[tuple[str, int]]]:
    found = await db.fetch_all(_STORE_ORDER.format(marks=", ".join("?" * len(chunk))), chunk)
    links = {}
    for row in found:
        at = parse_iso(row[1]).timestamp()
        near = []
        for value in row[2:]:
            other, _, stored = (value or "").partition(" ")
            # Ids are opaque but never hold a space; created_at follows it.
            close = bool(other) and abs(parse_iso(stored).timestamp() - at) <= SITTING_GAP_SECONDS
            near.append(other if close else None)
        links[row[0]] = _linked(near)
    return links


def _linked(row: Sequence[str | None]) -> list[tuple[str, int]]:
    """(previous, next, second previous, second next) as (id, distance) pairs."""
    return [(other, distance) for other, distance in zip(row, (1, 1, 2, 2), strict=True) if other]
