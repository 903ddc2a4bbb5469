"""memory_* tools for beliefs over time: supersession, the entities a persona's memories mention,
and reflection (core/memory/validity.py, entities.py, reflection.py). One namespace, two modules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.memory import Memory
from core.memory.entities import EntityList, list_entities
from core.memory.reflection import ReflectResult
from core.memory.reflection import reflect as reflect_on
from persona_mcp.session import active_persona, core_of
from persona_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, OptionalPersonaId, ToolDef, respond

NAMESPACE = "memory"


async def supersede(
    ctx: Context,
    old_id: Annotated[str, Field(min_length=1, max_length=64, description="The memory no longer true.")],
    new_id: Annotated[str, Field(min_length=1, max_length=64, description="The memory that replaced it.")],
) -> Annotated[CallToolResult, Memory]:
    """Mark a memory no longer true from when another of its persona began (Sam moved). Nothing is
    deleted; memory_update(valid_to='open') undoes it. Returns the old memory."""
    return respond(await core_of(ctx).memories.supersede(old_id, new_id))


async def entities(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    limit: Annotated[int, Field(ge=1, le=500, description="Most entities to return.")] = 50,
) -> Annotated[CallToolResult, EntityList]:
    """The people, places and things a persona's memories mention (subjects and names), most
    mentioned first, with first and last mention and the facts about each that are true now."""
    core = core_of(ctx)
    return respond(
        await list_entities(core.db, core.personas, core.clock, persona_id, active_persona(ctx), limit)
    )


async def reflect(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    since: Annotated[
        datetime | None, Field(description="Episodes from this time (ISO-8601); default: the last 7 days.")
    ] = None,
) -> Annotated[CallToolResult, ReflectResult]:
    """Turn a persona's recent episodes into standing facts: for each subject or name two or more
    episodes share, its most specific sentence becomes a semantic memory with its sources. Known
    facts are reinforced, not repeated; contradictions are reported."""
    core = core_of(ctx)
    result = await reflect_on(
        core.db, core.personas, core.clock, core.memories, persona_id, active_persona(ctx), since
    )
    return respond(result)


TOOLS = (
    ToolDef("supersede", supersede, DESTRUCTIVE),
    ToolDef("entities", entities, READ_ONLY),
    ToolDef("reflect", reflect, WRITE),
)
