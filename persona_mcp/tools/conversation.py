"""conversation.* tools: thin wrappers over ConversationService."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.conversations import Conversation, ConversationList, EndResult, History
from persona_mcp.session import active_persona, core_of
from persona_mcp.tools import READ_ONLY, WRITE, AllPersonas, OptionalPersonaId, ToolDef, respond

NAMESPACE = "conversation"

ConversationId = Annotated[
    str, Field(min_length=1, max_length=64, description="A conversation id from conversation.start or list.")
]


async def start(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    participants: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(min_length=1, max_length=8, description="Several personas in one conversation (group chat)."),
    ] = None,
    user_id: Annotated[str | None, Field(max_length=128, description="Who the user is.")] = None,
    title: Annotated[str | None, Field(max_length=200, description="A name for the conversation.")] = None,
) -> Annotated[CallToolResult, Conversation]:
    """Open a conversation with one persona (default: this session's) or several. Conversations
    survive restarts; persona.chat continues one by its id."""
    service = core_of(ctx).conversations
    return respond(await service.start(persona_id, participants, user_id, title, active_persona(ctx)))


async def end(
    ctx: Context,
    conversation_id: ConversationId,
    summarize: Annotated[
        bool, Field(description="Keep the gist as a reflective memory of every participant.")
    ] = True,
) -> Annotated[CallToolResult, EndResult]:
    """Close a conversation. Its most important sentences become its summary and, by default, a
    reflective memory of each participant."""
    return respond(await core_of(ctx).conversations.end(conversation_id, summarize))


async def status(
    ctx: Context,
    conversation_id: Annotated[
        str | None, Field(max_length=64, description="Default: the active persona's latest open one.")
    ] = None,
) -> Annotated[CallToolResult, Conversation]:
    """A conversation: participants, turns, tokens, open or closed."""
    return respond(await core_of(ctx).conversations.status(conversation_id, None, active_persona(ctx)))


async def history(
    ctx: Context,
    conversation_id: ConversationId,
    limit: Annotated[int, Field(ge=1, le=500, description="Most messages to return.")] = 50,
    before: Annotated[
        int | None, Field(ge=1, description="Only messages older than this message id (for paging).")
    ] = None,
) -> Annotated[CallToolResult, History]:
    """Messages of a conversation, oldest first (the newest `limit`, or those before `before`)."""
    return respond(await core_of(ctx).conversations.history(conversation_id, limit, before))


async def list_conversations(
    ctx: Context,
    persona_id: AllPersonas = None,
    status: Annotated[
        Literal["open", "closed"] | None, Field(description="Only open or closed ones.")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="Most conversations to return.")] = 20,
) -> Annotated[CallToolResult, ConversationList]:
    """Conversations, most recently active first."""
    return respond(await core_of(ctx).conversations.list(persona_id, status, limit))


TOOLS = (
    ToolDef("start", start, WRITE),
    ToolDef("end", end, WRITE),
    ToolDef("status", status, READ_ONLY),
    ToolDef("history", history, READ_ONLY),
    ToolDef("list", list_conversations, READ_ONLY),
)
