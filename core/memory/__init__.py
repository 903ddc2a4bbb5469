"""Memories: storing with dedup, hybrid search, the vector index kept in step with SQLite, and
decay and pruning over time."""

from core.embeddings import EmbedderSlot
from core.memory.lifecycle import Lifecycle
from core.memory.models import Memory, MemoryDraft, MemoryPatch, SearchHit, SearchResult, StoreResult
from core.memory.semantic import SemanticLayer
from core.memory.service import MemoryService, SearchOptions

__all__ = [
    "EmbedderSlot",
    "Lifecycle",
    "Memory",
    "MemoryDraft",
    "MemoryPatch",
    "MemoryService",
    "SearchHit",
    "SearchOptions",
    "SearchResult",
    "SemanticLayer",
    "StoreResult",
]
