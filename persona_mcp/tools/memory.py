"""memory_* tools: thin wrappers over MemoryService."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field, ValidationError

from core.errors import InvalidInput
from core.memory import Memory, MemoryDraft, MemoryPatch, SearchOptions, SearchResult, StoreResult
from core.memory.decay import DecayMode
from core.memory.lifecycle_models import (
    DecayControl,
    DecayResult,
    DecayStats,
    PruneAllResult,
    PruneResult,
    PruneStats,
    Recommendations,
)
from core.memory.models import (
    MAX_CONTENT_CHARS,
    BatchResult,
    DeleteOutcome,
    Kind,
    MemoryStats,
    ReindexResult,
    SharedStats,
)
from core.memory.semantic import Progress
from persona_mcp.schemas import replace_property, without_descriptions
from persona_mcp.session import active_persona, core_of
from persona_mcp.tools import (
    DESTRUCTIVE,
    READ_ONLY,
    SESSION,
    WRITE,
    AllPersonas,
    OptionalPersonaId,
    PersonaId,
    ToolDef,
    respond,
    with_model_fields,
)

NAMESPACE = "memory"

_MAX_BATCH = 1_000

MemoryId = Annotated[str, Field(min_length=1, max_length=64, description="Memory id.")]
Query = Annotated[str, Field(min_length=1, max_length=4_000, description="What to look for, in plain words.")]
NResults = Annotated[int, Field(ge=1, le=100, description="How many memories to return, 1-100.")]
Content = Annotated[
    str, Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="The memory itself, in plain text.")
]


async def store(ctx: Context, content: Content, **fields: Any) -> Annotated[CallToolResult, StoreResult]:
    """Remember something for a persona. Storing what it already remembers (the same text, or text
    meaning nearly the same) reinforces that memory instead and returns `duplicate_of`."""
    given = {name: value for name, value in fields.items() if value is not None}
    try:
        draft = MemoryDraft.model_validate({"content": content, **given})
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None
    return respond(await core_of(ctx).memories.store(draft, await active_persona(ctx)))


store = with_model_fields(store, MemoryDraft)


async def store_batch(
    ctx: Context,
    items: Annotated[
        list[MemoryDraft],
        Field(
            min_length=1, max_length=_MAX_BATCH, description="Memories to store, each as memory_store takes."
        ),
    ],
) -> Annotated[CallToolResult, BatchResult]:
    """Store many memories at once, all or nothing (embedded together, so much faster than one by
    one). Duplicates reinforce existing memories, or an earlier item of the same batch."""
    return respond(await core_of(ctx).memories.store_batch(items, await active_persona(ctx)))


def _items_as_in_store(schema: dict[str, Any]) -> dict[str, Any]:
    """store_batch's items without the field descriptions memory_store's schema gives (the two
    register together): 1.3 KB less in every conversation."""
    return replace_property(
        schema, "items", lambda items: {**items, "items": without_descriptions(items["items"])}
    )


async def search(
    ctx: Context,
    query: Query,
    persona_id: OptionalPersonaId = None,
    n_results: NResults = 10,
    min_importance: Annotated[
        float | None, Field(ge=0.0, le=1.0, description="Only at least this important.")
    ] = None,
    kinds: Annotated[list[Kind] | None, Field(max_length=5, description="Only these kinds.")] = None,
    since: Annotated[
        datetime | None, Field(description="Only created at or after this time (ISO-8601).")
    ] = None,
    until: Annotated[
        datetime | None, Field(description="Only created at or before this time (ISO-8601).")
    ] = None,
    include_shared: Annotated[
        bool, Field(description="Also search other personas' shared and public memories.")
    ] = False,
    include_witnessed: Annotated[
        bool,
        Field(
            description="Also search other personas' memories this persona was present for (in a "
            "group conversation) or was told about."
        ),
    ] = False,
    reinforce: Annotated[
        bool,
        Field(
            description="Count the results as recalled, as a chat does: the persona's own memories "
            "regain strength."
        ),
    ] = False,
    when: Annotated[
        str | None,
        Field(
            max_length=100,
            description="When it happened, in words ('last week', 'in May 2023', 'since 2023-05-01') "
            "or a date.",
        ),
    ] = None,
    as_of: Annotated[
        datetime | None, Field(description="Only what was true at this time (ISO-8601).")
    ] = None,
    include_superseded: Annotated[
        bool, Field(description="Also memories that stopped being true (superseded or ended).")
    ] = False,
) -> Annotated[CallToolResult, SearchResult]:
    """Find a persona's memories by meaning and by words. Each result has a `score` and the
    components it is made of (semantic, lexical, importance, recency, context, mood). Changes
    nothing unless `reinforce` is true."""
    options = SearchOptions(
        n_results=n_results,
        kinds=tuple(kinds or ()),
        since=since,
        until=until,
        min_importance=min_importance,
        include_shared=include_shared,
        include_witnessed=include_witnessed,
        reinforce=reinforce,
        include_superseded=include_superseded,
        as_of=as_of,
        when=when,
    )
    return respond(await core_of(ctx).memories.search(query, persona_id, options, await active_persona(ctx)))


async def search_cross_persona(
    ctx: Context,
    query: Query,
    persona_id: Annotated[
        str, Field(min_length=1, max_length=64, description="The persona asking; its private memories count.")
    ],
    n_results: NResults = 10,
) -> Annotated[CallToolResult, SearchResult]:
    """Search the asking persona's own memories plus every other persona's shared and public ones.
    Other personas' private memories are never returned."""
    options = SearchOptions(n_results=n_results, include_shared=True)
    return respond(await core_of(ctx).memories.search(query, persona_id, options))


async def get(ctx: Context, memory_id: MemoryId) -> Annotated[CallToolResult, Memory]:
    """One memory, archived or not."""
    return respond(await core_of(ctx).memories.get(memory_id))


async def update(ctx: Context, memory_id: MemoryId, **fields: Any) -> Annotated[CallToolResult, Memory]:
    """Change a memory's content, importance, visibility, pinned flag or metadata; a new content
    gets a new vector. `told_to` lets other personas recall it from now on (they were told)."""
    patch = MemoryPatch.model_validate({name: value for name, value in fields.items() if value is not None})
    return respond(await core_of(ctx).memories.update(memory_id, patch))


update = with_model_fields(
    update,
    MemoryPatch,
    {
        "content": "New text of the memory.",
        "importance": "New importance, 0-1.",
        "visibility": "private, shared or public.",
        "pinned": "Pinned memories never decay below their floor and are never pruned.",
        "metadata": "Replaces the metadata object.",
    },
)


async def delete(
    ctx: Context,
    memory_id: MemoryId,
    hard: Annotated[bool, Field(description="Remove it for good instead of archiving it.")] = False,
) -> Annotated[CallToolResult, DeleteOutcome]:
    """Archive a memory (it leaves search results; memory_restore brings it back), or with
    hard=true delete it permanently."""
    return respond(await core_of(ctx).memories.delete(memory_id, hard))


async def restore(ctx: Context, memory_id: MemoryId) -> Annotated[CallToolResult, Memory]:
    """Bring an archived memory back, exactly as it was."""
    return respond(await core_of(ctx).memories.restore(memory_id))


async def stats(
    ctx: Context,
    persona_id: AllPersonas = None,
) -> Annotated[CallToolResult, MemoryStats]:
    """Memory totals by persona, kind and visibility; archived count; average importance and
    strength; and how far the vector index lags behind."""
    return respond(await core_of(ctx).memories.stats(persona_id))


async def shared_stats(ctx: Context) -> Annotated[CallToolResult, SharedStats]:
    """Shared and public memory counts by persona, and the subjects and words they are about."""
    return respond(await core_of(ctx).memories.shared_stats())


async def reindex(
    ctx: Context,
    persona_id: AllPersonas = None,
) -> Annotated[CallToolResult, ReindexResult]:
    """Rebuild the vector index from SQLite: embed memories that lack a vector of the current
    model, remove index entries with no memory, add what is missing. Sends progress notifications."""
    return respond(await core_of(ctx).memories.reindex(persona_id, _progress(ctx)))


# ---- lifecycle: pruning and decay ----

DryRun = Annotated[bool, Field(description="Only report what would be archived; change nothing.")]


def _progress(ctx: Context) -> Progress:
    async def report(done: float, total: float | None, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return report


ListLimit = Annotated[
    int, Field(ge=0, le=10_000, description="Most archived memories to list per persona (all are counted).")
]


async def prune(
    ctx: Context,
    persona_id: PersonaId,
    dry_run: DryRun = False,
    max_fraction: Annotated[
        float | None,
        Field(
            gt=0.0,
            le=1.0,
            description="Largest share of the persona's memories to archive; default from settings.",
        ),
    ] = None,
    limit: ListLimit = 100,
) -> Annotated[CallToolResult, PruneResult]:
    """Archive a persona's weakest memories within safety limits: never pinned ones, never below
    the minimum count, at most `max_fraction` per run. memory_restore brings one back."""
    return respond((await core_of(ctx).lifecycle.prune(persona_id, dry_run, max_fraction)).listing(limit))


async def prune_all(
    ctx: Context, dry_run: DryRun = False, limit: ListLimit = 100
) -> Annotated[CallToolResult, PruneAllResult]:
    """memory_prune for every persona, each under its own safety limits. Sends progress notifications."""
    result = await core_of(ctx).lifecycle.prune_all(dry_run, progress=_progress(ctx))
    listed = [persona.listing(limit) for persona in result.personas]
    return respond(result.model_copy(update={"personas": listed}))


async def prune_recommendations(
    ctx: Context,
    persona_id: AllPersonas = None,
    limit: Annotated[int, Field(ge=1, le=500, description="Most candidates to list.")] = 20,
) -> Annotated[CallToolResult, Recommendations]:
    """The memories a prune would archive now, weakest first, with the reasons. Changes nothing."""
    return respond(await core_of(ctx).lifecycle.recommendations(persona_id, limit))


async def prune_stats(ctx: Context) -> Annotated[CallToolResult, PruneStats]:
    """Prune runs so far (kept across restarts), memories archived, safety stops, the last run."""
    return respond(await core_of(ctx).lifecycle.prune_stats())


async def decay_start(
    ctx: Context,
    interval_seconds: Annotated[
        float | None,
        Field(ge=1.0, le=30 * 86_400.0, description="Seconds between runs; default from settings."),
    ] = None,
) -> Annotated[CallToolResult, DecayControl]:
    """Start background decay (or restart it with a new interval). The first run is immediate."""
    return respond(await core_of(ctx).maintenance.start_decay(interval_seconds))


async def decay_stop(ctx: Context) -> Annotated[CallToolResult, DecayControl]:
    """Stop background decay until decay_start (or the next server start, if the settings enable it)."""
    return respond(core_of(ctx).maintenance.stop_decay())


async def decay_stats(ctx: Context) -> Annotated[CallToolResult, DecayStats]:
    """Whether background decay runs, its mode and rates, runs and failures so far, the last run."""
    return respond(await core_of(ctx).maintenance.decay_stats())


async def decay_force(
    ctx: Context,
    persona_id: AllPersonas = None,
    mode: Annotated[
        DecayMode | None, Field(description="Decay this once by another curve; default from settings.")
    ] = None,
    rate: Annotated[
        float | None, Field(ge=0.0, le=1.0, description="Daily rate for this run; default from settings.")
    ] = None,
) -> Annotated[CallToolResult, DecayResult]:
    """Decay now. Without mode or rate, bring strengths up to date (a second run changes nothing);
    with them, apply that decay once. Sends progress notifications, persona by persona."""
    lifecycle = core_of(ctx).lifecycle
    return respond(await lifecycle.decay(persona_id, mode, rate, progress=_progress(ctx)))


TOOLS = (
    ToolDef("store", store, WRITE),
    ToolDef("store_batch", store_batch, WRITE, published=_items_as_in_store),
    ToolDef("search", search, WRITE),  # reinforce=true changes strengths
    ToolDef("get", get, READ_ONLY),
    ToolDef("update", update, DESTRUCTIVE),
    ToolDef("delete", delete, DESTRUCTIVE),
    ToolDef("restore", restore, WRITE),
    ToolDef("stats", stats, READ_ONLY),
    ToolDef("search_cross_persona", search_cross_persona, READ_ONLY),
    ToolDef("shared_stats", shared_stats, READ_ONLY),
    ToolDef("reindex", reindex, WRITE),
    ToolDef("prune", prune, DESTRUCTIVE),
    ToolDef("prune_all", prune_all, DESTRUCTIVE),
    ToolDef("prune_recommendations", prune_recommendations, READ_ONLY),
    ToolDef("prune_stats", prune_stats, READ_ONLY),
    ToolDef("decay_start", decay_start, SESSION),
    ToolDef("decay_stop", decay_stop, SESSION),
    ToolDef("decay_stats", decay_stats, READ_ONLY),
    ToolDef("decay_force", decay_force, WRITE),
)
