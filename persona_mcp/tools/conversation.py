"""conversation_* tools: thin wrappers over ConversationService."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp_types import CallToolResult, CreateMessageResult
from pydantic import Field

from core.chat import ChatRequest
from core.conversations import Conversation, ConversationList, EndResult, History, NextSpeaker
from core.models import ChatReply, PlainName
from persona_mcp.session import active_persona, core_of
from persona_mcp.talk import run_chat, sample_for
from persona_mcp.tools import READ_ONLY, WRITE, AllPersonas, OptionalPersonaId, PersonaId, ToolDef, respond

NAMESPACE = "conversation"

ConversationId = Annotated[str, Field(min_length=1, max_length=64, description="Conversation id.")]


async def start(
    ctx: Context,
    persona_id: OptionalPersonaId = None,
    participants: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(min_length=1, max_length=8, description="Several personas in one conversation (group chat)."),
    ] = None,
    user_id: Annotated[str | None, Field(max_length=128, description="Who the user is."), PlainName] = None,
    title: Annotated[
        str | None, Field(max_length=200, description="A name for the conversation."), PlainName
    ] = None,
) -> Annotated[CallToolResult, Conversation]:
    """Open a conversation with one persona (default: this session's) or several. Conversations
    survive restarts; persona_chat continues one by its id."""
    service = core_of(ctx).conversations
    return respond(await service.start(persona_id, participants, user_id, title, await active_persona(ctx)))


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
    return respond(await core_of(ctx).conversations.status(conversation_id, None, await active_persona(ctx)))


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


async def join(
    ctx: Context, conversation_id: ConversationId, persona_id: PersonaId
) -> Annotated[CallToolResult, Conversation]:
    """Bring a persona into a group conversation's room (or back into it). It witnesses what is
    said from now on, not what was said while it was away."""
    return respond(await core_of(ctx).rooms.join(conversation_id, persona_id))


async def leave(
    ctx: Context, conversation_id: ConversationId, persona_id: PersonaId
) -> Annotated[CallToolResult, Conversation]:
    """Take a persona out of the room: what is said without it stays out of its context and its
    memories (conversation_join brings it back)."""
    return respond(await core_of(ctx).rooms.leave(conversation_id, persona_id))


Seed = Annotated[
    int | None,
    Field(
        ge=0, le=2**32 - 1, description="Seed of the weighted draw; default: derived from the conversation."
    ),
]


async def next_speaker(
    ctx: Context,
    conversation_id: ConversationId,
    message: Annotated[
        str | None, Field(max_length=32_000, description="The message to answer; default: the newest turn.")
    ] = None,
    seed: Seed = None,
) -> Annotated[CallToolResult, NextSpeaker]:
    """Which persona in the room speaks next: one named in the message wins; else a draw
    weighted by talkativeness, interest in the topic and waiting time (seedable)."""
    return respond(await core_of(ctx).rooms.next_speaker(conversation_id, message, seed))


async def _speak_request(
    ctx: Context,
    conversation_id: str,
    persona_id: str | None,
    token_budget: int | None,
    temperature: float | None,
) -> ChatRequest:
    """What conversation_speak asks for: the named persona, else next_speaker's choice, answering
    with no new message."""
    if persona_id is None:
        persona_id = (await core_of(ctx).rooms.next_speaker(conversation_id, None, None)).persona_id
    return ChatRequest(
        None, persona_id, conversation_id, None, token_budget, temperature, await active_persona(ctx)
    )


async def _client_model(
    ctx: Context,
    conversation_id: str,
    persona_id: str | None = None,
    token_budget: int | None = None,
    temperature: float | None = None,
) -> Sample | None:
    return await sample_for(
        ctx, await _speak_request(ctx, conversation_id, persona_id, token_budget, temperature)
    )


async def speak(
    ctx: Context,
    conversation_id: ConversationId,
    persona_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="Who speaks; default: conversation_next_speaker's choice.",
        ),
    ] = None,
    token_budget: Annotated[
        int | None, Field(ge=256, le=1_000_000, description="Most tokens the assembled context may use.")
    ] = None,
    temperature: Annotated[float | None, Field(ge=0.0, le=2.0, description="Sampling temperature.")] = None,
    sampled: Annotated[CreateMessageResult | None, Resolve(_client_model)] = None,
) -> Annotated[CallToolResult, ChatReply]:
    """A persona in the room speaks without a new user message, answering the newest turn it
    witnessed as persona_chat would."""
    request = await _speak_request(ctx, conversation_id, persona_id, token_budget, temperature)
    return await run_chat(ctx, request, sampled)


TOOLS = (
    ToolDef("start", start, WRITE),
    ToolDef("end", end, WRITE),
    ToolDef("status", status, READ_ONLY),
    ToolDef("history", history, READ_ONLY),
    ToolDef("list", list_conversations, READ_ONLY),
    ToolDef("join", join, WRITE),
    ToolDef("leave", leave, WRITE),
    ToolDef("next_speaker", next_speaker, READ_ONLY),
    ToolDef("speak", speak, WRITE),
)
