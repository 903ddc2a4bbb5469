"""Beliefs over time: which memories a new one replaces, checked before anything is written.

A memory is true from `valid_from` (default: when it happened) until `valid_to` (open while it
still is). Storing one with `supersedes` closes the others' intervals at its own start and points
their `superseded_by` at it; memory_supersede does the same for two stored memories, and
memory_update(valid_to='open') undoes either. Nothing is deleted: searches leave out what stopped
being true unless asked (include_superseded), and `as_of` answers with what was true then."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from core.access import acting
from core.clock import Clock, aware, iso
from core.errors import InvalidInput, NotFound
from core.memory.models import Memory
from core.memory.repository import MemoryRepository
from core.models import Persona
from core.personas import PersonaService
from core.store import Store

__all__ = ["replaceable", "supersede_stored", "valid_to_columns"]


async def replaceable(
    repo: MemoryRepository, personas: PersonaService, persona: Persona, memory_id: str, argument: str
) -> Memory:
    """The memory `memory_id`, if a new memory of `persona` may replace it: one the caller may
    see (else NotFound, as for any id), of the same persona, and one it may change."""
    memory = await repo.get(memory_id)
    if memory is None:
        raise NotFound(argument, memory_id, "Name memories by the ids memory_store or memory_search gave.")
    if memory.persona_id != persona.id:
        raise InvalidInput(
            argument,
            memory_id,
            f"That memory is {memory.persona_id}'s; a memory replaces only its own persona's.",
        )
    await personas.access.require_change(persona, memory.created_by, "superseding another principal's memory")
    return memory


def valid_to_columns(value: datetime | Literal["open"], memory: Memory) -> dict[str, object]:
    """The columns memory_update sets for `valid_to`: an end (not before the memory's start), or
    'open' to make it true again (undoing a supersession)."""
    if value == "open":
        return {"valid_to": None, "superseded_by": None}
    aware(value, "valid_to")
    if memory.valid_from is not None and value < memory.valid_from:
        raise InvalidInput(
            "valid_to",
            iso(value),
            f"It must not come before the memory's valid_from, {iso(memory.valid_from)}.",
        )
    return {"valid_to": iso(value)}


async def supersede_stored(
    db: Store, repo: MemoryRepository, personas: PersonaService, clock: Clock, old_id: str, new_id: str
) -> None:
    """memory_supersede: `old_id` stopped being true when `new_id` began."""
    new = await repo.get(new_id)
    if new is None:
        raise NotFound("new_id", new_id, "Name memories by the ids memory_store or memory_search gave.")
    persona = await personas.get(new.persona_id)
    old = await replaceable(repo, personas, persona, old_id, "old_id")
    if old.id == new.id:
        raise InvalidInput("new_id", new_id, "A memory cannot replace itself: name two different memories.")
    if old.archived_at is not None or new.archived_at is not None:
        raise InvalidInput(
            "old_id", old_id, "Both memories must be live: memory_restore an archived one first."
        )
    start = new.valid_from or new.created_at
    async with db.transaction() as tx:
        await MemoryRepository.supersede(tx, [old.id], new.id, iso(start), iso(clock.now()), acting().name)
