"""emotional_* tools: thin wrappers over EmotionService."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from core.emotions import EmotionHistory
from core.models import EmotionalState
from persona_mcp.session import active_persona, core_of
from persona_mcp.tools import READ_ONLY, WRITE, OptionalPersonaId, ToolDef, respond

NAMESPACE = "emotional"

Unit = Annotated[float | None, Field(ge=0.0, le=1.0)]


class Deltas(BaseModel):
    """Changes to add to the present state (the result is clamped to each range)."""

    model_config = ConfigDict(extra="forbid")

    valence: float | None = Field(None, ge=-2.0, le=2.0, description="Change of valence.")
    arousal: float | None = Field(None, ge=-1.0, le=1.0, description="Change of arousal.")
    dominance: float | None = Field(None, ge=-1.0, le=1.0, description="Change of dominance.")
    energy: float | None = Field(None, ge=-1.0, le=1.0, description="Change of energy.")
    stress: float | None = Field(None, ge=-1.0, le=1.0, description="Change of stress.")


async def get_state(
    ctx: Context, persona_id: OptionalPersonaId = None
) -> Annotated[CallToolResult, EmotionalState]:
    """How a persona feels now: valence, arousal, dominance, energy, stress, a label and its
    baseline. Feelings drift back toward the baseline as time passes (computed when read)."""
    core = core_of(ctx)
    persona = await core.personas.resolve(persona_id, await active_persona(ctx))
    return respond(await core.personas.emotions.state(persona))


async def update_state(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    valence: Annotated[float | None, Field(ge=-1.0, le=1.0, description="New valence, -1..1.")] = None,
    arousal: Annotated[Unit, Field(description="New arousal, 0-1.")] = None,
    dominance: Annotated[Unit, Field(description="New dominance, 0-1.")] = None,
    energy: Annotated[Unit, Field(description="New social energy, 0-1.")] = None,
    stress: Annotated[Unit, Field(description="New stress, 0-1.")] = None,
    deltas: Annotated[Deltas | None, Field(description="Changes to add instead of absolute values.")] = None,
    reason: Annotated[str | None, Field(max_length=500, description="Why, kept in the history.")] = None,
) -> Annotated[CallToolResult, EmotionalState]:
    """Set some of a persona's feelings (absolute values) and/or move others (`deltas`), from its
    present state; the result is clamped to range and recorded in its history with the reason."""
    core = core_of(ctx)
    persona = await core.personas.resolve(persona_id, await active_persona(ctx))
    given = {
        "valence": valence,
        "arousal": arousal,
        "dominance": dominance,
        "energy": energy,
        "stress": stress,
    }
    absolute = {name: value for name, value in given.items() if value is not None}
    changes = deltas.model_dump(exclude_none=True) if deltas else {}
    return respond(await core.personas.emotions.update(persona, absolute, changes, reason))


async def history(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    limit: Annotated[int, Field(ge=1, le=500, description="Most states to return.")] = 20,
) -> Annotated[CallToolResult, EmotionHistory]:
    """A persona's past emotional states, newest first, each with the reason it changed."""
    core = core_of(ctx)
    persona = await core.personas.resolve(persona_id, await active_persona(ctx))
    return respond(await core.personas.emotions.history(persona, limit))


TOOLS = (
    ToolDef("get_state", get_state, READ_ONLY),
    ToolDef("update_state", update_state, WRITE),
    ToolDef("history", history, READ_ONLY),
)
