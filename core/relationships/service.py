"""RelationshipService: the relationship_* operations over the relationships and interactions tables.

A party is a persona id or `user:<id>` for a human user. A pair is stored once, as (party_a,
party_b) with party_a < party_b, so (a, b) and (b, a) read and write the same row.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from core.access import acting
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
from core.relationships.repository import RelationshipRepository, pair_key
from core.store import StatusRepository, Store
from core.store.port import Row

__all__ = ["USER_PREFIX", "RelationshipService", "user_party"]

USER_PREFIX = "user:"
_MAX_USER_ID = 128
_MAX_COMPARED = 60  # relationship_stats compares every pair of up to this many personas
_SHOWN_PAIRS = 3


_Row = Row | Mapping[str, Any]  # a relationships row, as read in a transaction or outside


def user_party(user_id: str | None) -> str:
    """The party naming a user (the unnamed user is `user:default`)."""
    return f"{USER_PREFIX}{user_id or 'default'}"


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

    def __init__(self, db: Store, clock: Clock, personas: PersonaService) -> None:
        self._db = db
        self._clock = clock
        self._personas = personas
        self._status = StatusRepository(db)
        self._repo = RelationshipRepository(db)

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
        low, high = pair_key(a, b)
        async with self._db.transaction() as tx:
            row = await RelationshipRepository.row_in(tx, a, b)
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
            await RelationshipRepository.upsert(tx, values)
            await RelationshipRepository.add_interaction(
                tx,
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
                ),
            )
            row = await RelationshipRepository.row_in(tx, a, b)
        return _relationship(a, b, row)

    async def merge_in(self, a: str, b: str, values: Mapping[str, Any]) -> bool:
        """Write a relationship brought from another machine (type, type_locked, affinity, trust,
        familiarity, interaction_count, last_interaction_at) unless the pair's relationship here
        saw an interaction at least as recent. Returns whether it was written."""
        low, high = pair_key(a, b)
        now = iso(self._clock.now())
        last = values.get("last_interaction_at")
        async with self._db.transaction() as tx:
            row = await RelationshipRepository.row_in(tx, a, b)
            if row is not None:
                here = parse_iso(row["last_interaction_at"]) if row["last_interaction_at"] else None
                if last is None or (here is not None and here >= last):
                    return False
            await RelationshipRepository.replace(
                tx,
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
        rows, _ = await self._repo.of_party(persona_id)
        return [
            _relationship(persona_id, row["party_b"] if row["party_a"] == persona_id else row["party_a"], row)
            for row in rows
        ]

    async def list(self, persona_id: str, limit: int = 50) -> RelationshipList:
        """A party's relationships, strongest (|affinity| x familiarity) first."""
        party = await self.party(persona_id, "persona_id")
        rows, total = await self._repo.of_party(party, limit)
        items = [
            _relationship(party, row["party_b"] if row["party_a"] == party else row["party_a"], row)
            for row in rows
        ]
        return RelationshipList(persona_id=party, relationships=items, total_count=total)

    async def history(self, a: str, b: str, limit: int = 20) -> HistoryResult:
        """The pair's interactions, newest first."""
        a, b = await self.pair(a, b)
        rows, total = await self._repo.interactions(a, b, limit)
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
            total_count=total,
        )

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
        return compatibility(first, second, bond, await self._repo.last_summary(first.id, second.id))

    async def stats(self) -> RelationshipStats:
        """Counts by type, interactions, and the most and least compatible persona pairs (of the
        relationships and personas the acting principal may see)."""
        by_type, with_users, interactions = await self._repo.counts()
        personas = (await self._personas.list_personas())[:_MAX_COMPARED]
        bonds = {(row["party_a"], row["party_b"]): _bond(row) for row in await self._repo.visible()}
        scores = []
        for first, second in itertools.combinations(personas, 2):
            key = (first.id, second.id) if first.id < second.id else (second.id, first.id)
            result = compatibility(first, second, bonds.get(key))
            scores.append(PairScore(persona_a=first.id, persona_b=second.id, score=result.score))
        scores.sort(key=lambda pair: (-pair.score, pair.persona_a, pair.persona_b))
        return RelationshipStats(
            relationships=sum(by_type.values()),
            by_type=by_type,
            with_users=with_users,
            interactions_total=interactions,
            most_compatible=scores[:_SHOWN_PAIRS],
            least_compatible=list(reversed(scores[-_SHOWN_PAIRS:])) if len(scores) > _SHOWN_PAIRS else [],
            personas_compared=len(personas),
        )
