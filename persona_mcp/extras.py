"""The MCP prompt and resources: `roleplay`, `persona://{persona_id}`, `persona://{persona_id}/memories`."""

from __future__ import annotations

import inspect
from typing import Any

import orjson
from mcp.server.mcpserver import Context, MCPServer

from core.memory.entities import list_entities
from persona_mcp.session import core_of

__all__ = ["register_extras"]

_RECENT_MEMORIES = 20
_CONTINUED_MESSAGES = 40


async def roleplay(
    ctx: Context, persona_id: str, user_name: str | None = None, conversation_id: str | None = None
) -> list[dict[str, Any]]:
    """Speak as a persona with your own model: its system prompt, present mood, relationship with
    the user and strongest memories, then its first message when it has one, or with
    conversation_id the conversation so far (its newest 40 messages) to continue it."""
    core = core_of(ctx)
    prompt = await core.contexts.roleplay_prompt(persona_id, user_name)
    persona = await core.personas.get(persona_id)
    who = f" The user is {user_name}." if user_name else ""
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": f"From now on, play {persona.name} in this conversation.{who} Stay in character; "
            f"these are your instructions:\n\n{prompt}",
        }
    ]
    if conversation_id:
        history = await core.conversations.history(conversation_id, limit=_CONTINUED_MESSAGES)
        for message in history.messages:
            own = message.role == "assistant" and message.persona_id in (None, persona.id)
            speaker = "" if own or message.role == "user" else f"[{message.persona_id or message.role}] "
            messages.append({"role": "assistant" if own else "user", "content": speaker + message.content})
    elif persona.first_message:
        messages.append({"role": "assistant", "content": persona.first_message})
    return messages


async def persona_card(ctx: Context, persona_id: str) -> str:
    """The persona card: every field, as JSON."""
    persona = await core_of(ctx).personas.get(persona_id)
    return persona.model_dump_json(indent=2)


async def persona_memories(ctx: Context, persona_id: str) -> str:
    """The persona's most recent memories (live ones), newest first, as JSON."""
    memories = await core_of(ctx).memories.top(persona_id, "newest", _RECENT_MEMORIES)
    return orjson.dumps([m.model_dump(mode="json") for m in memories], option=orjson.OPT_INDENT_2).decode()


async def persona_entities(ctx: Context, persona_id: str) -> str:
    """Who and what the persona's memories mention, with the facts true now, as JSON."""
    core = core_of(ctx)
    await core.personas.get(persona_id)
    listed = await list_entities(core.db, core.personas, core.clock, persona_id, None, 100)
    return listed.model_dump_json(indent=2)


def register_extras(server: MCPServer[Any]) -> None:
    server.prompt(
        name="roleplay", title="Roleplay as a persona", description=inspect.cleandoc(roleplay.__doc__ or "")
    )(roleplay)
    server.resource(
        "persona://{persona_id}", name="persona", title="Persona card", mime_type="application/json"
    )(persona_card)
    server.resource(
        "persona://{persona_id}/memories",
        name="persona-memories",
        title="A persona's recent memories",
        mime_type="application/json",
    )(persona_memories)
    server.resource(
        "persona://{persona_id}/entities",
        name="persona-entities",
        title="Who and what a persona's memories mention",
        mime_type="application/json",
    )(persona_entities)
