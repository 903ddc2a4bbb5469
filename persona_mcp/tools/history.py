"""memory_import: history from where it lives (SillyTavern, ChatGPT, Claude, the MCP memory server)."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.interop.histories import HistoryFormat
from core.interop.history_import import HistoryImport
from persona_mcp.session import active_persona, core_of
from persona_mcp.tools import WRITE, OptionalPersonaId, ToolDef, respond

NAMESPACE = "memory"


async def import_history(
    ctx: Context,
    content: Annotated[str, Field(min_length=1, max_length=48_000_000, description="The file's text.")],
    persona_id: OptionalPersonaId = None,
    format: Annotated[HistoryFormat | None, Field(description="Default: detect it.")] = None,
    dry_run: Annotated[bool, Field(description="Only report what would be created.")] = False,
) -> Annotated[CallToolResult, HistoryImport]:
    """Import history into a persona's memories: a SillyTavern chat (.jsonl; also a
    conversation), ChatGPT or Claude conversations.json (the user's turns), or the MCP memory
    server's memory.jsonl. A second import adds nothing."""
    core = core_of(ctx)
    persona = await core.personas.resolve(persona_id, await active_persona(ctx))
    return respond(await core.histories.run(content, persona.id, format, dry_run))


TOOLS = (ToolDef("import", import_history, WRITE),)
