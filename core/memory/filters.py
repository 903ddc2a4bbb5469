"""Which memories a query may consider, as SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.access.policy import memory_visible_sql
from core.access.principal import acting
from core.clock import aware, iso
from core.memory.models import Kind
from core.memory.timewords import parse_when

__all__ = ["LEXICAL_ROWS", "MemoryFilter", "SearchOptions", "persona_clause", "search_filter"]

LEXICAL_ROWS = 2_500  # most rows a word search scores (see MemoryService._lexical)


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
    # Only memories the acting principal wrote itself (an admin: all): what it may reinforce.
    authored_only: bool = False
    # Leave out what stopped being true by this time (ISO; superseded or ended memories); None: keep.
    true_at: str | None = None
    # Only what was true at this time (ISO): started by then and not ended by then ("as of").
    valid_at: str | None = None

    def sql(self, alias: str = "m", probe: bool = False) -> tuple[str, list[Any]]:
        """A WHERE clause (without the keyword) and its parameters. With `probe`, the clause only
        checks rows another constraint already chose (ids, an FTS match, the pending index): its
        columns are written `+m.column`, which keeps SQLite from scanning a persona's memories
        through memories_persona instead. Only memories the acting principal may see pass
        (policy.py); for an admin the clause is as it always was."""
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
        if self.true_at is not None:
            clauses.append(f"({alias}.valid_to IS NULL OR {alias}.valid_to > ?)")
            params.append(self.true_at)
        if self.valid_at is not None:
            clauses.append(f"coalesce({alias}.valid_from, {alias}.created_at) <= ?")
            clauses.append(f"({alias}.valid_to IS NULL OR {alias}.valid_to > ?)")
            params.extend([self.valid_at, self.valid_at])
        seen, seen_params = memory_visible_sql(alias)
        if seen:
            clauses.append(seen)
            params.extend(seen_params)
            if self.authored_only:
                clauses.append(f"{alias}.created_by = ?")
                params.append(acting().name)
        return " AND ".join(clauses), params


def persona_clause(persona_id: str | None, column: str = "persona_id") -> tuple[str, list[Any]]:
    """`AND <column> = ?` with its parameter for one persona, or nothing for all of them."""
    return (f"AND {column} = ?", [persona_id]) if persona_id else ("", [])


@dataclass(frozen=True)
class SearchOptions:
    """Filters and size of one search."""

    n_results: int = 10
    kinds: tuple[Kind, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_importance: float | None = None
    include_shared: bool = False
    include_witnessed: bool = False  # others' memories the persona was present for or told about
    reinforce: bool = False  # count the persona's own results as recalled
    lexical_rows: int = LEXICAL_ROWS  # most rows the word search scores (fewer: faster, coarser)
    include_superseded: bool = False  # also what stopped being true (validity.py)
    as_of: datetime | None = None  # only what was true then
    when: str | None = None  # time words for when it happened (timewords.py)


def search_filter(persona_id: str, options: SearchOptions, now: datetime) -> MemoryFilter:
    """A search's filters; `when` narrows since/until; only what is true now (or at as_of)."""
    since, until = options.since, options.until
    if options.when is not None:
        start, end = parse_when(options.when, now)
        since, until = max(since or start, start), min(until or end, end - timedelta(microseconds=1))
    as_of = aware(options.as_of, "as_of")
    return MemoryFilter(
        persona_id=persona_id,
        include_others_shared=options.include_shared,
        include_witnessed=options.include_witnessed,
        kinds=options.kinds,
        since=since,
        until=until,
        min_importance=options.min_importance,
        true_at=None if options.include_superseded or as_of else iso(now),
        valid_at=iso(as_of) if as_of else None,
    )
