"""system_* tools: the server's own state."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.access import require_admin
from core.errors import InvalidInput, Unavailable
from core.llm import OllamaProbe, probe_ollama
from core.memory.lifecycle_models import ClockStatus
from core.status import SystemStatus, system_status
from persona_mcp.session import core_of
from persona_mcp.tools import READ_ONLY, WRITE, ToolDef, respond

NAMESPACE = "system"


async def status(ctx: Context) -> Annotated[CallToolResult, SystemStatus]:
    """Version, uptime, counts, background tasks, the embedder in use, how far the vector index
    lags behind, whether Ollama answers, and where the data lives."""
    return respond(await system_status(core_of(ctx)))


async def models(ctx: Context) -> Annotated[CallToolResult, OllamaProbe]:
    """The models the LLM provider (Ollama at OLLAMA_HOST) offers; a clear error when it does not answer."""
    settings = core_of(ctx).settings
    probe = await probe_ollama(settings.ollama_host)
    if not probe.reachable:
        raise Unavailable(f"Ollama is {probe.detail}")
    return respond(probe)


async def clock_advance(
    ctx: Context,
    days: Annotated[float, Field(ge=0.0, le=36_500.0, description="Days to move the server clock on.")] = 0.0,
    hours: Annotated[float, Field(ge=0.0, le=876_000.0, description="Hours to move it on.")] = 0.0,
) -> Annotated[CallToolResult, ClockStatus]:
    """Move the server clock forward (test mode only: PERSONA_MCP_TEST_CLOCK=1). Decay, emotion
    drift and relationship cooling all read this clock, so a script can check what 30 days do
    without waiting; run memory_decay_force to apply decay at the new time."""
    if days == 0 and hours == 0:
        raise InvalidInput("days", days, "Give days or hours greater than 0, e.g. days=30.")
    require_admin("system_clock_advance")
    clock = core_of(ctx).clock
    now = clock.advance(timedelta(days=days, hours=hours))
    return respond(ClockStatus(now=now, offset_seconds=round(clock.offset.total_seconds(), 3)))


TOOLS = (
    ToolDef("status", status, READ_ONLY),
    ToolDef("models", models, READ_ONLY),
    ToolDef("clock_advance", clock_advance, WRITE, enabled=lambda settings: settings.test_clock),
)
