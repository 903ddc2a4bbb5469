"""Which memories sit next to a memory: the turns around it in its conversation, or, for memories
stored without a conversation (a host that calls memory_store per message), the memories stored
just before and after it in the same sitting.

A turn that answers a question is often the reply to the turn that matches it, and a turn rarely
makes sense alone: search gives a memory part of its neighbours' relevance (ranking.py, context).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.clock import parse_iso
from core.store import Store

__all__ = ["SITTING_GAP_SECONDS", "neighbours"]

# Memories stored without a conversation are neighbours only when stored within this of each
# other: messages of one sitting come minutes apart, a note added days later is another matter.
SITTING_GAP_SECONDS = 3600.0
_CHUNK = 400  # ids per query (each appears twice in the conversation query)


async def neighbours(db: Store, ids: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """For each memory, the live memories of the same persona up to two places before and after
    it, with their distance: in its conversation (by created_at), else in the order they were
    stored, within the sitting."""
    links: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        links.update(await _in_conversations(db, chunk))
        links.update(await _in_store_order(db, chunk))
    return links


async def _in_conversations(db: Store, chunk: list[str]) -> dict[str, list[tuple[str, int]]]:
    marks = ", ".join("?" * len(chunk))
    # The live turns of the chunk's conversations in order (memories_conversation), placed in
    # Python: a window function over the same rows took several times longer.
    rows = await db.fetch_all(
        f"""
        WITH conv AS MATERIALIZED (
            SELECT DISTINCT conversation_id, persona_id FROM memories
            WHERE id IN ({marks}) AND conversation_id IS NOT NULL)
        SELECT m.id, m.conversation_id, m.persona_id
        FROM conv CROSS JOIN memories m
            ON m.conversation_id = conv.conversation_id AND m.persona_id = conv.persona_id
        WHERE m.archived_at IS NULL
        ORDER BY m.conversation_id, m.persona_id, m.created_at, m.rowid
        """,
        chunk,
    )
    wanted = set(chunk)
    links: dict[str, list[tuple[str, int]]] = {}
    for index, row in enumerate(rows):
        if row[0] not in wanted:
            continue
        near: list[str | None] = []
        for offset in (-1, 1, -2, 2):
            other = index + offset
            same = 0 <= other < len(rows) and rows[other][1] == row[1] and rows[other][2] == row[2]
            near.append(rows[other][0] if same else None)
        links[row[0]] = _linked(near)
    return links


# The nearest memories before and after in store order (rowid), of the same persona and also
# without a conversation: each an index seek on memories_sitting (persona_id, then rowid).
_STORE_ORDER = """
    SELECT me.id, me.created_at,
        (SELECT o.id || ' ' || o.created_at FROM memories o INDEXED BY memories_sitting
            WHERE {same} AND o.rowid < me.rowid ORDER BY o.rowid DESC LIMIT 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o INDEXED BY memories_sitting
            WHERE {same} AND o.rowid > me.rowid ORDER BY o.rowid LIMIT 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o INDEXED BY memories_sitting
            WHERE {same} AND o.rowid < me.rowid ORDER BY o.rowid DESC LIMIT 1 OFFSET 1),
        (SELECT o.id || ' ' || o.created_at FROM memories o INDEXED BY memories_sitting
            WHERE {same} AND o.rowid > me.rowid ORDER BY o.rowid LIMIT 1 OFFSET 1)
    FROM memories me WHERE me.id IN ({marks}) AND me.conversation_id IS NULL
""".format(
    same="o.persona_id = me.persona_id AND o.archived_at IS NULL AND o.conversation_id IS NULL",
    marks="{marks}",
)


async def _in_store_order(db: Store, chunk: list[str]) -> dict[str, list[tuple[str, int]]]:
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
