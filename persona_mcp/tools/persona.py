"""persona_* tools: thin wrappers that call PersonaService and render its result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp_types import CallToolResult, CreateMessageResult
from pydantic import BaseModel, Field

from core.chat import ChatRequest
from core.interop.documents import ExportFormat, ImportFormat
from core.interop.transfer import ExportResult, ImportResult
from core.models import ChatContext, ChatReply, Persona, PersonaChanges, PersonaSpec, PlainName
from core.personas import PersonaStatus
from core.personas.service import DeleteResult
from persona_mcp.results import PersonaList, SwitchResult, TemplateList
from persona_mcp.schemas import abridge, replace_property
from persona_mcp.session import active_persona, core_of, set_active_persona
from persona_mcp.talk import run_chat, sample_for
from persona_mcp.tools import (
    DESTRUCTIVE,
    READ_ONLY,
    SESSION,
    WRITE,
    OptionalPersonaId,
    PersonaId,
    ToolDef,
    respond,
    with_model_fields,
)

NAMESPACE = "persona"


async def list_personas(
    ctx: Context,
    tag: Annotated[str | None, Field(max_length=100, description="Only personas with this tag.")] = None,
    include_archived: Annotated[bool, Field(description="Include personas deleted without purge.")] = False,
) -> Annotated[CallToolResult, PersonaList]:
    """List personas (id, name, description, tags), ordered by name, with the id calls use when
    they name no persona."""
    core = core_of(ctx)
    personas = await core.personas.list_personas(tag=tag, include_archived=include_archived)
    return respond(
        PersonaList(
            personas=[p.summary() for p in personas],
            active_id=await active_persona(ctx) or core.personas.default_persona,
            total_count=len(personas),
        )
    )


async def get(ctx: Context, persona_id: PersonaId) -> Annotated[CallToolResult, Persona]:
    """Return every field of one persona, archived or not."""
    return respond(await core_of(ctx).personas.get(persona_id))


async def create(
    ctx: Context,
    template: Annotated[
        str | None, Field(max_length=64, description="Start from this template (see persona_templates).")
    ] = None,
    id: Annotated[
        str | None, Field(max_length=64, description="Id to use; default: a slug of the name.")
    ] = None,
    **fields: Any,
) -> Annotated[CallToolResult, Persona]:
    """Create a persona from its fields (name required), or from a template with any fields given
    as overrides. Fails if the id or the name is already taken."""
    given = {
        name: value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
        for name, value in fields.items()
        if value is not None
    }
    return respond(await core_of(ctx).personas.create(given, template=template, persona_id=id))


create = with_model_fields(create, PersonaSpec, {"name": " Required unless a template is given."})


async def update(
    ctx: Context,
    persona_id: PersonaId,
    changes: Annotated[
        PersonaChanges,
        Field(
            description="The fields to change, as persona_create describes them; the rest keep their values."
        ),
    ],
    restore: Annotated[bool, Field(description="Also bring back an archived persona.")] = False,
) -> Annotated[CallToolResult, Persona]:
    """Change some fields of a persona; nested objects (traits, emotional_baseline, llm) merge key
    by key. Increments `version`. With restore=true, also un-archives a deleted persona."""
    result = await core_of(ctx).personas.update(persona_id, changes.model_dump(exclude_unset=True), restore)
    return respond(result)


async def delete(
    ctx: Context,
    persona_id: PersonaId,
    purge: Annotated[
        bool,
        Field(description="Remove the persona and all its memories, history and relationships for good."),
    ] = False,
) -> Annotated[CallToolResult, DeleteResult]:
    """Archive a persona (hidden from lists, everything kept, reversible with persona_update
    restore=true), or with purge=true remove it and everything it owns permanently."""
    return respond(await core_of(ctx).personas.delete(persona_id, purge=purge))


async def switch(ctx: Context, persona_id: PersonaId) -> Annotated[CallToolResult, SwitchResult]:
    """Make a persona the default for this session's later calls that name no persona_id."""
    persona = await core_of(ctx).personas.get_live(persona_id)
    previous = await active_persona(ctx)
    scope = await set_active_persona(ctx, persona.id)
    return respond(SwitchResult(persona=persona, previous_id=previous, scope=scope))


async def status(
    ctx: Context, persona_id: OptionalPersonaId = None
) -> Annotated[CallToolResult, PersonaStatus]:
    """A persona's emotional state, memory counts, closest relationships, open conversation and
    social energy."""
    service = core_of(ctx).personas
    persona = await service.resolve(persona_id, await active_persona(ctx))
    return respond(await service.status(persona))


async def templates(ctx: Context) -> Annotated[CallToolResult, TemplateList]:
    """The shipped templates that persona_create(template=...) accepts."""
    return respond(TemplateList(templates=core_of(ctx).personas.templates()))


Message = Annotated[str, Field(min_length=1, max_length=32_000, description="What the user says.")]
ConversationId = Annotated[str | None, Field(max_length=64, description="Continue this conversation.")]
UserId = Annotated[
    str | None, Field(max_length=128, description="Who is speaking, for relationships."), PlainName
]
TokenBudget = Annotated[
    int | None, Field(ge=256, le=1_000_000, description="Most tokens the assembled context may use.")
]


async def _client_model(
    ctx: Context,
    message: str,
    persona_id: str | None = None,
    conversation_id: str | None = None,
    user_id: str | None = None,
    token_budget: int | None = None,
    temperature: float | None = None,
) -> Sample | None:
    """When Ollama does not answer and the client can sample, ask the client's own model
    (`sampling/createMessage`) with the same context persona_chat would send to Ollama."""
    request = ChatRequest(
        message, persona_id, conversation_id, user_id, token_budget, temperature, await active_persona(ctx)
    )
    return await sample_for(ctx, request)


async def chat(
    ctx: Context,
    message: Message,
    persona_id: OptionalPersonaId = None,
    conversation_id: ConversationId = None,
    user_id: UserId = None,
    token_budget: TokenBudget = None,
    temperature: Annotated[float | None, Field(ge=0.0, le=2.0, description="Sampling temperature.")] = None,
    sampled: Annotated[CreateMessageResult | None, Resolve(_client_model)] = None,
) -> Annotated[CallToolResult, ChatReply]:
    """Talk to a persona: it answers in character from its memories, mood and relationship with the
    user, through Ollama (streamed as progress notifications), else the client's own model by
    sampling. Both turns are stored; memories and mood update. Without `conversation_id` a new
    conversation opens (its id comes back)."""
    request = ChatRequest(
        message, persona_id, conversation_id, user_id, token_budget, temperature, await active_persona(ctx)
    )
    return await run_chat(ctx, request, sampled)


async def context(
    ctx: Context,
    message: Message,
    persona_id: OptionalPersonaId = None,
    conversation_id: ConversationId = None,
    user_id: UserId = None,
    token_budget: TokenBudget = None,
) -> Annotated[CallToolResult, ChatContext]:
    """What persona_chat would send for this message, for a client that uses its own model: the
    system prompt (the persona, its mood, relationship with the user, matching memories and lore)
    and the conversation within `token_budget` (older turns summarised). Changes nothing."""
    contexts = core_of(ctx).contexts
    return respond(
        await contexts.build(
            message, persona_id, conversation_id, user_id, token_budget, await active_persona(ctx)
        )
    )


async def import_persona(
    ctx: Context,
    content: Annotated[
        str,
        Field(
            min_length=1,
            max_length=48_000_000,
            description="The file: a card (V1-V3 JSON; PNG or CharX as base64), or our YAML or JSON.",
        ),
    ],
    format: Annotated[ImportFormat, Field(description="Default auto: detect it.")] = "auto",
    persona_id: Annotated[
        str | None,
        Field(max_length=64, description="Id to store it under; default: the file's, else from the name."),
    ] = None,
    merge: Annotated[
        bool,
        Field(
            description="If the id exists, merge: the file's fields win, so do newer relationships; "
            "memories are de-duplicated. Default: an existing id is an error."
        ),
    ] = False,
    name: Annotated[
        str | None, Field(min_length=1, max_length=100, description="Store it under this name instead.")
    ] = None,
) -> Annotated[CallToolResult, ImportResult]:
    """Import a persona from a character card (V1-V3; JSON, PNG or CharX) or our YAML/JSON, with its
    lorebook and, from a stateful export, its feelings, relationships and memories. The file is
    validated whole first: on any error nothing is stored. `warnings` lists what was coerced,
    kept in extensions or dropped."""
    return respond(await core_of(ctx).transfer.import_persona(content, format, persona_id, merge, name))


async def export(
    ctx: Context,
    persona_id: PersonaId,
    format: Annotated[ExportFormat, Field(description="png and charx come as base64.")],
    include_state: Annotated[
        bool,
        Field(description="Also carry its mood, relationships and memories, which persona_import restores."),
    ] = False,
    card_spec: Annotated[
        Literal["v2", "v3"], Field(description="For png: the card inside (v3 also carries a v2 copy).")
    ] = "v3",
    image: Annotated[
        str | None,
        Field(
            max_length=48_000_000,
            description="For png: a PNG (base64) to hold the card; default: the card's own, or a plain one.",
        ),
    ] = None,
) -> Annotated[CallToolResult, ExportResult]:
    """Export a persona: a Character Card V2/V3 (JSON; PNG or CharX as base64) for SillyTavern,
    RisuAI and other card readers, or our YAML/JSON. The image and assets a card came with are
    written back as they were; fields cards lack ride in extensions.persona_mcp."""
    result = await core_of(ctx).transfer.export_persona(persona_id, format, include_state, card_spec, image)
    return respond(result)


async def blend(
    ctx: Context,
    persona_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]],
        Field(min_length=2, max_length=8, description="The personas to mix (2-8)."),
    ],
    name: Annotated[str, Field(min_length=1, max_length=100, description="The new persona's name.")],
    weights: Annotated[
        list[Annotated[float, Field(gt=0, le=1000)]] | None,
        Field(description="One weight per persona (any positive scale); default: equal."),
    ] = None,
    id: Annotated[
        str | None, Field(max_length=64, description="Id to use; default: a slug of the name.")
    ] = None,
) -> Annotated[CallToolResult, Persona]:
    """Create a persona mixing others by weight: traits and mood baseline are weighted means, lists
    merge, prose is composed heaviest first, lorebooks combine. The recipe is kept in
    extensions.persona_mcp.blend."""
    return respond(await core_of(ctx).personas.blend(persona_ids, weights, name, id))


def _brief_card_parts(schema: dict[str, Any]) -> dict[str, Any]:
    """Lorebook entries spelled out as keys and content and card assets as objects, their other
    fields named: the full forms are 3 KB of every conversation's tools/list for what a card
    import usually brings."""

    def brief(lorebook: dict[str, Any]) -> dict[str, Any]:
        book = replace_property(
            lorebook,
            "entries",
            lambda entries: {**entries, "items": abridge(entries["items"], ("keys", "content"))},
        )
        return abridge(book, ("entries",))

    schema = replace_property(
        schema, "assets", lambda assets: {**assets, "items": abridge(assets["items"], ())}
    )
    return replace_property(schema, "lorebook", brief)


def _changes_as_in_create(schema: dict[str, Any]) -> dict[str, Any]:
    """persona_update's `changes` as field names and types only: persona_create's schema (the
    persona namespace always registers both) describes each field, and the server checks the
    full model. 3.5 KB less in every conversation that lists all tools."""

    def undescribed(changes: dict[str, Any]) -> dict[str, Any]:
        typed = {
            name: {"type": part["type"]} if "type" in part else {}
            for name, part in changes.get("properties", {}).items()
        }
        return {**changes, "properties": typed, "description": changes["description"]}

    return replace_property(schema, "changes", undescribed)


TOOLS = (
    ToolDef("list", list_personas, READ_ONLY),
    ToolDef("get", get, READ_ONLY),
    ToolDef("create", create, WRITE, published=_brief_card_parts),
    ToolDef("update", update, DESTRUCTIVE, published=_changes_as_in_create),
    ToolDef("delete", delete, DESTRUCTIVE),
    ToolDef("switch", switch, SESSION),
    ToolDef("status", status, READ_ONLY),
    ToolDef("templates", templates, READ_ONLY),
    ToolDef("import", import_persona, DESTRUCTIVE),
    ToolDef("export", export, READ_ONLY),
    ToolDef("blend", blend, WRITE),
    ToolDef("chat", chat, WRITE),
    ToolDef("context", context, READ_ONLY),
)
