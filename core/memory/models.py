"""Memory models: what is stored, what a search returns, and the tallies the stats tools report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_CONTENT_CHARS",
    "VISIBILITIES",
    "BatchResult",
    "DeleteOutcome",
    "EmotionStamp",
    "Kind",
    "Memory",
    "MemoryDraft",
    "MemoryPatch",
    "MemoryStats",
    "ReindexResult",
    "ScoreComponents",
    "SearchHit",
    "SearchResult",
    "SharedStats",
    "StoreResult",
    "Visibility",
]

Kind = Literal["episodic", "semantic", "emotional", "procedural", "reflective"]
Visibility = Literal["private", "shared", "public"]
VISIBILITIES: tuple[Visibility, ...] = ("private", "shared", "public")
# 32 KB of text: a long note or a pasted page; larger documents belong in chunks.
MAX_CONTENT_CHARS = 32_000

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Content = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="The memory itself, in plain text."),
]


class MemoryDraft(BaseModel):
    """One memory to store (the arguments of memory_store and each item of memory_store_batch)."""

    model_config = ConfigDict(extra="forbid")

    content: Content
    persona_id: str | None = Field(
        None, max_length=64, description="Owner persona; default: the active persona."
    )
    kind: Kind = Field(
        "episodic",
        description="episodic (an event), semantic (a fact), emotional (a feeling), procedural "
        "(how to do something), reflective (a conclusion drawn from others).",
    )
    visibility: Visibility = Field(
        "private",
        description="private: only its persona sees it; shared: every persona; public: any client too.",
    )
    importance: Unit | None = Field(
        None,
        description="0-1; when absent it is scored from the text, the persona and its mood "
        "(the reasons go into metadata.importance_factors).",
    )
    subject: str | None = Field(None, max_length=200, description="Who or what the memory is about.")
    source: str | None = Field(None, max_length=200, description="Where it came from, e.g. 'user', 'import'.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Any JSON object; stored and returned unchanged."
    )
    conversation_id: str | None = Field(None, max_length=64, description="Conversation it came from.")
    witnesses: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None,
        max_length=8,
        description="Other personas who were there and may recall it too. Default: the personas "
        "present in `conversation_id`; [] for nobody else.",
    )
    created_at: datetime | None = Field(
        None, description="When it happened (ISO-8601); default now. Give it when importing old records."
    )
    valid_from: datetime | None = Field(
        None, description="Since when it is true (ISO-8601); default: when it happened."
    )
    supersedes: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None,
        max_length=20,
        description="Ids of memories this one replaces; they stay, no longer true from its valid_from.",
    )

    def drawn_from(self) -> set[str]:
        """The memories this one was drawn from (`metadata.sources`, as reflection writes them): a
        memory is never a duplicate of its own sources."""
        sources = self.metadata.get("sources")
        return {s for s in sources if isinstance(s, str)} if isinstance(sources, list) else set()


class MemoryPatch(BaseModel):
    """The fields memory_update may change; None leaves a field as it is."""

    model_config = ConfigDict(extra="forbid")

    content: Content | None = None
    importance: Unit | None = None
    visibility: Visibility | None = None
    pinned: bool | None = None
    metadata: dict[str, Any] | None = None
    told_to: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None,
        max_length=8,
        description="Personas who were told about this memory: they may recall it from now on.",
    )
    valid_to: datetime | Literal["open"] | None = Field(
        None,
        description="Until when it was true (ISO-8601); 'open': true again (undoes a supersession).",
    )


class EmotionStamp(BaseModel):
    """The persona's emotional state when the memory was encoded, and how vivid the memory is."""

    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=0.0, le=1.0)
    label: str
    intensity: float = Field(ge=0.0, le=1.0, description="0-1: vivid memories fade more slowly.")


class Memory(BaseModel):
    """A stored memory."""

    id: str
    persona_id: str
    content: str
    kind: Kind
    visibility: Visibility
    importance: float = Field(ge=0.0, le=1.0)
    strength: float = Field(ge=0.0, le=1.0, description="Fades with time, restored by access; 0-1.")
    pinned: bool
    access_count: int
    last_accessed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    subject: str | None
    source: str | None
    conversation_id: str | None
    metadata: dict[str, Any]
    emotion: EmotionStamp | None = Field(None, description="The persona's feelings when it was stored.")
    embedding_model: str | None = Field(description="Model of its vector; None until embedded.")
    indexed: bool = Field(description="True once the vector index holds it.")
    witnesses: list[str] = Field(
        default_factory=list,
        description="Other personas who may recall it: present when it was made, or told about it since.",
    )
    valid_from: datetime | None = Field(None, description="Since when it is true; default created_at.")
    valid_to: datetime | None = Field(None, description="Until when it was true; none while it still is.")
    superseded_by: str | None = Field(None, description="The memory that replaced it, if one did.")
    created_by: str = Field("owner", description="The principal that stored it.")
    updated_by: str | None = Field(None, description="The principal that last changed it, if anyone has.")


class PossibleConflict(BaseModel):
    """A current memory the stored one seems to contradict (same subject and attribute, another value)."""

    memory_id: str
    attribute: str = Field(description="What both speak of, e.g. residence, work, status.")
    reason: str
    superseded: bool = Field(description="Whether it was marked no longer true (the auto_supersede setting).")
    method: Literal["llm", "rule"] = Field(
        "rule", description="Who judged it: the belief model (llm), or the deterministic rule."
    )


class StoreResult(BaseModel):
    """What memory_store did: the memory, and `duplicate_of` when it reinforced an existing one."""

    memory: Memory
    duplicate_of: str | None = Field(
        None, description="Id of the existing memory this one merged into (then `memory` is that one)."
    )
    duplicate_reason: Literal["exact", "similar"] | None = None
    similarity: float | None = Field(None, description="Cosine similarity to the existing memory.")
    possible_conflicts: list[PossibleConflict] = Field(
        default_factory=list,
        description="Current memories it seems to contradict; when they no longer hold, store it with "
        "their ids in supersedes.",
    )


class BatchResult(BaseModel):
    """What memory_store_batch did, item by item in order."""

    stored: int = Field(description="New memories written.")
    duplicates: int = Field(description="Items merged into existing memories (or into an earlier item).")
    ids: list[str] = Field(description="For each item, the id of the memory that now holds it.")
    duplicate_of: list[str | None] = Field(description="For each item, the memory it merged into, or None.")


class ScoreComponents(BaseModel):
    """The parts of a search score, each 0-1, before weighting."""

    when: float = Field(
        0.0, description="1 when it happened within a time the query names ('last week', 'in May'), else 0."
    )
    semantic: float = Field(description="Cosine similarity of meaning, clipped to 0-1.")
    lexical: float = Field(description="BM25 over the words, relative to the best match of this query.")
    importance: float = Field(description="importance x strength.")
    recency: float = Field(description="1 for now, halving every recency half-life.")
    context: float = Field(
        0.0, description="Support from neighbouring memories of the same conversation that also match."
    )
    mood: float = Field(
        0.5, description="Mood congruence: 1 when the memory was stored in the persona's present mood."
    )
    tokens: float = Field(
        0.0,
        description="How much of the query the memory covers word piece by word piece (late interaction), "
        "relative to the best candidate.",
    )
    passage: float = Field(
        0.0,
        description="The same over the memory together with its neighbours (the turns around it), "
        "relative to the best candidate.",
    )
    subject: float = Field(
        0.0, description="1 when the query names the memory's subject (who or what it is about), else 0."
    )


class SearchHit(BaseModel):
    """One search result."""

    memory: Memory
    score: float
    components: ScoreComponents


class SearchResult(BaseModel):
    """What a memory search returns."""

    memories: list[SearchHit]
    total_results: int
    query: str
    persona_id: str
    semantic: bool = Field(description="False when no embedder was available and ranking used words only.")
    elapsed_ms: float


class DeleteOutcome(BaseModel):
    """What memory_delete did."""

    memory_id: str
    action: Literal["archived", "purged", "already_archived"]


class MemoryStats(BaseModel):
    """Counts and averages over memories (one persona, or all)."""

    persona_id: str | None
    total: int = Field(description="Live memories (not archived).")
    archived: int
    by_persona: dict[str, int]
    by_kind: dict[str, int]
    by_visibility: dict[str, int]
    average_importance: float | None
    average_strength: float | None
    pinned: int
    embedding_model: str | None = Field(description="Model of the vectors this server writes.")
    unembedded: int = Field(description="Live memories with no vector for that model yet.")
    index_lag: int = Field(description="Live memories the vector index has not caught up with.")


class SharedStats(BaseModel):
    """What personas share with each other."""

    by_persona: dict[str, dict[str, int]] = Field(description="persona -> {shared: n, public: n}.")
    total_shared: int
    total_public: int
    top_subjects: list[dict[str, Any]] = Field(description="Most frequent subjects of shared memories.")
    top_terms: list[dict[str, Any]] = Field(description="Most frequent words across shared memories.")


class ReindexResult(BaseModel):
    """What memory_reindex did."""

    persona_id: str | None
    embedding_model: str
    embedded: int = Field(description="Memories given a new vector (no vector, or one of another model).")
    indexed: int = Field(description="Vectors written to the index.")
    orphans_removed: int = Field(description="Index entries with no live memory behind them.")
    elapsed_seconds: float
