"""lorebook_* tools: lorebooks as their own objects, attached to personas and conversations."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from core.interop.lorebook_files import LorebookExport, LorebookFormat
from core.personas.lorebooks import (
    LorebookAttachment,
    LorebookDeleted,
    LorebookDetail,
    LorebookImported,
    LorebookList,
)
from persona_mcp.session import core_of
from persona_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, ToolDef, respond

NAMESPACE = "lorebook"

LorebookId = Annotated[str, Field(min_length=1, max_length=64)]
Persona = Annotated[str | None, Field(min_length=1, max_length=64, description="A persona id.")]
Conversation = Annotated[str | None, Field(min_length=1, max_length=64, description="A conversation id.")]


async def import_book(
    ctx: Context,
    content: Annotated[
        str | dict[str, Any],
        Field(description="The file (text or object)."),
    ],
    name: Annotated[
        str | None, Field(min_length=1, max_length=200, description="Default: the file's.")
    ] = None,
    lorebook_id: Annotated[
        str | None, Field(min_length=1, max_length=64, description="Replace this book of yours.")
    ] = None,
    attach: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(max_length=100, description="Persona ids to attach it to."),
    ] = None,
) -> Annotated[CallToolResult, LorebookImported]:
    """Store a lorebook (SillyTavern World Info, lorebook_v3, a character_book or a card's) to
    attach to personas and conversations. The same file again adds nothing."""
    return respond(await core_of(ctx).lorebook_files.import_file(content, name, lorebook_id, attach))


async def list_books(
    ctx: Context, persona_id: Persona = None, conversation_id: Conversation = None
) -> Annotated[CallToolResult, LorebookList]:
    """Lorebooks you can see and where each is attached (filtered by persona or conversation)."""
    return respond(await core_of(ctx).lorebooks.list_books(persona_id, conversation_id))


async def get_book(ctx: Context, lorebook_id: LorebookId) -> Annotated[CallToolResult, LorebookDetail]:
    """A lorebook with its entries."""
    return respond(await core_of(ctx).lorebooks.get(lorebook_id))


async def export_book(
    ctx: Context,
    lorebook_id: Annotated[
        str | None, Field(min_length=1, max_length=64, description="A stored book.")
    ] = None,
    format: Annotated[
        LorebookFormat, Field(description="world_info (SillyTavern) or lorebook_v3.")
    ] = "world_info",
    persona_id: Annotated[
        str | None, Field(min_length=1, max_length=64, description="Instead: this persona's card book.")
    ] = None,
) -> Annotated[CallToolResult, LorebookExport]:
    """A lorebook as a file, losing nothing."""
    return respond(await core_of(ctx).lorebook_files.export(lorebook_id, format, persona_id))


async def delete_book(ctx: Context, lorebook_id: LorebookId) -> Annotated[CallToolResult, LorebookDeleted]:
    """Delete a lorebook of yours, detaching it everywhere."""
    return respond(await core_of(ctx).lorebooks.delete(lorebook_id))


async def attach(
    ctx: Context,
    lorebook_id: LorebookId,
    persona_id: Persona = None,
    conversation_id: Conversation = None,
    detach: Annotated[bool, Field(description="Detach it instead.")] = False,
) -> Annotated[CallToolResult, LorebookAttachment]:
    """Attach a lorebook to a persona (all its chats; needs write access) or a conversation (every
    persona in it); its entries join the persona's own in chat context."""
    return respond(await core_of(ctx).lorebooks.attach(lorebook_id, persona_id, conversation_id, detach))


TOOLS = (
    ToolDef("import", import_book, DESTRUCTIVE),  # lorebook_id replaces a book
    ToolDef("list", list_books, READ_ONLY),
    ToolDef("get", get_book, READ_ONLY),
    ToolDef("export", export_book, READ_ONLY),
    ToolDef("delete", delete_book, DESTRUCTIVE),
    ToolDef("attach", attach, WRITE),
)
