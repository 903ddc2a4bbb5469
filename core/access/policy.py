"""The access rule, in one place: which personas and memories a principal may see and change.

- An admin (the local owner, or a token made with --admin) may do everything.
- A persona belongs to the principal that made it: its owner may do everything with it.
- A grant gives another principal `read` (see the persona, chat with it, keep its own memories of
  it) or `write` (also change the persona's card, mood and relationships with other personas).
- The shipped personas (no owner) are open to every principal for reading and chat, unless the
  server's PERSONA_MCP_SHIPPED_PERSONAS=admins keeps them to admins (and grants).
- Relationships: another principal sees those between personas it may read and between those and
  itself (`user:<its name>`), never another user's.
- Conversations belong to the principal that started them.
- Memories: an admin or the persona's owner sees all of a persona's memories. Anyone else who may
  read the persona sees the memories it stored itself, the persona's knowledge (what its owner
  stored) and public ones: what one principal tells a persona is not shown to another.

What a principal may not see does not exist for it: lookups answer NotFound exactly as for an id
that names nothing, and lists, counts and searches leave it out."""

from __future__ import annotations

from typing import Any, Literal

from core.access.principal import Principal, acting

__all__ = [
    "LEVELS",
    "Level",
    "also",
    "conversation_visible_sql",
    "level_of",
    "memory_visible_sql",
    "persona_readable_sql",
    "rank",
    "relationship_visible_sql",
]

Level = Literal["read", "write", "own"]
LEVELS: tuple[Level, ...] = ("read", "write", "own")


def also(condition: str) -> str:
    """`condition` to append to a WHERE clause (" AND ..."), or nothing for the empty condition
    the *_sql rules below give an admin."""
    return f" AND {condition}" if condition else ""


def rank(level: Level | None) -> int:
    """0 for no access, then read < write < own."""
    return 0 if level is None else LEVELS.index(level) + 1


def level_of(who: Principal, owner: str | None, grant: Level | None) -> Level | None:
    """What `who` may do with a persona owned by `owner` on which it holds `grant` (None: none)."""
    if who.admin or (owner is not None and owner == who.name):
        return "own"
    if grant is not None:
        return grant
    if owner is None and who.sees_shipped:
        return "read"
    return None


def persona_readable_sql(column: str, who: Principal | None = None) -> tuple[str, list[Any]]:
    """A condition on `column` (a persona id) that holds for the personas `who` (default: the
    acting principal) may read; ("", []) for an admin, who may read them all."""
    who = who or acting()
    if who.admin:
        return "", []
    shipped = " OR owner IS NULL" if who.sees_shipped else ""
    return (
        f"{column} IN (SELECT id FROM personas WHERE owner = ?{shipped} "
        "UNION SELECT persona_id FROM persona_grants WHERE principal = ?)",
        [who.name, who.name],
    )


def memory_visible_sql(alias: str, who: Principal | None = None) -> tuple[str, list[Any]]:
    """A condition on memories `alias` that holds for the memories `who` (default: the acting
    principal) may see; ("", []) for an admin. `alias` may carry SQLite's `+` (no index) prefix."""
    who = who or acting()
    if who.admin:
        return "", []
    readable, params = persona_readable_sql(f"{alias}.persona_id", who)
    bare = alias.lstrip("+")
    return (
        f"{readable} AND ({alias}.created_by = ? OR {alias}.visibility = 'public' "
        f"OR (SELECT owner FROM personas WHERE id = {bare}.persona_id) IN ({bare}.created_by, ?))",
        [*params, who.name, who.name],
    )


def _party_visible_sql(column: str, who: Principal) -> tuple[str, list[Any]]:
    """A condition on `column` (a relationship party: a persona id or `user:<id>`) that holds for
    the parties `who` may see: personas it may read, and itself as a user."""
    readable, params = persona_readable_sql(column, who)
    return f"({column} = ? OR ({column} NOT LIKE 'user:%' AND {readable}))", [f"user:{who.name}", *params]


def relationship_visible_sql(prefix: str = "", who: Principal | None = None) -> tuple[str, list[Any]]:
    """A condition on a relationships (or interactions) row, its columns written `{prefix}party_a`
    and `{prefix}party_b`: both parties are ones `who` may see; ("", []) for an admin."""
    who = who or acting()
    if who.admin:
        return "", []
    seen_a, params_a = _party_visible_sql(f"{prefix}party_a", who)
    seen_b, params_b = _party_visible_sql(f"{prefix}party_b", who)
    return f"{seen_a} AND {seen_b}", [*params_a, *params_b]


def conversation_visible_sql(alias: str, who: Principal | None = None) -> tuple[str, list[Any]]:
    """A condition on conversations `alias`: those `who` started; ("", []) for an admin."""
    who = who or acting()
    if who.admin:
        return "", []
    return f"{alias}.created_by = ?", [who.name]
