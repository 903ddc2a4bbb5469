"""memory_* tools for beliefs over time: supersession, the entities a persona's memories mention,
and reflection (core/memory/validity.py, entities.py, reflection.py). One namespace, two modules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.elicitation import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    ElicitationResult,
)
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from core.memory import Memory
from core.memory.entities import EntityList, list_entities
from core.memory.reflection import ReflectResult
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
        await list_entities(core.db, core.personas, core.clock, persona_id, await active_persona(ctx), limit)
    )


class ApplyChanges(BaseModel):
    """The user's answer to a reflection's proposed persona changes."""

    apply: bool = Field(description="Apply these changes to the persona.")


_NOT_ASKED: ElicitationResult[ApplyChanges] = CancelledElicitation()


Since = Annotated[
    datetime | None, Field(description="Episodes from this time (ISO-8601); default: the last 7 days.")
]


async def _ask(
    ctx: Context, persona_id: OptionalPersonaId = None, since: Since = None
) -> Elicit[ApplyChanges] | None:
    """Ask a client that can be asked whether to apply what reflection proposes for the persona."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return None
    plan = await core_of(ctx).reflector.plan(persona_id, await active_persona(ctx), since)
    if plan.proposal is None:
        return None
    changes = "\n".join(f"- {line}" for line in plan.proposal.summary)
    return Elicit(
        f"Reflecting on {plan.persona.name}'s memories suggests:\n{changes}\nApply them?", ApplyChanges
    )


async def reflect(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    since: Since = None,
    answer: Annotated[ElicitationResult[ApplyChanges], Resolve(_ask)] = _NOT_ASKED,
) -> Annotated[CallToolResult, ReflectResult]:
    """Turn a persona's recent episodes into standing facts with their sources (the belief model
    when Ollama answers, else rules). Known facts are reinforced, contradictions reported;
    persona changes it suggests are applied only if the user agrees when asked."""
    apply = None
    if isinstance(answer, AcceptedElicitation) and answer.data is not None:
        apply = answer.data.apply
    elif isinstance(answer, DeclinedElicitation):
        apply = False
    return respond(await core_of(ctx).reflector.reflect(persona_id, await active_persona(ctx), since, apply))


TOOLS = (
    ToolDef("supersede", supersede, DESTRUCTIVE),
    ToolDef("entities", entities, READ_ONLY),
    ToolDef("reflect", reflect, WRITE),
)
