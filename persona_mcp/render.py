"""Short text renderings of tool results, for clients that show text rather than structured
content. One function per result type; anything else falls back to compact JSON."""

from __future__ import annotations

from functools import singledispatch

from pydantic import BaseModel

from core.conversations import Conversation, ConversationList, EndResult, History
from core.memory.lifecycle_models import (
    ClockStatus,
    DecayControl,
    DecayResult,
    DecayStats,
    PruneAllResult,
    PruneResult,
    PruneStats,
    Recommendations,
    StrengthSummary,
)
from core.memory.models import (
    BatchResult,
    DeleteOutcome,
    Memory,
    MemoryStats,
    ReindexResult,
    SearchResult,
    StoreResult,
)
from core.models import ChatContext, Persona, Template
from core.personas import PersonaStatus
from core.personas.service import DeleteResult
from core.status import SystemStatus
from persona_mcp.results import PersonaList, SwitchResult, TemplateList

__all__ = ["register_renderer", "render"]

_MAX_DESCRIPTION = 160


def _short(text: str, limit: int = _MAX_DESCRIPTION) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@singledispatch
def render(result: BaseModel) -> str:
    """Compact JSON: the fallback for result types without their own rendering."""
    return result.model_dump_json(exclude_none=True)


register_renderer = render.register


@render.register
def _persona(result: Persona) -> str:
    archived = " [archived]" if result.archived_at else ""
    tags = f" Tags: {', '.join(result.tags)}." if result.tags else ""
    return f"{result.name} ({result.id}, v{result.version}){archived}: {_short(result.description)}{tags}"


@render.register
def _template(result: Template) -> str:
    return f"{result.id}: {result.name} - {_short(result.description)}"


@render.register
def _status(result: PersonaStatus) -> str:
    mood = result.emotional_state
    memories = result.memory_counts.get("total", 0)
    conversation = result.open_conversation["id"] if result.open_conversation else "none"
    return (
        f"{result.persona.name} ({result.persona.id}) feels {mood.label} "
        f"(valence {mood.valence:+.2f}, energy {mood.energy:.2f}); {memories} memories, "
        f"{len(result.relationships)} relationships shown, open conversation: {conversation}."
    )


@render.register
def _deleted(result: DeleteResult) -> str:
    if result.action == "already_archived":
        return f"{result.persona_id} was already archived; nothing changed."
    what = ", ".join(f"{name}: {count}" for name, count in result.counts.items() if count)
    verb = "Purged for good" if result.action == "purged" else "Archived (restore with persona_update)"
    return f"{verb}: {result.persona_id} ({what})."


@render.register
def _persona_list(result: PersonaList) -> str:
    lines = [f"{result.total_count} personas (active: {result.active_id or 'none'})"]
    lines += [
        f"- {p.id}: {p.name}{' [archived]' if p.archived else ''} - {_short(p.description, 80)}"
        for p in result.personas
    ]
    return "\n".join(lines)


@render.register
def _template_list(result: TemplateList) -> str:
    return "\n".join(_template(t) for t in result.templates)


@render.register
def _switched(result: SwitchResult) -> str:
    scope = "this session" if result.scope == "connection" else "this server process"
    return f"Now speaking as {result.persona.name} ({result.persona.id}) for {scope}."


def _memory_line(memory: Memory) -> str:
    flags = "".join([" [pinned]" if memory.pinned else "", " [archived]" if memory.archived_at else ""])
    return (
        f"{memory.id} ({memory.persona_id}, {memory.kind}, {memory.visibility}, "
        f"importance {memory.importance:.2f}){flags}: {_short(memory.content)}"
    )


@render.register
def _memory(result: Memory) -> str:
    return _memory_line(result)


@render.register
def _stored(result: StoreResult) -> str:
    if result.duplicate_of is None:
        return f"Stored {_memory_line(result.memory)}"
    return (
        f"Already remembered ({result.duplicate_reason} duplicate), reinforced instead: "
        f"{_memory_line(result.memory)}"
    )


@render.register
def _batch(result: BatchResult) -> str:
    return f"Stored {result.stored} new memories; {result.duplicates} reinforced existing ones."


@render.register
def _search(result: SearchResult) -> str:
    mode = "" if result.semantic else " (words only: no embedder loaded)"
    lines = [f"{len(result.memories)} of {result.total_results} memories for {result.query!r}{mode}"]
    lines += [f"{hit.score:.3f} {_memory_line(hit.memory)}" for hit in result.memories]
    return "\n".join(lines)


@render.register
def _memory_deleted(result: DeleteOutcome) -> str:
    return {
        "archived": f"Archived {result.memory_id} (memory_restore brings it back).",
        "already_archived": f"{result.memory_id} was already archived; nothing changed.",
        "purged": f"Deleted {result.memory_id} for good.",
    }[result.action]


@render.register
def _memory_stats(result: MemoryStats) -> str:
    kinds = ", ".join(f"{kind} {count}" for kind, count in result.by_kind.items()) or "none"
    return (
        f"{result.total} memories ({kinds}); {result.archived} archived; index lag {result.index_lag}; "
        f"model {result.embedding_model or 'none'}."
    )


@render.register
def _reindexed(result: ReindexResult) -> str:
    return (
        f"Reindexed with {result.embedding_model}: {result.embedded} embedded, {result.indexed} indexed, "
        f"{result.orphans_removed} orphans removed in {result.elapsed_seconds:.1f}s."
    )


@render.register
def _system(result: SystemStatus) -> str:
    embedder = result.embedder.model_id or ("loading" if not result.embedder.loaded else "none")
    llm = "reachable" if result.llm.reachable else "not reachable"
    counts = ", ".join(f"{name} {count}" for name, count in result.counts.items())
    problems = "".join(
        f"\n{what}: {error}"
        for what, error in (
            ("Embedder", result.embedder.error),
            ("Vector index", result.vector_index.error),
            ("Vector index repaired", result.vector_index.repaired),
        )
        if error
    )
    return (
        f"persona-mcp {result.version}, up {result.uptime_seconds:.0f}s, data in {result.data_dir}; "
        f"{counts}; "
        f"embedder {embedder}; index pending {result.vector_index.pending}; Ollama {llm}.{problems}"
    )


def _strengths(summary: StrengthSummary) -> str:
    if summary.mean is None:
        return "none"
    return f"mean {summary.mean:.3f} (min {summary.minimum:.3f}, max {summary.maximum:.3f})"


@render.register
def _decayed(result: DecayResult) -> str:
    who = result.persona_id or "all personas"
    return (
        f"Decay ({result.mode}, rate {result.rate:g}/day) for {who} at {result.at:%Y-%m-%d %H:%M}Z: "
        f"{result.changed} of {result.examined} memories changed; strength {_strengths(result.before)} -> "
        f"{_strengths(result.after)}."
    )


@render.register
def _decay_control(result: DecayControl) -> str:
    if not result.running:
        return "Background decay is stopped."
    return f"Background decay runs every {result.interval_seconds:g}s."


@render.register
def _decay_stats(result: DecayStats) -> str:
    state = f"running every {result.interval_seconds:g}s" if result.running else "stopped"
    return (
        f"Decay {state}; {result.mode} at {result.rate:g}/day; {result.runs} runs, "
        f"{result.memories_decayed} strength changes, {result.failures} failures."
    )


def _prune_line(result: PruneResult) -> str:
    verb = "would archive" if result.dry_run else "archived"
    held = f" (held back by {', '.join(result.limited_by)})" if result.limited_by else ""
    return (
        f"{result.persona_id}: {verb} {result.pruned_count} of {result.examined} "
        f"({result.eligible} eligible){held}; {result.kept} kept."
    )


@render.register
def _pruned(result: PruneResult) -> str:
    return _prune_line(result)


@render.register
def _pruned_all(result: PruneAllResult) -> str:
    lines = [_prune_line(r) for r in result.personas]
    return "\n".join(
        [f"{result.total_pruned} memories {'would be ' if result.dry_run else ''}archived.", *lines]
    )


@render.register
def _recommendations(result: Recommendations) -> str:
    if not result.candidates:
        return "Nothing to prune within the safety limits."
    lines = [
        f"- {c.memory_id} ({c.persona_id}) {_short(c.content, 80)}: {'; '.join(c.reasons)}"
        for c in result.candidates
    ]
    return "\n".join([f"{len(result.candidates)} memories a prune would archive:", *lines])


@render.register
def _prune_stats(result: PruneStats) -> str:
    return (
        f"{result.runs} prune runs ({result.dry_runs} dry), {result.memories_archived} archived by pruning, "
        f"{result.safety_stops} safety stops, {result.failures} failures; "
        f"{result.archived_now} in the archive now."
    )


@render.register
def _clock(result: ClockStatus) -> str:
    return f"Server clock now {result.now:%Y-%m-%d %H:%M}Z ({result.offset_seconds / 86_400:g} days ahead)."


def _conversation_line(c: Conversation) -> str:
    title = f" '{c.title}'" if c.title else ""
    return f"{c.id}{title} [{c.status}] with {', '.join(c.participants)}: {c.turns} turns, {c.tokens} tokens"


@render.register
def _conversation(result: Conversation) -> str:
    return _conversation_line(result) + "."


@render.register
def _conversations(result: ConversationList) -> str:
    if not result.conversations:
        return "No conversations."
    lines = [f"- {_conversation_line(c)}" for c in result.conversations]
    return "\n".join([f"{len(result.conversations)} of {result.total_count} conversations:", *lines])


@render.register
def _history(result: History) -> str:
    lines = [f"[{m.id}] {m.persona_id or m.role}: {_short(m.content, 200)}" for m in result.messages]
    more = "\n(older messages: pass before=" + str(result.messages[0].id) + ")" if result.has_more else ""
    return ("\n".join(lines) or "No messages yet.") + more


@render.register
def _ended(result: EndResult) -> str:
    memories = (
        f" {len(result.memories_created)} reflective memories stored." if result.memories_created else ""
    )
    return f"Closed {result.conversation.id}. Summary: {result.summary or '(nothing to summarize)'}{memories}"


@render.register
def _chat_context(result: ChatContext) -> str:
    turns = "\n".join(f"[{m.role}] {m.content}" for m in result.messages)
    skipped = (
        f" {result.lore_skipped} lorebook key searches were given up (slow regex keys); "
        "entries they would have activated are missing."
        if result.lore_skipped
        else ""
    )
    return (
        f"{result.tokens} of {result.token_budget} tokens ({result.token_counting}); "
        f"{len(result.memories_used)} memories, {result.history_turns} turns "
        f"({result.summarized_turns} summarized).{skipped}\n\n[system] {result.system_prompt}\n\n{turns}"
    )
