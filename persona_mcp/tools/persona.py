"""persona_* tools: thin wrappers that call PersonaService and render its result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp_types import CallToolResult, CreateMessageResult
from pydantic import BaseModel, Field

from core.chat import ChatRequest
from core.models import ChatContext, ChatReply, Persona, PersonaChanges, PersonaSpec, PlainName
from core.personas import PersonaStatus
from core.personas.documents import ExportFormat, ImportFormat
from core.personas.service import DeleteResult
from core.personas.transfer import ExportResult, ImportResult
from persona_mcp.results import PersonaList, SwitchResult, TemplateList
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
            active_id=active_persona(ctx) or core.personas.default_persona,
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
        PersonaChanges, Field(description="The fields to change; the rest keep their values.")
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
    previous = active_persona(ctx)
    scope = set_active_persona(ctx, persona.id)
    return respond(SwitchResult(persona=persona, previous_id=previous, scope=scope))


async def status(
    ctx: Context, persona_id: OptionalPersonaId = None
) -> Annotated[CallToolResult, PersonaStatus]:
    """A persona's emotional state, memory counts, closest relationships, open conversation and
    social energy."""
    service = core_of(ctx).personas
    persona = await service.resolve(persona_id, active_persona(ctx))
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
        message, persona_id, conversation_id, user_id, token_budget, temperature, active_persona(ctx)
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
    """Talk to a persona: it answers in character, using its memories, mood and relationship with
    the user. The model is Ollama's; when Ollama does not answer and the client supports sampling,
    the client's own model. Ollama's words stream to the client as progress notifications. Both
    turns are stored, new memories pass the write gate, and the persona's mood moves. Without
    `conversation_id` a new conversation is opened (its id comes back)."""
    request = ChatRequest(
        message, persona_id, conversation_id, user_id, token_budget, temperature, active_persona(ctx)
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
    """The system prompt and messages persona_chat would send for this message, for a client that
    uses its own model: the persona and its mood, relationship with the user, matching memories,
    and the conversation's history within `token_budget` (older turns as a running summary, the
    author's note a few messages from the end). Changes nothing."""
    contexts = core_of(ctx).contexts
    return respond(
        await contexts.build(message, persona_id, conversation_id, user_id, token_budget, active_persona(ctx))
    )


async def import_persona(
    ctx: Context,
    content: Annotated[
        str,
        Field(
            min_length=1,
            max_length=48_000_000,
            description="The file: Character Card V2/V3 JSON, our YAML or JSON, or a PNG card as base64.",
        ),
    ],
    format: Annotated[
        ImportFormat, Field(description="auto (detect), card_v2, card_v3, yaml, json or png.")
    ] = "auto",
    persona_id: Annotated[
        str | None,
        Field(max_length=64, description="Id to store it under; default: the file's, else from the name."),
    ] = None,
    merge: Annotated[
        bool,
        Field(
            description="If the id exists, merge into it: the file's fields replace the stored ones, newer "
            "relationships win, memories are de-duplicated. Default: an existing id is an error."
        ),
    ] = False,
    name: Annotated[
        str | None, Field(min_length=1, max_length=100, description="Store it under this name instead.")
    ] = None,
) -> Annotated[CallToolResult, ImportResult]:
    """Import a persona from a character card (V1, V2, V3; JSON or PNG) or our YAML/JSON, with its
    lorebook and, for a stateful export, its feelings, relationships and memories. The whole file
    is validated first: on any error nothing is stored. `warnings` lists what was coerced, kept
    aside in extensions (unknown fields, which export puts back) or dropped."""
    return respond(await core_of(ctx).transfer.import_persona(content, format, persona_id, merge, name))


async def export(
    ctx: Context,
    persona_id: PersonaId,
    format: Annotated[
        ExportFormat, Field(description="card_v2, card_v3, yaml, json, or png (a card in a PNG).")
    ],
    include_state: Annotated[
        bool,
        Field(
            description="Also carry its emotional state, relationships and memories (extensions.persona_mcp"
            ".state), so persona_import elsewhere restores what it knows."
        ),
    ] = False,
    card_spec: Annotated[
        Literal["v2", "v3"], Field(description="For png: the card inside (v3 also carries a v2 copy).")
    ] = "v3",
    image: Annotated[
        str | None,
        Field(
            max_length=48_000_000,
            description="For png: a PNG (base64) to put the card in; default: a small generated one.",
        ),
    ] = None,
) -> Annotated[CallToolResult, ExportResult]:
    """Export a persona as a file: a Character Card V2/V3 (JSON, or inside a PNG, base64) that
    SillyTavern and other card readers open, or our YAML/JSON. Fields a card has no place for
    (traits, interests...) ride in extensions.persona_mcp, which card readers ignore."""
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
    """Create a new persona mixing others: traits, talkativeness and mood baseline are weighted
    means; interests, domains, values and tags merge by weight; description, personality, style
    and backstory are composed (heaviest first); lorebooks are combined. The recipe is recorded in
    extensions.persona_mcp.blend."""
    return respond(await core_of(ctx).personas.blend(persona_ids, weights, name, id))


TOOLS = (
    ToolDef("list", list_personas, READ_ONLY),
    ToolDef("get", get, READ_ONLY),
    ToolDef("create", create, WRITE),
    ToolDef("update", update, DESTRUCTIVE),
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
