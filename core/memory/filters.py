"""Which memories a query may consider, as SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import iso

__all__ = ["MemoryFilter", "persona_clause"]


@dataclass(frozen=True)
class MemoryFilter:
    """Which live memories a search may consider: applied in SQL before anything is ranked."""

    persona_id: str
    include_others_shared: bool = False
    include_witnessed: bool = False  # others' memories this persona was present for or told about
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_importance: float | None = None

    def sql(self, alias: str = "m", probe: bool = False) -> tuple[str, list[Any]]:
        """A WHERE clause (without the keyword) and its parameters. With `probe`, the clause only
        checks rows another constraint already chose (ids, an FTS match, the pending index): its
        columns are written `+m.column`, which keeps SQLite from scanning a persona's memories
        through memories_persona instead."""
        alias = f"+{alias}" if probe else alias
        clauses = [f"{alias}.archived_at IS NULL"]
        params: list[Any] = []
        whose = [f"{alias}.persona_id = ?"]
        params.append(self.persona_id)
        if self.include_others_shared:
            whose.append(f"{alias}.visibility IN ('shared', 'public')")
        if self.include_witnessed:
            whose.append(f"{alias}.id IN (SELECT memory_id FROM memory_witnesses WHERE persona_id = ?)")
            params.append(self.persona_id)
        clauses.append(whose[0] if len(whose) == 1 else f"({' OR '.join(whose)})")
        if self.kinds:
            clauses.append(f"{alias}.kind IN ({', '.join('?' * len(self.kinds))})")
            params.extend(self.kinds)
        if self.since is not None:
            clauses.append(f"{alias}.created_at >= ?")
            params.append(iso(self.since))
        if self.until is not None:
            clauses.append(f"{alias}.created_at <= ?")
            params.append(iso(self.until))
        if self.min_importance is not None:
            clauses.append(f"{alias}.importance >= ?")
            params.append(self.min_importance)
        return " AND ".join(clauses), params


def persona_clause(persona_id: str | None, column: str = "persona_id") -> tuple[str, list[Any]]:
    """`AND <column> = ?` with its parameter for one persona, or nothing for all of them."""
    return (f"AND {column} = ?", [persona_id]) if persona_id else ("", [])
