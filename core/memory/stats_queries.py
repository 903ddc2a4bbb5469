"""memory_stats and memory_shared_stats: counts straight from SQLite."""

from __future__ import annotations

from collections import Counter

from core.access.policy import also, memory_visible_sql
from core.memory.models import MemoryStats, SharedStats
from core.memory.text import terms
from core.store import Store

__all__ = ["memory_stats", "shared_stats"]

_TOP_SHARED = 10


async def memory_stats(db: Store, model_id: str | None, persona_id: str | None) -> MemoryStats:
    """Totals by persona, kind and visibility; averages; what lacks a vector of `model_id` or an
    index entry. Only memories the acting principal may see are counted."""
    scope, params = ("persona_id = ?", [persona_id]) if persona_id else ("TRUE", [])
    seen, seen_params = memory_visible_sql("memories")
    if seen:
        scope, params = f"{scope} AND {seen}", [*params, *seen_params]
    live = f"archived_at IS NULL AND {scope}"

    async def grouped(column: str) -> dict[str, int]:
        rows = await db.fetch_all(
            f"SELECT {column}, count(*) FROM memories WHERE {live} GROUP BY {column} ORDER BY {column}",
            params,
        )
        return {row[0]: row[1] for row in rows}

    row = await db.fetch_one(
        f"SELECT count(*), avg(importance), avg(strength), sum(pinned), "
        f"count(*) FILTER (WHERE embedding_model IS NOT ?), count(*) - count(indexed_at) "
        f"FROM memories WHERE {live}",
        (model_id, *params),
    )
    assert row is not None
    archived = await db.scalar(
        f"SELECT count(*) FROM memories WHERE archived_at IS NOT NULL AND {scope}", params
    )
    return MemoryStats(
        persona_id=persona_id,
        total=row[0],
        archived=archived,
        by_persona=await grouped("persona_id"),
        by_kind=await grouped("kind"),
        by_visibility=await grouped("visibility"),
        average_importance=None if row[1] is None else round(row[1], 6),
        average_strength=None if row[2] is None else round(row[2], 6),
        pinned=row[3] or 0,
        embedding_model=model_id,
        unembedded=row[4] or 0,
        index_lag=row[5] or 0,
    )


async def shared_stats(db: Store) -> SharedStats:
    """Shared and public counts by persona, and what shared memories are about (of the memories
    the acting principal may see)."""
    seen, params = memory_visible_sql("memories")
    seen = also(seen)
    rows = await db.fetch_all(
        "SELECT persona_id, visibility, count(*) FROM memories WHERE archived_at IS NULL "
        f"AND visibility != 'private'{seen} GROUP BY persona_id, visibility ORDER BY persona_id",
        params,
    )
    by_persona: dict[str, dict[str, int]] = {}
    for persona_id, visibility, count in rows:
        by_persona.setdefault(persona_id, {"shared": 0, "public": 0})[visibility] = count
    subjects = await db.fetch_all(
        "SELECT subject, count(*) AS n FROM memories "
        f"WHERE archived_at IS NULL AND visibility != 'private'{seen} "
        "AND subject IS NOT NULL GROUP BY subject ORDER BY n DESC, subject LIMIT ?",
        (*params, _TOP_SHARED),
    )
    recent = await db.fetch_all(
        f"SELECT content FROM memories WHERE archived_at IS NULL AND visibility != 'private'{seen} "
        "ORDER BY created_at DESC LIMIT 2000",
        params,
    )
    words = Counter(word for row in recent for word in terms(row[0]))
    return SharedStats(
        by_persona=by_persona,
        total_shared=sum(v["shared"] for v in by_persona.values()),
        total_public=sum(v["public"] for v in by_persona.values()),
        top_subjects=[{"subject": row[0], "count": row[1]} for row in subjects],
        top_terms=[{"term": word, "count": count} for word, count in words.most_common(_TOP_SHARED)],
    )
