"""RelationshipService: the relationship_* operations over the relationships and interactions tables.

A party is a persona id or `user:<id>` for a human user. A pair is stored once, as (party_a,
party_b) with party_a < party_b, so (a, b) and (b, a) read and write the same row.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiosqlite

from core.access import acting
from core.access.policy import relationship_visible_sql
from core.clock import Clock, iso, parse_iso
from core.errors import InvalidInput, NotFound
from core.models import Persona
from core.personas import PersonaService
from core.relationships.compatibility import compatibility
from core.relationships.dynamics import NEUTRAL, Bond, apply
from core.relationships.models import (
    Compatibility,
    HistoryResult,
    Interaction,
    InteractionInput,
    PairScore,
    Relationship,
    RelationshipList,
    RelationshipStats,
)
from core.store import Database, StatusRepository

__all__ = ["USER_PREFIX", "RelationshipService", "user_party"]

USER_PREFIX = "user:"
_MAX_USER_ID = 128
_MAX_COMPARED = 60  # relationship_stats compares every pair of up to this many personas
_SHOWN_PAIRS = 3


_Row = aiosqlite.Row | Mapping[str, Any]  # a relationships row, as read in a transaction or outside


def user_party(user_id: str | None) -> str:
    """The party naming a user (the unnamed user is `user:default`)."""
    return f"{USER_PREFIX}{user_id or 'default'}"


def _seen() -> tuple[str, list[Any]]:
    """`AND` the condition that both parties of a row are ones the acting principal may see
    (policy.py), or nothing for an admin."""
    seen, params = relationship_visible_sql()
    return (f" AND {seen}", params) if seen else ("", [])


def _bond(row: _Row | None) -> Bond | None:
    if row is None:
        return None
    return Bond(
        type=row["type"],
        affinity=row["affinity"],
        trust=row["trust"],
        familiarity=row["familiarity"],
        interaction_count=row["interaction_count"],
        type_locked=bool(row["type_locked"]),
    )


def _relationship(a: str, b: str, row: _Row | None) -> Relationship:
    bond = _bond(row) or NEUTRAL
    return Relationship(
        persona_a=a,
        persona_b=b,
        type=bond.type,
        type_locked=bond.type_locked,
        affinity=bond.affinity,
        trust=bond.trust,
        familiarity=bond.familiarity,
        interaction_count=bond.interaction_count,
        last_interaction_at=parse_iso(row["last_interaction_at"])
        if row is not None and row["last_interaction_at"]
        else None,
        met=row is not None,
    )


class RelationshipService:
    """Relationships between personas, and between personas and users."""

    def __init__(self, db: Database, clock: Clock, personas: PersonaService) -> None:
        self._db = db
        self._clock = clock
        self._personas = personas
        self._status = StatusRepository(db)

    async def party(self, value: str, argument: str) -> str:
        """A checked party: a live persona's id, or `user:<id>`."""
        if value.startswith(USER_PREFIX):
            user = value[len(USER_PREFIX) :]
            if not user.strip() or len(user) > _MAX_USER_ID:
                raise InvalidInput(
                    argument, value, f"Write a user as 'user:<id>' with an id of 1-{_MAX_USER_ID} characters."
                )
            who = acting()
            if not who.admin and user != who.name:
                self._personas.access.denied("user", value)
                raise InvalidInput(
                    argument, value, f"The only user you may name is yourself, 'user:{who.name}'."
                )
            return value
        try:
            return (await self._personas.get_live(value, argument)).id
        except NotFound as exc:
            exc.message += " A user is written 'user:<id>'."
            exc.args = (exc.message,)
            raise

    async def pair(self, a: str, b: str) -> tuple[str, str]:
        """Both parties checked, and different."""
        first, second = await self.party(a, "persona_a"), await self.party(b, "persona_b")
        if first == second:
            raise InvalidInput(
                "persona_b",
                b,
                "A relationship needs two different parties; name someone other than persona_a.",
            )
        return first, second

    @staticmethod
    async def _row_in(tx: aiosqlite.Connection, a: str, b: str) -> aiosqlite.Row | None:
        """The pair's row as the write transaction sees it (reads outside one use
        StatusRepository.relationship, the lookup context assembly and importance scoring share)."""
        async with tx.execute(
            "SELECT * FROM relationships WHERE party_a = ? AND party_b = ?", tuple(sorted((a, b)))
        ) as cursor:
            return await cursor.fetchone()

    async def bond(self, a: str, b: str) -> Bond | None:
        """The stored values of a pair (no checks), or None when they never met."""
        return _bond(await self._status.relationship(a, b))

    async def get(self, a: str, b: str) -> Relationship:
        """The relationship of a pair; a neutral stranger one (not stored) when they never met."""
        a, b = await self.pair(a, b)
        return _relationship(a, b, await self._status.relationship(a, b))

    async def update(
        self, a: str, b: str, interaction: InteractionInput, type_: str | None = None
    ) -> Relationship:
        """Apply one interaction (and an explicit type, or 'auto' to let interactions decide again)."""
        a, b = await self.pair(a, b)
        # Its own relationship with a persona it may read is the caller's to record; between two
        # personas (both visible, or pair() said they do not exist) it must be able to write one.
        if f"{USER_PREFIX}{acting().name}" not in (a, b) and not acting().admin:
            personas = [await self._personas.get(p) for p in (a, b) if not p.startswith(USER_PREFIX)]
            levels = [await self._personas.access.level(p) for p in personas]
            if "write" not in levels and "own" not in levels:
                await self._personas.access.require(personas[0], "write", "relationship_update")
        return await self.record(a, b, interaction, type_)

    async def record(
        self, a: str, b: str, interaction: InteractionInput, type_: str | None = None
    ) -> Relationship:
        """`update` for parties already checked (persona_chat's path)."""
        now = iso(self._clock.now())
        low, high = sorted((a, b))
        async with self._db.transaction() as tx:
            row = await self._row_in(tx, a, b)
            bond = _bond(row) or NEUTRAL
            if type_ == "auto":
                bond = replace(bond, type_locked=False)
            elif type_ is not None:
                bond = replace(bond, type=type_, type_locked=True)
            bond = apply(bond, interaction.kind, interaction.quality)
            values = {
                "a": low,
                "b": high,
                "type": bond.type,
                "locked": int(bond.type_locked),
                "affinity": bond.affinity,
                "trust": bond.trust,
                "familiarity": bond.familiarity,
                "count": bond.interaction_count,
                "now": now,
            }
            await tx.execute(
                "INSERT INTO relationships (party_a, party_b, type, type_locked, affinity, trust,"
                " familiarity, interaction_count, last_interaction_at, created_at, updated_at, updated_by)"
                " VALUES (:a, :b, :type,"
                " :locked, :affinity, :trust, :familiarity, :count, :now, :now, :now, :by)"
                " ON CONFLICT (party_a, party_b) DO UPDATE SET type = :type, type_locked = :locked,"
                " affinity = :affinity, trust = :trust, familiarity = :familiarity,"
                " interaction_count = :count, last_interaction_at = :now, updated_at = :now,"
                " updated_by = :by",
                {**values, "by": acting().name},
            )
            await tx.execute(
                "INSERT INTO interactions (party_a, party_b, kind, quality, summary, created_at, type_after,"
                " affinity_after, trust_after, familiarity_after, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    low,
                    high,
                    interaction.kind,
                    interaction.quality,
                    interaction.summary,
                    now,
                    bond.type,
                    bond.affinity,
                    bond.trust,
                    bond.familiarity,
                    acting().name,
                ),
            )
            row = await self._row_in(tx, a, b)
        return _relationship(a, b, row)

    async def merge_in(self, a: str, b: str, values: Mapping[str, Any]) -> bool:
        """Write a relationship brought from another machine (type, type_locked, affinity, trust,
        familiarity, interaction_count, last_interaction_at) unless the pair's relationship here
        saw an interaction at least as recent. Returns whether it was written."""
        low, high = sorted((a, b))
        now = iso(self._clock.now())
        last = values.get("last_interaction_at")
        async with self._db.transaction() as tx:
            row = await self._row_in(tx, a, b)
            if row is not None:
                here = parse_iso(row["last_interaction_at"]) if row["last_interaction_at"] else None
                if last is None or (here is not None and here >= last):
                    return False
            await tx.execute(
                "INSERT INTO relationships (party_a, party_b, type, type_locked, affinity, trust,"
                " familiarity, interaction_count, last_interaction_at, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
                " ON CONFLICT (party_a, party_b) DO UPDATE SET type = ?3, type_locked = ?4,"
                " affinity = ?5, trust = ?6, familiarity = ?7, interaction_count = ?8,"
                " last_interaction_at = ?9, updated_at = ?10",
                (
                    low,
                    high,
                    values["type"],
                    int(bool(values.get("type_locked"))),
                    values["affinity"],
                    values["trust"],
                    values["familiarity"],
                    values["interaction_count"],
                    iso(last) if last else None,
                    now,
                ),
            )
        return True

    async def all_of(self, persona_id: str) -> list[Relationship]:
        """Every stored relationship of a persona the acting principal may see (for export), other
        party as persona_b."""
        seen, params = _seen()
        rows = await self._db.fetch_all(
            f"SELECT * FROM relationships WHERE (party_a = ? OR party_b = ?){seen} ORDER BY party_a, party_b",
            (persona_id, persona_id, *params),
        )
        return [
            _relationship(persona_id, row["party_b"] if row["party_a"] == persona_id else row["party_a"], row)
            for row in rows
        ]

    async def list(self, persona_id: str, limit: int = 50) -> RelationshipList:
        """A party's relationships, strongest (|affinity| x familiarity) first."""
        party = await self.party(persona_id, "persona_id")
        seen, params = _seen()
        where = f"WHERE (party_a = ? OR party_b = ?){seen}"
        rows = await self._db.fetch_all(
            f"SELECT * FROM relationships {where} "
            "ORDER BY abs(affinity) * familiarity DESC, interaction_count DESC, party_a, party_b LIMIT ?",
            (party, party, *params, limit),
        )
        total = await self._db.scalar(f"SELECT count(*) FROM relationships {where}", (party, party, *params))
        items = [
            _relationship(party, row["party_b"] if row["party_a"] == party else row["party_a"], row)
            for row in rows
        ]
        return RelationshipList(persona_id=party, relationships=items, total_count=int(total))

    async def history(self, a: str, b: str, limit: int = 20) -> HistoryResult:
        """The pair's interactions, newest first."""
        a, b = await self.pair(a, b)
        key = tuple(sorted((a, b)))
        rows = await self._db.fetch_all(
            "SELECT * FROM interactions WHERE party_a = ? AND party_b = ? ORDER BY id DESC LIMIT ?",
            (*key, limit),
        )
        total = await self._db.scalar(
            "SELECT count(*) FROM interactions WHERE party_a = ? AND party_b = ?", key
        )
        return HistoryResult(
            persona_a=a,
            persona_b=b,
            interactions=[
                Interaction(
                    kind=row["kind"],
                    quality=row["quality"],
                    summary=row["summary"],
                    created_at=parse_iso(row["created_at"]),
                    type_after=row["type_after"],
                    affinity_after=row["affinity_after"],
                    trust_after=row["trust_after"],
                    familiarity_after=row["familiarity_after"],
                )
                for row in rows
            ],
            total_count=int(total),
        )

    async def _last_summary(self, a: str, b: str) -> str | None:
        value = await self._db.scalar(
            "SELECT summary FROM interactions WHERE party_a = ? AND party_b = ? AND summary IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            tuple(sorted((a, b))),
        )
        return str(value) if value is not None else None

    async def _persona(self, value: str, argument: str) -> Persona:
        if value.startswith(USER_PREFIX):
            raise InvalidInput(
                argument,
                value,
                "Compatibility compares two personas (users have no traits); name a persona id.",
            )
        return await self._personas.get_live(value, argument)

    async def compatibility(self, a: str, b: str) -> Compatibility:
        """How well two personas are likely to get on, and what would help."""
        first, second = await self._persona(a, "persona_a"), await self._persona(b, "persona_b")
        if first.id == second.id:
            raise InvalidInput("persona_b", b, "Compare two different personas.")
        bond = await self.bond(first.id, second.id)
        return compatibility(first, second, bond, await self._last_summary(first.id, second.id))

    async def stats(self) -> RelationshipStats:
        """Counts by type, interactions, and the most and least compatible persona pairs (of the
        relationships and personas the acting principal may see)."""
        seen, params = _seen()
        by_type = {
            row["type"]: int(row["n"])
            for row in await self._db.fetch_all(
                f"SELECT type, count(*) AS n FROM relationships WHERE 1{seen} GROUP BY type "
                "ORDER BY n DESC, type",
                params,
            )
        }
        with_users = await self._db.scalar(
            "SELECT count(*) FROM relationships WHERE (party_a LIKE 'user:%' OR party_b LIKE 'user:%')"
            f"{seen}",
            params,
        )
        interactions = await self._db.scalar(f"SELECT count(*) FROM interactions WHERE 1{seen}", params)
        personas = (await self._personas.list_personas())[:_MAX_COMPARED]
        bonds = {
            (row["party_a"], row["party_b"]): _bond(row)
            for row in await self._db.fetch_all(f"SELECT * FROM relationships WHERE 1{seen}", params)
        }
        scores = []
        for first, second in itertools.combinations(personas, 2):
            key = (first.id, second.id) if first.id < second.id else (second.id, first.id)
            result = compatibility(first, second, bonds.get(key))
            scores.append(PairScore(persona_a=first.id, persona_b=second.id, score=result.score))
        scores.sort(key=lambda pair: (-pair.score, pair.persona_a, pair.persona_b))
        return RelationshipStats(
            relationships=sum(by_type.values()),
            by_type=by_type,
            with_users=int(with_users),
            interactions_total=int(interactions),
            most_compatible=scores[:_SHOWN_PAIRS],
            least_compatible=list(reversed(scores[-_SHOWN_PAIRS:])) if len(scores) > _SHOWN_PAIRS else [],
            personas_compared=len(personas),
        )
