"""relationship_* tools: thin wrappers over RelationshipService."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.relationships import (
    Compatibility,
    HistoryResult,
    InteractionInput,
    Relationship,
    RelationshipList,
    RelationshipStats,
)
from core.relationships.models import RelationshipType
from persona_mcp.session import core_of
from persona_mcp.tools import READ_ONLY, WRITE, ToolDef, respond

NAMESPACE = "relationship"

Party = Annotated[
    str,
    Field(
        min_length=1,
        max_length=140,
        description="Persona id, or 'user:<id>' for a user.",
    ),
]
PersonaOnly = Annotated[str, Field(min_length=1, max_length=64, description="A persona id, e.g. 'aria'.")]


async def get(ctx: Context, persona_a: Party, persona_b: Party) -> Annotated[CallToolResult, Relationship]:
    """The relationship between two parties (the same whichever order they are named in). A pair
    that never interacted reads as a neutral stranger relationship (met=false); nothing is stored."""
    return respond(await core_of(ctx).relationships.get(persona_a, persona_b))


async def list_relationships(
    ctx: Context,
    persona_id: Party,
    limit: Annotated[int, Field(ge=1, le=500, description="Most relationships to return.")] = 50,
) -> Annotated[CallToolResult, RelationshipList]:
    """A persona's (or user's) relationships, strongest (|affinity| x familiarity) first."""
    return respond(await core_of(ctx).relationships.list(persona_id, limit))


async def update(
    ctx: Context,
    persona_a: Party,
    persona_b: Party,
    interaction: Annotated[InteractionInput, Field(description="What happened between them.")],
    type: Annotated[
        RelationshipType | Literal["auto"] | None,
        Field(
            description="Fix the type (interactions then keep it), or 'auto' to let interactions "
            "decide again, as they do by default."
        ),
    ] = None,
) -> Annotated[CallToolResult, Relationship]:
    """Apply one interaction: affinity follows its quality, trust rises slowly and falls fast,
    familiarity grows; recorded in the pair's history."""
    result = await core_of(ctx).relationships.update(persona_a, persona_b, interaction, type)
    return respond(result)


async def compatibility(
    ctx: Context, persona_a: PersonaOnly, persona_b: PersonaOnly
) -> Annotated[CallToolResult, Compatibility]:
    """How well two personas are likely to get on (0-1), from their Big Five traits, shared
    interests and knowledge, speaking styles and their history, with topics to try and to avoid."""
    return respond(await core_of(ctx).relationships.compatibility(persona_a, persona_b))


async def stats(ctx: Context) -> Annotated[CallToolResult, RelationshipStats]:
    """Relationships by type, interactions in total, and the most and least compatible persona pairs."""
    return respond(await core_of(ctx).relationships.stats())


async def history(
    ctx: Context,
    persona_a: Party,
    persona_b: Party,
    limit: Annotated[int, Field(ge=1, le=500, description="Most interactions to return.")] = 20,
) -> Annotated[CallToolResult, HistoryResult]:
    """The pair's interactions, newest first, each with where it left the relationship."""
    return respond(await core_of(ctx).relationships.history(persona_a, persona_b, limit))


TOOLS = (
    ToolDef("get", get, READ_ONLY),
    ToolDef("list", list_relationships, READ_ONLY),
    ToolDef("update", update, WRITE),
    ToolDef("compatibility", compatibility, READ_ONLY),
    ToolDef("stats", stats, READ_ONLY),
    ToolDef("history", history, READ_ONLY),
)
