"""system.* tools: the server's own state."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from core.status import SystemStatus, system_status
from persona_mcp.session import core_of
from persona_mcp.tools import READ_ONLY, ToolDef, respond

NAMESPACE = "system"


async def status(ctx: Context) -> Annotated[CallToolResult, SystemStatus]:
    """Version, uptime, counts, background tasks, the embedder in use, how far the vector index
    lags behind, whether Ollama answers, and where the data lives."""
    return respond(await system_status(core_of(ctx)))


TOOLS = (ToolDef("status", status, READ_ONLY),)
