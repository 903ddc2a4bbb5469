"""What persona_chat and conversation_speak share: asking the client's own model when Ollama does
not answer (MCP sampling), and streaming Ollama's words as progress notifications."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Sample
from mcp_types import (
    CallToolResult,
    CreateMessageResult,
    ModelHint,
    ModelPreferences,
    SamplingMessage,
    TextContent,
)

from core.chat import ChatRequest
from core.llm import Completion
from persona_mcp.session import core_of
from persona_mcp.tools import respond

__all__ = ["run_chat", "sample_for"]

_SAMPLED_TOKENS = 1024


async def sample_for(ctx: Context, request: ChatRequest) -> Sample | None:
    """A sampling request for the context `request` would send to Ollama, when Ollama does not
    answer and the client can sample; else None (Ollama is asked, or its error reported)."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        return None
    chats = core_of(ctx).chats
    if await chats.model_reachable():
        return None
    prepared = await chats.prepare(request)
    notes = [m.content for m in prepared.context.messages if m.role == "system"]
    system = "\n\n".join([prepared.context.system_prompt, *notes])
    turns = [
        SamplingMessage(role=m.role, content=TextContent(type="text", text=m.content))
        for m in prepared.context.messages
        if m.role != "system"
    ]
    return Sample(
        turns,
        max_tokens=_SAMPLED_TOKENS,
        system_prompt=system,
        temperature=prepared.temperature,
        model_preferences=ModelPreferences(hints=[ModelHint(name=prepared.model)]),
    )


async def run_chat(ctx: Context, request: ChatRequest, sampled: CreateMessageResult | None) -> CallToolResult:
    """One exchange: with the client's sampled reply when there is one, else Ollama's, streamed."""
    chats = core_of(ctx).chats
    if sampled is not None:
        text = sampled.content.text if isinstance(sampled.content, TextContent) else ""
        completion = Completion(
            text=text.strip(), model=sampled.model, prompt_tokens=None, completion_tokens=None
        )
        return respond(await chats.chat(request, sampled=completion))
    chunks = 0

    async def stream(piece: str) -> None:
        nonlocal chunks
        chunks += 1
        await ctx.report_progress(chunks, None, piece)

    return respond(await chats.chat(request, on_chunk=stream))
